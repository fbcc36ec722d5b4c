from django.conf import settings
from django.db import models, router, transaction
from django.utils import timezone

APPEND_ONLY = "audit events are append-only"


class AuditEventQuerySet(models.QuerySet):
    """Adds rows (each sealed into the hash chain) and refuses every way the ORM has to change or remove one."""

    def bulk_create(self, objs, *args, **kwargs):
        from .. import audit_chain, audit_stream

        if kwargs.get("update_conflicts") or kwargs.get("ignore_conflicts"):
            raise TypeError(APPEND_ONLY)
        objs = list(objs)
        for obj in objs:
            if obj.pk is not None:
                raise TypeError(APPEND_ONLY)
        with transaction.atomic(using=self.db):
            audit_chain.seal(objs, using=self.db)
            created = super().bulk_create(objs, *args, **kwargs)
            audit_stream.publish(objs)
        return created

    def update(self, **kwargs):
        raise TypeError(APPEND_ONLY)

    def _update(self, values):  # Model.save() of an existing row goes through here
        raise TypeError(APPEND_ONLY)

    def bulk_update(self, objs, fields, batch_size=None):
        raise TypeError(APPEND_ONLY)

    def delete(self):
        raise TypeError(APPEND_ONLY)

    def _raw_delete(self, using):
        raise TypeError(APPEND_ONLY)


class AuditEvent(models.Model):
    """Who did (or tried) what, to what, from where. Rows are only ever added.

    Each row is a link of a hash chain: `row_hash` covers its content, its position `seq` and the hash of the
    row before it (`prev_hash`), so an edited, deleted or inserted row shows in `snapshots.audit_chain.verify_chain`.
    """

    class Outcome(models.TextChoices):
        REQUESTED = "requested", "Requested"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        DENIED = "denied", "Denied"
        REFUSED = "refused", "Refused"

    at = models.DateTimeField(default=timezone.now, db_index=True)
    # No database constraint and no cascade: deleting a user must not rewrite the rows that name them
    # (actor_name keeps the name); the id stays as it was written.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False,
        related_name="+",
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
    seq = models.BigIntegerField(unique=True, editable=False)
    prev_hash = models.CharField(max_length=64, editable=False)
    row_hash = models.CharField(max_length=64, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        # Related lookups and Model.save() use the base manager: it must refuse changes too.
        base_manager_name = "objects"
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
        from .. import audit_chain, audit_stream

        # A fresh instance with the pk of an existing row would otherwise become an UPDATE of that row.
        if not self._state.adding or self.pk is not None or kwargs.get("force_update") or kwargs.get("update_fields"):
            raise TypeError(APPEND_ONLY)
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        with transaction.atomic(using=using):
            audit_chain.seal([self], using=using)
            super().save(*args, **{**kwargs, "force_insert": True})
            audit_stream.publish([self])

    def delete(self, *args, **kwargs):
        raise TypeError(APPEND_ONLY)


class AuditChainHead(models.Model):
    """The last link of the audit chain (one row). Locking it serializes appends; it also shows rows cut off
    the end of the chain, which no later row could reveal."""

    seq = models.BigIntegerField(default=0)
    row_hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = "audit chain head"
