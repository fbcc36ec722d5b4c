"""Celery tasks of the control queue: webhook deliveries and e-mails, retried with exponential backoff.

A control worker consumes the queue: `celery -A dashboard worker -Q cryo.control` (deploy/run.sh starts one).
Attempts are counted on the rows, so a redelivered message after a crash does not start the count again.
"""
import logging

from celery import shared_task

from .models import Delivery, EmailNotice

log = logging.getLogger(__name__)

CONTROL_QUEUE = "cryo.control"


def send_webhook(delivery_id):
    _send(deliver_webhook, delivery_id)


def send_email(notice_id):
    _send(deliver_email, notice_id)


def _send(task, pk, countdown=None):
    """Never raise to the caller (a job's transition): a broker that is down leaves the row pending, logged."""
    try:
        task.apply_async(args=[pk], queue=CONTROL_QUEUE, countdown=countdown, retry=False)
    except Exception as exc:
        log.warning("could not send %s(%s) to %s: %s", task.name, pk, CONTROL_QUEUE, exc)


@shared_task(name="notifications.deliver_webhook", ignore_result=True)
def deliver_webhook(delivery_id):
    from .webhooks import attempt, backoff

    delivery = Delivery.objects.select_related("webhook").filter(pk=delivery_id, state=Delivery.State.PENDING).first()
    if delivery is None:
        return  # delivered, given up, or deleted with its webhook
    if attempt(delivery) == Delivery.State.PENDING:
        _send(deliver_webhook, delivery_id, countdown=backoff(delivery.attempts))


@shared_task(name="notifications.deliver_email", ignore_result=True)
def deliver_email(notice_id):
    from .email import attempt
    from .webhooks import backoff

    notice = EmailNotice.objects.filter(pk=notice_id, state=Delivery.State.PENDING).first()
    if notice is None:
        return
    if attempt(notice) == Delivery.State.PENDING:
        _send(deliver_email, notice_id, countdown=backoff(notice.attempts))
