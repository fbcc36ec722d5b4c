import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone


def _digest(token):
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(models.Model):
    """A personal token for automation: the API acts as its owner, with the owner's role, narrowed by the token's
    scope (`read` can only read; `operate` can do what its owner may). It stops working at `expires_at`, or once
    revoked. Only a hash is kept."""

    class Scope(models.TextChoices):
        READ = "read", "Read"
        OPERATE = "operate", "Operate"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cryo_api_tokens")
    name = models.CharField(max_length=100)
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8, help_text="First characters, to tell tokens apart")
    scope = models.CharField(max_length=16, choices=Scope.choices, default=Scope.READ)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty only on tokens made before expiry")
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.user} / {self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, user, name, *, scope=Scope.OPERATE, days=None):
        """A new token (returned once, in clear) that works for `days` (CRYO_API_TOKEN_DAYS by default)."""
        days = settings.CRYO_API_TOKEN_DAYS if days is None else days
        token = "cryo_" + secrets.token_urlsafe(32)
        now = timezone.now()
        row = cls.objects.create(user=user, name=name, token_hash=_digest(token), prefix=token[5:13], scope=scope,
                                 created_at=now, expires_at=now + timedelta(days=days))
        return row, token

    @classmethod
    def find(cls, token):
        """The row of this token, whatever its state, or None."""
        if not token:
            return None
        return cls.objects.select_related("user").filter(token_hash=_digest(token)).first()

    @classmethod
    def authenticate(cls, token):
        """The active user owning this token, if it is usable now; else None."""
        row = cls.find(token)
        if row is None or row.refusal():
            return None
        row.touch()
        return row.user

    def refusal(self, now=None):
        """Why this token does not work now, or ''."""
        now = now or timezone.now()
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        if not self.user.is_active:
            return "its owner's account is inactive"
        return ""

    @property
    def state(self):
        return self.refusal() or "active"

    @property
    def can_operate(self):
        return self.scope == self.Scope.OPERATE

    def touch(self):
        now = timezone.now()
        type(self).objects.filter(pk=self.pk).update(last_used_at=now)
        self.last_used_at = now
