from django.conf import settings
from django.db import models
from django.utils import timezone

from .schedule import Selector, describe_target


class RetentionPolicy(models.Model):
    """Which checkpoints to let go: beyond the newest N, older than a maximum age, or past a total size (newest
    kept first). A checkpoint goes when any rule says so; pinned checkpoints never go. It applies to one container,
    to every container of a host with a label, or to the fleet (admins), like a schedule."""

    selector = models.CharField(max_length=16, choices=Selector.choices, default=Selector.CONTAINER)
    container = models.ForeignKey("snapshots.Container", null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="retention_policies")
    host = models.ForeignKey("snapshots.Host", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="retention_policies")
    label = models.CharField(max_length=255, blank=True)
    keep_last = models.PositiveIntegerField(null=True, blank=True)
    max_age_seconds = models.PositiveIntegerField(null=True, blank=True)
    max_total_bytes = models.BigIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_by_name = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        verbose_name_plural = "retention policies"

    def __str__(self):
        return f"retention {self.pk}: {self.rules()} on {self.target()}"

    def rules(self):
        from ..scheduling.retention import describe_rules

        return describe_rules(self)

    def target(self):
        return describe_target(self)

    @property
    def actor_label(self):
        return f"retention {self.pk} ({self.created_by_name})"
