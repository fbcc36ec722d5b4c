import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class Job(models.Model):
    """One requested operation on a host. Its id is also the id of the Celery task that runs it."""

    class Kind(models.TextChoices):
        CHECKPOINT = "checkpoint", "Checkpoint"
        RESTORE = "restore", "Restore"
        DELETE_CHECKPOINT = "delete_checkpoint", "Delete checkpoint"
        SYNC = "sync", "Sync inventory"
        EXPORT = "export", "Export checkpoint"
        CLONE = "clone", "Clone"
        MIGRATE = "migrate", "Migrate"

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    ENQUEUED_STATES = (State.QUEUED, State.RUNNING)
    TERMINAL_STATES = (State.SUCCEEDED, State.FAILED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=32, choices=Kind.choices, db_index=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED, db_index=True)
    host = models.ForeignKey("snapshots.Host", on_delete=models.PROTECT, related_name="jobs")
    target_host = models.ForeignKey(
        "snapshots.Host", null=True, blank=True, on_delete=models.PROTECT, related_name="incoming_jobs"
    )
    container = models.ForeignKey(
        "snapshots.Container", null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    container_name = models.CharField(max_length=255, blank=True)
    checkpoint_name = models.CharField(max_length=128, blank=True)
    params = models.JSONField(default=dict, blank=True)

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    requested_by_name = models.CharField(max_length=150, blank=True)
    source = models.CharField(max_length=255, blank=True, help_text="IP address, or cli:<os user>")
    request_id = models.CharField(max_length=64, blank=True)

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    # The current step (see snapshots.jobs.kinds): which host runs it, whether an agent holds it, and its lease.
    step = models.CharField(max_length=16, blank=True, default="run")
    step_host = models.ForeignKey("snapshots.Host", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="steps")
    claimed_by = models.CharField(max_length=64, blank=True, help_text="Agent process holding the current step")
    lease_until = models.DateTimeField(null=True, blank=True, help_text="The holder renews it with its heartbeat")
    sent_at = models.DateTimeField(null=True, blank=True, help_text="When the current step's message was last sent")
    send_count = models.PositiveSmallIntegerField(default=0)
    phase = models.CharField(max_length=64, blank=True)
    phases = models.JSONField(default=list, blank=True, help_text="[{name, started, seconds}]")
    error = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["host", "-created_at"]),
            models.Index(fields=["container", "-created_at"]),
            models.Index(fields=["requested_by", "-created_at"]),
            models.Index(fields=["state", "-created_at"]),
            models.Index(fields=["kind", "-created_at"]),
            models.Index(fields=["step_host", "state"]),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.container_name or self.host.name} ({self.state})"

    @property
    def short_id(self):
        return str(self.id)[:8]

    @property
    def is_waiting(self):
        """Queued, or between two steps: no agent holds it."""
        return not self.is_terminal and not self.claimed_by

    @property
    def is_terminal(self):
        return self.state in self.TERMINAL_STATES

    @property
    def duration_seconds(self):
        return None if self.duration_ms is None else self.duration_ms / 1000

    @property
    def wait_seconds(self):
        if self.started_at is None:
            return None
        return (self.started_at - self.created_at).total_seconds()

    def elapsed_seconds(self, now=None):
        if self.started_at is None:
            return None
        end = self.finished_at or now or timezone.now()
        return (end - self.started_at).total_seconds()

    def describe(self):
        """One line for people: what this job does and to what."""
        target = self.container_name or "inventory"
        text = f"{self.get_kind_display().lower()} {self.host.name}/{target}"
        if self.checkpoint_name:
            text += f" checkpoint {self.checkpoint_name}"
        if self.target_host_id and self.target_host_id != self.host_id:
            text += f" to {self.target_host.name}"
        return text
