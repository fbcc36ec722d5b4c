"""A job ended: who hears about it. Teams hear about the jobs on the hosts granted to them (a migration or clone
concerns its source and its target host). Each webhook and each team's e-mail gets one row (so a second call for
the same job adds nothing), sent to the control queue once the rows are committed."""
import logging

from django.db import IntegrityError, transaction
from django.db.models import Q

from snapshots.models import Job

from .models import Delivery, EmailNotice, TeamEmail, Webhook
from .webhooks import body_for

log = logging.getLogger(__name__)


def job_finished(job_id):
    job = Job.objects.select_related("host", "target_host").filter(pk=job_id).first()
    if job is None or not job.is_terminal:
        return
    hosts = [h for h in (job.host_id, job.target_host_id) if h]
    wanted = Q() if job.state == Job.State.FAILED else Q(every_job=True)
    hooks = list(Webhook.objects.filter(wanted, active=True, team__operated_hosts__in=hosts)
                 .select_related("team").distinct())
    emails = list(TeamEmail.objects.filter(wanted, active=True, team__operated_hosts__in=hosts)
                  .select_related("team").distinct())
    if not hooks and not emails:
        return
    from .tasks import send_email, send_webhook

    event = f"job.{job.state}"
    for hook in hooks:
        try:
            with transaction.atomic():
                delivery = Delivery.objects.create(webhook=hook, job=job, event=event,
                                                   body=body_for(job, hook.team, event))
        except IntegrityError:
            continue  # this job was already handed to this webhook
        transaction.on_commit(lambda pk=delivery.pk: send_webhook(pk))
    for email in emails:
        try:
            with transaction.atomic():
                notice = EmailNotice.objects.create(team=email.team, job=job)
        except IntegrityError:
            continue
        transaction.on_commit(lambda pk=notice.pk: send_email(pk))
