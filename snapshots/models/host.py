from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from .. import names

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
    try:
        names.HOST.check(value)
    except names.InvalidName as exc:
        raise ValidationError(str(exc)) from None


class HostQuerySet(models.QuerySet):
    def active(self):
        return self.filter(removed_at__isnull=True)


class ActiveHostManager(models.Manager.from_queryset(HostQuerySet)):
    def get_queryset(self):
        return super().get_queryset().filter(removed_at__isnull=True)


class Host(models.Model):
    """A container engine, served by exactly one Cryo agent that consumes the host's own queue.

    An admin adds a host by name; its agent joins with a one-time token and from then on holds only its own
    credential. A removed host keeps its row (its jobs and audit history point to it) but disappears from
    every list, and its credential stops working at once.
    """

    class Status(models.TextChoices):
        ONLINE = "online", "Online"
        DEGRADED = "degraded", "Degraded"
        OFFLINE = "offline", "Offline"

    class Engine(models.TextChoices):
        DOCKER = "docker", "Docker"
        PODMAN = "podman", "Podman"

    name = models.CharField(max_length=63, unique=True, validators=[validate_host_name])
    docker_url = models.CharField(max_length=255, blank=True, help_text="Engine address as its agent sees it")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OFFLINE, db_index=True)
    status_reason = models.TextField(blank=True)
    drained = models.BooleanField(default=False, help_text="A drained host accepts no new jobs")
    last_seen = models.DateTimeField(null=True, blank=True)
    enrolled_at = models.DateTimeField(default=timezone.now)
    joined_at = models.DateTimeField(null=True, blank=True, help_text="When its agent first presented a join token")
    worker_id = models.CharField(max_length=64, blank=True, help_text="Identity of the running agent process")
    worker_hostname = models.CharField(max_length=255, blank=True)
    agent_version = models.CharField(max_length=32, blank=True)
    rotate_requested_at = models.DateTimeField(
        null=True, blank=True, help_text="An admin asked for a new credential; the agent gets it at its next heartbeat")
    consumer_ok = models.BooleanField(
        default=False, help_text="The agent's consumer was connected to the broker at its last heartbeat")

    # Engine facts as last seen by the worker.
    engine_kind = models.CharField(max_length=16, choices=Engine.choices, default=Engine.DOCKER,
                                   help_text="The container engine its agent serves (a fact the agent reports)")
    docker_version = models.CharField(max_length=64, blank=True, help_text="The engine's version (Docker or Podman)")
    api_version = models.CharField(max_length=16, blank=True)
    experimental = models.BooleanField(default=False)
    criu_ok = models.BooleanField(default=False)
    criu_version = models.CharField(max_length=64, blank=True)
    criu_message = models.TextField(blank=True)
    criu_sockets_ok = models.BooleanField(null=True, blank=True,
                                          help_text="CRIU can checkpoint processes with network sockets here")
    criu_sockets_message = models.TextField(blank=True)
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
        """The broker queue only this host's agent can consume."""
        return f"cryo.host.{self.name}"

    def is_lost(self, now=None):
        """True when the agent's heartbeat is older than the grace period."""
        if self.last_seen is None:
            return True
        now = now or timezone.now()
        return now - self.last_seen > timedelta(seconds=settings.CRYO_HEARTBEAT_GRACE)

    @property
    def effective_status(self):
        if self.status != self.Status.OFFLINE and (self.is_lost() or not self.consumer_ok):
            return self.Status.OFFLINE
        return self.status

    @property
    def effective_reason(self):
        if self.status != self.Status.OFFLINE and self.is_lost():
            return self.lost_reason()
        if self.status != self.Status.OFFLINE and not self.consumer_ok:
            return "its agent is running but not connected to the broker, so it cannot receive jobs"
        return self.status_reason

    def lost_reason(self):
        if self.last_seen is None:
            return "its agent has not joined yet" if self.joined_at is None else "no agent has reported yet"
        return f"no heartbeat from its agent since {self.last_seen:%Y-%m-%d %H:%M:%S} UTC"

    def engine_problems(self):
        """Reasons this engine cannot checkpoint or restore reliably, from the last facts seen."""
        problems = []
        if self.engine_kind == self.Engine.DOCKER and not self.experimental:
            # Podman checkpoints without any experimental switch
            problems.append("the Docker daemon is not experimental (start dockerd with --experimental)")
        if not self.criu_ok:
            detail = f": {self.criu_message}" if self.criu_message else ""
            problems.append(f"CRIU is missing or `criu check` fails on the host{detail}")
        for prefix, why in BROKEN_ENGINE_PREFIXES.items():
            if self.engine_kind == self.Engine.DOCKER and self.docker_version.startswith(prefix):
                problems.append(why)
        return problems

    def engine_warnings(self):
        """Limits that make the host degraded without refusing every job (pre-flight decides per container)."""
        if self.criu_ok and self.criu_sockets_ok is False:
            return [self.criu_sockets_message or "CRIU cannot checkpoint processes with network sockets here"]
        return []

    def refusal(self):
        """Why a new checkpoint/restore job must not be sent to this host, or None."""
        if self.drained:
            return f"host {self.name} is drained: it accepts no new jobs until an admin enables it"
        if self.effective_status == self.Status.OFFLINE:
            return f"host {self.name} is offline ({self.effective_reason}); start its agent (cryo-agent) on the host"
        problems = self.engine_problems()
        if problems:
            return f"host {self.name} cannot checkpoint: " + "; ".join(problems)
        return None

    def mark_offline(self, reason):
        Host.objects.filter(pk=self.pk).update(status=self.Status.OFFLINE, status_reason=reason)
        self.status, self.status_reason = self.Status.OFFLINE, reason

    @property
    def engine_label(self):
        """"Docker 20.10.24", "Podman 4.3.1": the engine as pages and the CLI show it."""
        return f"{self.get_engine_kind_display()} {self.docker_version}" if self.docker_version else ""

    def cpu_flag_set(self):
        return set(self.cpu_flags.split())

    def has_image(self, image_id="", name=""):
        for image in self.images or []:
            if image_id and image.get("id") == image_id:
                return True
            if name and name in (image.get("tags") or []):
                return True
        return False
