import uuid

from django.db import models
from django.utils import timezone


class Archive(models.Model):
    """An archive a host wrote through the worker API: a checkpoint's files, or an image.

    The dashboard counts and hashes the bytes as they arrive, so the sha256 and size recorded here are the
    anchor every reader is checked against; a host never reports its own digest. The bytes are sealed with the
    archive's own data key (snapshots/store_keys.py), released through the worker API to the hosts of its job only.
    """

    class Kind(models.TextChoices):
        CHECKPOINT = "checkpoint", "Checkpoint"
        IMAGE = "image", "Image"
        ROOTFS = "rootfs", "Container's own files"

    class State(models.TextChoices):
        WRITING = "writing", "Being written"
        COMPLETE = "complete", "Complete"
        FAILED = "failed", "Failed"
        DELETED = "deleted", "Deleted"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    state = models.CharField(max_length=16, choices=State.choices, default=State.WRITING, db_index=True)
    job = models.ForeignKey("snapshots.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="archives")
    writer = models.ForeignKey("snapshots.Host", on_delete=models.PROTECT, related_name="+",
                               help_text="The host whose agent wrote it")
    checkpoint = models.ForeignKey("snapshots.Checkpoint", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="archives")
    image_id = models.CharField(max_length=80, blank=True, db_index=True)
    name = models.CharField(max_length=255, help_text="Path in the checkpoint store")
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    keep = models.BooleanField(default=True, help_text="False for a migration's transit archive")
    unpacked_size = models.BigIntegerField(null=True, blank=True,
                                           help_text="Bytes of files its writer declared: bounds unpacking")
    wrapped_key = models.BinaryField(null=True, blank=True, editable=False,
                                     help_text="Its data key, wrapped by the store's key-encryption key")
    key_id = models.CharField(max_length=16, blank=True, editable=False,
                              help_text="Which key-encryption key wraps the data key")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.kind} archive {self.name} ({self.state})"

    @property
    def is_complete(self):
        return self.state == self.State.COMPLETE
