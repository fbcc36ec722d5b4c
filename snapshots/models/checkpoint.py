from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .. import names

CHECKPOINT_NAME_MAX = names.CHECKPOINT.max_length


def validate_checkpoint_name(value):
    try:
        names.CHECKPOINT.check(value)
    except names.InvalidName as exc:
        raise ValidationError(str(exc)) from None


class CheckpointQuerySet(models.QuerySet):
    def live(self):
        """Every checkpoint not deleted: present, missing on the engine, or found there by a sync."""
        return self.exclude(status=Checkpoint.Status.DELETED)


class Checkpoint(models.Model):
    """A frozen image of a container's processes, stored by its host's engine."""

    class Status(models.TextChoices):
        PRESENT = "present", "Present"
        FOUND = "found", "Found on the engine"
        INCOMPLETE = "incomplete", "Incomplete on the engine"
        DELETED = "deleted", "Deleted"
        MISSING = "missing", "Missing on the engine"

    USABLE = (Status.PRESENT, Status.FOUND)  # complete images: a restore or a clone may use them

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
    contents = models.JSONField(default=dict, blank=True,
                                help_text="What its CRIU images hold, as its host's agent read them (see "
                                          "snapshots.host.contents)")
    pinned = models.BooleanField(default=False, help_text="A pinned checkpoint is never pruned by a retention policy")
    job = models.ForeignKey("snapshots.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = CheckpointQuerySet.as_manager()

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
        """Complete on the engine: made by Cryo, or found there by a sync and adopted."""
        return self.status in self.USABLE

    @property
    def is_on_engine(self):
        """Its files are on the engine (complete or not): it can be deleted."""
        return self.status in (*self.USABLE, self.Status.INCOMPLETE)

    def stored_archive(self):
        """Its complete archive in the checkpoint store, or None."""
        return self.archives.filter(state="complete", keep=True).order_by("-completed_at").first()
