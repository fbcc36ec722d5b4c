from django.conf import settings
from django.db import models
from django.utils import timezone


class Selector(models.TextChoices):
    """What a schedule or a retention policy applies to."""

    CONTAINER = "container", "One container"
    LABEL = "label", "Containers of a host with a label"
    FLEET = "fleet", "Every container of the fleet"


def describe_target(plan):
    """What a schedule or a retention policy applies to, in words."""
    if plan.selector == Selector.CONTAINER:
        return str(plan.container) if plan.container_id else "a container"
    if plan.selector == Selector.LABEL:
        return f"containers of {plan.host.name if plan.host_id else '?'} labelled {plan.label}"
    return "every container of the fleet"


class Schedule(models.Model):
    """Checkpoints taken on a cron expression or every so many seconds, on one container, on every container of a
    host that carries a label, or on every container of the fleet (admins only). The control process runs it
    (snapshots.scheduling); each run is an ordinary checkpoint job requested by its creator through the schedule."""

    selector = models.CharField(max_length=16, choices=Selector.choices, default=Selector.CONTAINER)
    container = models.ForeignKey("snapshots.Container", null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="schedules")
    host = models.ForeignKey("snapshots.Host", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="schedules", help_text="The host whose labelled containers it takes")
    label = models.CharField(max_length=255, blank=True, help_text="key=value (or key alone: any value)")
    cron = models.CharField(max_length=120, blank=True, help_text="A cron expression (five fields), in UTC")
    interval_seconds = models.PositiveIntegerField(null=True, blank=True)
    leave_running = models.BooleanField(default=True)
    paused = models.BooleanField(default=False)
    next_run_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_by_name = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(cron="", interval_seconds__isnull=False)
                           | (~models.Q(cron="") & models.Q(interval_seconds__isnull=True))),
                name="schedule_cron_or_interval"),
        ]

    def __str__(self):
        return f"schedule {self.pk}: {self.when()} on {self.target()}"

    def when(self):
        if self.cron:
            return f"cron {self.cron}"
        seconds = self.interval_seconds or 0
        for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
            if seconds % size == 0:
                return f"every {seconds // size}{unit}"
        return f"every {seconds}s"

    def target(self):
        return describe_target(self)

    @property
    def actor_label(self):
        """The requester's name on its jobs and audit rows: the schedule and who made it."""
        return f"schedule {self.pk} ({self.created_by_name})"


class ScheduleRun(models.Model):
    """What one due time of a schedule did to one container: started a job, was skipped (and why), or was missed
    while Cryo was not running (one row for a run of missed times)."""

    class Outcome(models.TextChoices):
        STARTED = "started", "Started"
        SKIPPED = "skipped", "Skipped"
        MISSED = "missed", "Missed"

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="runs")
    due_at = models.DateTimeField()
    at = models.DateTimeField(default=timezone.now, db_index=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    reason = models.TextField(blank=True)
    missed = models.PositiveIntegerField(default=0, help_text="How many due times were missed")
    container = models.ForeignKey("snapshots.Container", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    container_name = models.CharField(max_length=255, blank=True)
    job = models.ForeignKey("snapshots.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.get_outcome_display()} {self.container_name or ''} {self.reason}".strip()
