import hashlib
import secrets

from django.db import models
from django.utils import timezone


class EnrollmentToken(models.Model):
    """The shared secret a worker presents to enroll its host. Only its hash is stored; the newest one counts."""

    token_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    created_by_name = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    @classmethod
    def rotate(cls, created_by_name=""):
        token = secrets.token_urlsafe(32)
        cls.objects.create(token_hash=hashlib.sha256(token.encode()).hexdigest(), created_by_name=created_by_name)
        return token

    @classmethod
    def install(cls, token, created_by_name=""):
        """Make a given token (from the environment) the current one."""
        digest = hashlib.sha256(token.encode()).hexdigest()
        if cls.current_hash() != digest:
            cls.objects.create(token_hash=digest, created_by_name=created_by_name)

    @classmethod
    def current_hash(cls):
        return cls.objects.order_by("-created_at", "-id").values_list("token_hash", flat=True).first()
