from django.conf import settings
from django.db import models
from django.utils import timezone


class ExternalIdentity(models.Model):
    """A person as an OpenID Connect provider knows them (issuer and subject), linked to their Cryo account.

    Single sign-on finds accounts through this link, never by e-mail address or user name, so a provider account
    cannot take over a local account that happens to share a name or an address."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="external_identities")
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="external_identity_unique")]

    def __str__(self):
        return f"{self.user} = {self.subject} at {self.issuer}"
