"""What a host holds: a one-time join token, exchanged on first start for its own credential. Only hashes are kept.

Tokens are 32 random bytes, so a plain sha256 is a sound way to store them (nothing to guess from the hash).
"""
import hashlib
import hmac
import secrets
from datetime import timedelta

from django.db import models
from django.utils import timezone

JOIN_PREFIX = "cryoj_"
CREDENTIAL_PREFIX = "cryoh_"


def digest(token):
    return hashlib.sha256((token or "").encode()).hexdigest()


def _new(prefix):
    return prefix + secrets.token_urlsafe(32)


class JoinToken(models.Model):
    """One-time, expiring, bound to one host: what an admin hands to the person who starts the agent."""

    host = models.ForeignKey("snapshots.Host", on_delete=models.CASCADE, related_name="join_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by_name = models.CharField(max_length=150, blank=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    @classmethod
    def issue(cls, host, *, created_by_name="", lifetime=timedelta(hours=1)):
        """Revoke the host's unused tokens and issue a new one; returns (row, token)."""
        now = timezone.now()
        cls.objects.filter(host=host, used_at__isnull=True, revoked_at__isnull=True).update(revoked_at=now)
        token = _new(JOIN_PREFIX)
        row = cls.objects.create(host=host, token_hash=digest(token), created_by_name=created_by_name,
                                 expires_at=now + lifetime)
        return row, token

    def refusal(self, now=None):
        now = now or timezone.now()
        if self.used_at:
            return f"this join token was already used at {self.used_at:%Y-%m-%d %H:%M:%S} UTC"
        if self.revoked_at:
            return "this join token was replaced or revoked"
        if self.expires_at <= now:
            return f"this join token expired at {self.expires_at:%Y-%m-%d %H:%M:%S} UTC"
        if self.host.removed_at:
            return f"host {self.host.name} was removed"
        return None


class HostCredentialQuerySet(models.QuerySet):
    def live(self):
        return self.filter(revoked_at__isnull=True, host__removed_at__isnull=True)


class HostCredential(models.Model):
    """The one secret a host's agent holds. A host has at most one live credential, plus one pending during rotation.

    Rotation: an admin asks for it; the agent receives the new credential in its next heartbeat answer, writes it,
    and the first request made with it promotes it and revokes the old one.
    """

    host = models.ForeignKey("snapshots.Host", on_delete=models.CASCADE, related_name="credentials")
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12, help_text="First characters, to tell credentials apart")
    created_at = models.DateTimeField(default=timezone.now)
    created_by_name = models.CharField(max_length=150, blank=True)
    pending = models.BooleanField(default=False, help_text="Issued by a rotation, not yet used by the agent")
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = HostCredentialQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.host.name} {self.prefix}…"

    @classmethod
    def issue(cls, host, *, created_by_name="", pending=False):
        token = _new(CREDENTIAL_PREFIX)
        row = cls.objects.create(host=host, token_hash=digest(token), prefix=token[:12],
                                 created_by_name=created_by_name, pending=pending)
        return row, token

    @classmethod
    def find(cls, token):
        """The live credential for this token, with its host, or None."""
        if not token or not token.startswith(CREDENTIAL_PREFIX):
            return None
        row = cls.objects.live().select_related("host").filter(token_hash=digest(token)).first()
        if row is None or not hmac.compare_digest(row.token_hash, digest(token)):
            return None
        return row
