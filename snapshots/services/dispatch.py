"""Job row first, task second: the Celery message is sent only once the job's transaction committed."""
import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .. import events
from ..models import Container, Job
from ..errors import Busy
from . import audit

log = logging.getLogger(__name__)


def submit(*, actor, kind, host, origin, container=None, checkpoint_name="", params=None, target_host=None,
           audit_details=None):
    """Create the job and its 'requested' audit row in one transaction; send the task on commit."""
    now = timezone.now()
    with transaction.atomic():
        if container is not None:
            # Serialize requests on one container (row lock on PostgreSQL; SQLite's write lock does the same).
            Container.objects.select_for_update().filter(pk=container.pk).exists()
            in_flight = (
                Job.objects.filter(container=container, state__in=Job.ENQUEUED_STATES)
                .order_by("created_at")
                .first()
            )
            if in_flight is not None:
                raise Busy(
                    f"container {container.name} on {container.host.name} already has a job in flight: "
                    f"{in_flight.get_kind_display().lower()} job {in_flight.short_id} ({in_flight.state}, requested by "
                    f"{in_flight.requested_by_name or 'system'}); wait for it to finish"
                )
        job = Job.objects.create(
            kind=kind,
            host=host,
            target_host=target_host,
            container=container,
            container_name=container.name if container else "",
            checkpoint_name=checkpoint_name,
            params=params or {},
            requested_by=actor if actor is not None and actor.pk else None,
            requested_by_name=audit.actor_name(actor),
            source=origin.source,
            request_id=origin.request_id,
            created_at=now,
            expires_at=now + timedelta(seconds=settings.CRYO_JOB_QUEUE_EXPIRY),
        )
        audit.record(
            actor=actor, action=kind, outcome="requested", origin=origin, host=host,
            container_name=job.container_name, checkpoint_name=checkpoint_name, job=job,
            target_host=target_host, details=audit_details or params or {},
        )
        transaction.on_commit(lambda: events.job_changed(job))  # pages hear "queued" before the worker answers
        transaction.on_commit(lambda: send(job.id, host.queue, job.expires_at))
    return job


def send(job_id, queue, expires_at, step="run"):
    """Put the job's task on a host's queue. A broker that cannot be reached fails the job, loudly."""
    from ..tasks import run_job

    task_id = str(job_id) if step == "run" else f"{job_id}:{step}"
    try:
        run_job.apply_async(args=[str(job_id), step], task_id=task_id, queue=queue, expires=expires_at)
    except Exception as exc:  # kombu raises many kinds; all mean the same to the person waiting
        log.exception("cannot send job %s to %s", job_id, queue)
        from ..lifecycle import fail_unstarted

        broker = settings.CELERY_BROKER_URL.split("@")[-1]
        fail_unstarted(job_id, f"could not send the job to the broker ({broker}): {exc}")
