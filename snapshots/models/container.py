from django.db import models
from django.utils import timezone


class ContainerQuerySet(models.QuerySet):
    def present(self):
        return self.filter(gone_at__isnull=True)


class Container(models.Model):
    """A container of a host's engine, as last synced. Containers that vanish are marked gone, keeping history."""

    host = models.ForeignKey("snapshots.Host", on_delete=models.CASCADE, related_name="containers")
    engine_id = models.CharField(max_length=64)
    name = models.CharField(max_length=255, db_index=True)
    image = models.CharField(max_length=255, blank=True)
    image_id = models.CharField(max_length=128, blank=True)
    command = models.TextField(blank=True)
    state = models.CharField(max_length=32, blank=True, db_index=True)
    labels = models.JSONField(default=dict, blank=True)
    config = models.JSONField(default=dict, blank=True, help_text="What a clone needs: env, cmd, user, ...")
    facts = models.JSONField(default=dict, blank=True,
                             help_text="What its host sees: its own files' size, connections to peers outside")
    tty = models.BooleanField(default=False)
    created = models.DateTimeField(null=True, blank=True)
    first_seen = models.DateTimeField(default=timezone.now)
    last_synced = models.DateTimeField(default=timezone.now)
    gone_at = models.DateTimeField(null=True, blank=True)

    objects = ContainerQuerySet.as_manager()

    class Meta:
        ordering = ["host__name", "name"]
        constraints = [models.UniqueConstraint(fields=["host", "engine_id"], name="container_unique_per_host")]
        indexes = [models.Index(fields=["host", "gone_at", "name"])]

    def __str__(self):
        return f"{self.host.name}/{self.name}"

    @property
    def short_id(self):
        return self.engine_id[:12]

    @property
    def is_gone(self):
        return self.gone_at is not None

    @property
    def is_running(self):
        return self.state == "running"
