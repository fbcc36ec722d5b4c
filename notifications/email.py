"""One attempt at a team's e-mail about a job, through Django's e-mail backend."""
import logging

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone

from snapshots.models import Job

from .messages import email_body, email_subject
from .models import Delivery, TeamEmail

log = logging.getLogger(__name__)


def attempt(notice):
    """Try once. Returns the notice's new state; PENDING means "try again later"."""
    job = Job.objects.select_related("host", "target_host").get(pk=notice.job_id)
    settings_row = TeamEmail.objects.filter(team_id=notice.team_id).select_related("team").first()
    notice.attempts += 1
    recipients = settings_row.addresses() if settings_row else []
    notice.recipients = ", ".join(recipients)
    if not recipients:
        notice.state, notice.error = Delivery.State.REFUSED, "the team has no e-mail address to write to"
    else:
        try:
            send_mail(email_subject(job), email_body(job, settings_row.team), None, recipients)
        except Exception as exc:  # SMTP and socket errors alike: try again later
            notice.error = f"{type(exc).__name__}: {exc}"
            failed = notice.attempts >= settings.CRYO_WEBHOOK_ATTEMPTS
            notice.state = Delivery.State.FAILED if failed else Delivery.State.PENDING
        else:
            notice.state, notice.error, notice.sent_at = Delivery.State.DELIVERED, "", timezone.now()
    notice.save(update_fields=["attempts", "recipients", "state", "error", "sent_at"])
    log.info("e-mail notice %s about job %s: attempt %s, %s %s", notice.pk, notice.job_id, notice.attempts,
             notice.state, notice.error)
    return notice.state
