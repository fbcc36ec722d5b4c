import secrets

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.utils import timezone

from .addresses import validate_webhook_url


def new_secret():
    return secrets.token_urlsafe(32)


class Webhook(models.Model):
    """A team's HTTP endpoint, told (HMAC-signed) about the jobs that end on the team's hosts.

    The secret is kept as it is: Cryo needs it to sign every delivery, and the team needs it to verify them.
    """

    team = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500, validators=[validate_webhook_url])
    secret = models.CharField(max_length=128, default=new_secret)
    every_job = models.BooleanField(default=False, help_text="Every finished job, not only the failed ones")
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["team__name", "url"]

    def __str__(self):
        return f"{self.team.name}: {self.url}"

    def wants(self, state):
        return self.every_job or state == "failed"


class Delivery(models.Model):
    """One job's notification to one webhook, with its attempts: the webhook's delivery log."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"
        REFUSED = "refused", "Refused"

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    job = models.ForeignKey("snapshots.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    event = models.CharField(max_length=32)
    body = models.TextField(help_text="The JSON body sent, exactly as signed")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["webhook", "job"], name="one_delivery_per_webhook_and_job")]
        indexes = [models.Index(fields=["webhook", "-created_at"])]


class TeamEmail(models.Model):
    """A team's e-mail notices: on failed jobs (or every job) on the team's hosts."""

    team = models.OneToOneField(Group, on_delete=models.CASCADE, related_name="email_notices")
    active = models.BooleanField(default=True)
    every_job = models.BooleanField(default=False, help_text="Every finished job, not only the failed ones")
    recipients = models.TextField(blank=True, help_text="Addresses, comma separated; empty: the team's members")

    def __str__(self):
        return f"e-mail for {self.team.name}"

    def wants(self, state):
        return self.active and (self.every_job or state == "failed")

    def addresses(self):
        listed = [a.strip() for a in self.recipients.split(",") if a.strip()]
        if listed:
            return listed
        return sorted(set(self.team.user_set.filter(is_active=True).exclude(email="").values_list("email", flat=True)))


class EmailNotice(models.Model):
    """One job's e-mail to one team, with its attempts."""

    team = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="+")
    job = models.ForeignKey("snapshots.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    state = models.CharField(max_length=16, choices=Delivery.State.choices, default=Delivery.State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    recipients = models.TextField(blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["team", "job"], name="one_email_per_team_and_job")]
