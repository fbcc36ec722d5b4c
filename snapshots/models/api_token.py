import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone


def _digest(token):
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(models.Model):
    """A personal token for automation: the API acts as its owner, with the owner's role. Only a hash is kept."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cryo_api_tokens")
    name = models.CharField(max_length=100)
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8, help_text="First characters, to tell tokens apart")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.user} / {self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, user, name):
        token = "cryo_" + secrets.token_urlsafe(32)
        row = cls.objects.create(user=user, name=name, token_hash=_digest(token), prefix=token[5:13])
        return row, token

    @classmethod
    def authenticate(cls, token):
        """The active user owning this token, or None."""
        active = cls.objects.select_related("user").filter(revoked_at__isnull=True)
        row = active.filter(token_hash=_digest(token or "")).first()
        if row is None or not row.user.is_active:
            return None
        cls.objects.filter(pk=row.pk).update(last_used_at=timezone.now())
        return row.user
