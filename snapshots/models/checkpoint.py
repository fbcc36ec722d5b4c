import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

# Docker's rule for checkpoint names, with a length cap of our own.
CHECKPOINT_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
CHECKPOINT_NAME_MAX = 128
CHECKPOINT_NAME_RULE = (
    "a checkpoint name must match [a-zA-Z0-9][a-zA-Z0-9_.-]+ (letters, digits, '_', '.', '-'; "
    f"at least 2 characters, at most {CHECKPOINT_NAME_MAX}, not starting with '_', '.' or '-')"
)


def validate_checkpoint_name(value):
    if not isinstance(value, str) or len(value) > CHECKPOINT_NAME_MAX or not CHECKPOINT_NAME_RE.match(value):
        raise ValidationError(f"{value!r} is not a valid checkpoint name: {CHECKPOINT_NAME_RULE}")


class Checkpoint(models.Model):
    """A frozen image of a container's processes, stored by its host's engine."""

    class Status(models.TextChoices):
        PRESENT = "present", "Present"
        DELETED = "deleted", "Deleted"
        MISSING = "missing", "Missing on the engine"

    container = models.ForeignKey("snapshots.Container", on_delete=models.CASCADE, related_name="checkpoints")
    name = models.CharField(max_length=CHECKPOINT_NAME_MAX, validators=[validate_checkpoint_name])
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PRESENT, db_index=True)
    exit = models.BooleanField(help_text="True when the container was stopped by the checkpoint")
    size_bytes = models.BigIntegerField(null=True, blank=True)
    engine_facts = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_by_name = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    job = models.ForeignKey("snapshots.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    archive = models.CharField(max_length=512, blank=True, help_text="Path of its archive in the checkpoint store")
    archive_sha256 = models.CharField(max_length=64, blank=True)
    archive_size = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["container", "name"], condition=~Q(status="deleted"), name="checkpoint_name_unique_live"
            )
        ]

    def __str__(self):
        return f"{self.container}:{self.name}"

    @property
    def is_present(self):
        return self.status == self.Status.PRESENT
