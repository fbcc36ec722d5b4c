"""Messages to host agents. The job row is the outbox: a message names a job and nothing more.

A message is published once its job's transaction commits. Publishing never blocks a request for long (bounded
connect and socket timeouts, no retry loop); a message that could not be published, or that the broker lost, is
sent again by the control process (`resend_waiting`) while its step still waits, and the conditional claim
keeps the job single-run however many copies arrive.
"""
import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..models import Job

log = logging.getLogger(__name__)
TASK = "cryo.run_job"


def send_on_commit(job):
    job_id, queue = str(job.id), job.step_host.queue
    transaction.on_commit(lambda: publish(job_id, queue))


def publish(job_id, queue):
    """Put one message on a host's queue. Returns True when the broker took it."""
    from celery import current_app

    try:
        current_app.send_task(TASK, args=[job_id], queue=queue, retry=False, ignore_result=True)
        return True
    except Exception as exc:  # kombu raises many kinds; all mean the control process will send it again
        log.warning("cannot send job %s to %s now (%s); the control process sends it again", job_id, queue, exc)
        return False


def resend_waiting(now=None, *, queue_length=None):
    """Send again the messages of steps that wait for their host longer than CRYO_JOB_RESEND_AFTER and whose
    message is not in the host's queue any more (lost by a broker restart, or never published)."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.CRYO_JOB_RESEND_AFTER)
    waiting = (Job.objects.filter(state__in=Job.ENQUEUED_STATES, claimed_by="", sent_at__lt=cutoff)
               .select_related("step_host").order_by("sent_at")[:500])
    sent = 0
    for job in waiting:
        host = job.step_host
        if host is None or host.effective_status == host.Status.OFFLINE:
            continue  # its agent is not there to take it; expiry or the host's loss decides
        if queue_length is not None and queue_length(host.queue) > 0:
            continue  # still queued behind other work: nothing was lost
        updated = Job.objects.filter(pk=job.pk, claimed_by="", sent_at=job.sent_at).update(
            sent_at=now, send_count=job.send_count + 1)
        if updated and publish(str(job.id), host.queue):
            sent += 1
            log.info("job %s sent again to %s (copy %d)", job.id, host.queue, job.send_count + 1)
    return sent
