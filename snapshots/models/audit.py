from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("audit events are append-only")

    def delete(self):
        raise TypeError("audit events are append-only")


class AuditEvent(models.Model):
    """Who did (or tried) what, to what, from where. Rows are only ever added."""

    class Outcome(models.TextChoices):
        REQUESTED = "requested", "Requested"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        DENIED = "denied", "Denied"

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, db_index=True)
    action = models.CharField(max_length=64, db_index=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, db_index=True)
    host_name = models.CharField(max_length=63, blank=True, db_index=True)
    target_host_name = models.CharField(max_length=63, blank=True)
    container_name = models.CharField(max_length=255, blank=True, db_index=True)
    checkpoint_name = models.CharField(max_length=128, blank=True)
    job_id = models.UUIDField(null=True, blank=True, db_index=True)
    source = models.CharField(max_length=255, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["-at", "-id"]),
            models.Index(fields=["actor_name", "-at"]),
            models.Index(fields=["host_name", "-at"]),
            models.Index(fields=["outcome", "-at"]),
            models.Index(fields=["action", "-at"]),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action} {self.outcome}"

    @property
    def target(self):
        parts = [p for p in (self.host_name, self.container_name) if p]
        text = "/".join(parts)
        if self.checkpoint_name:
            text += f":{self.checkpoint_name}"
        if self.target_host_name:
            text += f" -> {self.target_host_name}"
        return text

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("audit events are append-only")
