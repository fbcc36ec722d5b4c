import re
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

HOST_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")

# Engine releases that fail to restore containers with a network namespace (moby#50750)
# or lose checkpoint content (25.0.0-25.0.3).
BROKEN_ENGINE_PREFIXES = {
    "28.": "Docker 28.x fails to restore containers that have a network namespace (moby#50750)",
    "29.": "Docker 29.x fails to restore containers that have a network namespace (moby#50750)",
    "25.0.0": "Docker 25.0.0-25.0.3 fail to restore (content digest not found); upgrade to 25.0.4+",
    "25.0.1": "Docker 25.0.0-25.0.3 fail to restore (content digest not found); upgrade to 25.0.4+",
    "25.0.2": "Docker 25.0.0-25.0.3 fail to restore (content digest not found); upgrade to 25.0.4+",
    "25.0.3": "Docker 25.0.0-25.0.3 fail to restore (content digest not found); upgrade to 25.0.4+",
}


def validate_host_name(value):
    if not HOST_NAME_RE.match(value or ""):
        raise ValidationError(
            f"{value!r} is not a valid host name: use lowercase letters, digits and '-', "
            "starting with a letter or digit, at most 63 characters"
        )


class HostQuerySet(models.QuerySet):
    def active(self):
        return self.filter(removed_at__isnull=True)


class ActiveHostManager(models.Manager.from_queryset(HostQuerySet)):
    def get_queryset(self):
        return super().get_queryset().filter(removed_at__isnull=True)


class Host(models.Model):
    """A Docker engine, served by exactly one Cryo worker that consumes the host's own queue.

    A removed host keeps its row (its jobs and audit history point to it) but disappears from every list.
    """

    class Status(models.TextChoices):
        ONLINE = "online", "Online"
        DEGRADED = "degraded", "Degraded"
        OFFLINE = "offline", "Offline"

    name = models.CharField(max_length=63, unique=True, validators=[validate_host_name])
    docker_url = models.CharField(max_length=255, blank=True, help_text="Engine address as its worker sees it")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OFFLINE, db_index=True)
    status_reason = models.TextField(blank=True)
    drained = models.BooleanField(default=False, help_text="A drained host accepts no new jobs")
    last_seen = models.DateTimeField(null=True, blank=True)
    enrolled_at = models.DateTimeField(default=timezone.now)
    worker_id = models.CharField(max_length=64, blank=True, help_text="Identity of the running worker process")
    worker_hostname = models.CharField(max_length=255, blank=True)

    # Engine facts as last seen by the worker.
    docker_version = models.CharField(max_length=64, blank=True)
    api_version = models.CharField(max_length=16, blank=True)
    experimental = models.BooleanField(default=False)
    criu_ok = models.BooleanField(default=False)
    criu_version = models.CharField(max_length=64, blank=True)
    criu_message = models.TextField(blank=True)
    kernel = models.CharField(max_length=128, blank=True)
    os = models.CharField(max_length=128, blank=True)
    cpu_model = models.CharField(max_length=255, blank=True)
    cpu_flags = models.TextField(blank=True)
    cpus = models.PositiveIntegerField(null=True, blank=True)
    memory_bytes = models.BigIntegerField(null=True, blank=True)
    docker_root_dir = models.CharField(max_length=255, blank=True)
    free_bytes = models.BigIntegerField(null=True, blank=True, help_text="Free space under DockerRootDir")
    containers_running = models.PositiveIntegerField(default=0)
    images = models.JSONField(default=list, blank=True, help_text="Image ids and tags on the engine, as last synced")
    removed_at = models.DateTimeField(null=True, blank=True)

    operator_groups = models.ManyToManyField(
        Group, blank=True, related_name="operated_hosts", help_text="Teams allowed to operate this host"
    )

    objects = ActiveHostManager()
    all_objects = HostQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        base_manager_name = "all_objects"

    def __str__(self):
        return self.name

    @property
    def queue(self):
        """The Celery queue only this host's worker consumes."""
        return f"cryo.host.{self.name}"

    def is_lost(self, now=None):
        """True when the worker's heartbeat is older than the grace period."""
        if self.last_seen is None:
            return True
        now = now or timezone.now()
        return now - self.last_seen > timedelta(seconds=settings.CRYO_HEARTBEAT_GRACE)

    @property
    def effective_status(self):
        if self.status != self.Status.OFFLINE and self.is_lost():
            return self.Status.OFFLINE
        return self.status

    @property
    def effective_reason(self):
        if self.status != self.Status.OFFLINE and self.is_lost():
            return self.lost_reason()
        return self.status_reason

    def lost_reason(self):
        if self.last_seen is None:
            return "no worker has reported for this host yet"
        return f"no heartbeat from its worker since {self.last_seen:%Y-%m-%d %H:%M:%S} UTC"

    def engine_problems(self):
        """Reasons this engine cannot checkpoint or restore reliably, from the last facts seen."""
        problems = []
        if not self.experimental:
            problems.append("the Docker daemon is not experimental (start dockerd with --experimental)")
        if not self.criu_ok:
            detail = f": {self.criu_message}" if self.criu_message else ""
            problems.append(f"CRIU is missing or `criu check` fails on the host{detail}")
        for prefix, why in BROKEN_ENGINE_PREFIXES.items():
            if self.docker_version.startswith(prefix):
                problems.append(why)
        return problems

    def refusal(self):
        """Why a new checkpoint/restore job must not be sent to this host, or None."""
        if self.drained:
            return f"host {self.name} is drained: it accepts no new jobs until an admin enables it"
        if self.effective_status == self.Status.OFFLINE:
            return f"host {self.name} is offline ({self.effective_reason}); start its worker: " \
                f"python manage.py cryo worker --host {self.name}"
        problems = self.engine_problems()
        if problems:
            return f"host {self.name} cannot checkpoint: " + "; ".join(problems)
        return None

    def mark_offline(self, reason):
        Host.objects.filter(pk=self.pk).update(status=self.Status.OFFLINE, status_reason=reason)
        self.status, self.status_reason = self.Status.OFFLINE, reason

    def cpu_flag_set(self):
        return set(self.cpu_flags.split())

    def has_image(self, image_id="", name=""):
        for image in self.images or []:
            if image_id and image.get("id") == image_id:
                return True
            if name and name in (image.get("tags") or []):
                return True
        return False
