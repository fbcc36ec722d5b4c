"""No job stays running or queued forever: jobs whose worker vanished, and jobs past their expiry, are failed.

A migration waiting for a target host that went away is handed back to its source host, which restores
the source container, so the service is not lost.
"""
import logging

from django.db import transaction
from django.utils import timezone

from .lifecycle import fail_running, fail_unstarted
from .models import Host, Job

log = logging.getLogger(__name__)


def reconcile(now=None):
    """Fail (or roll back) the jobs nobody will finish. Safe to call anywhere, any number of times."""
    now = now or timezone.now()
    count = 0
    for job in Job.objects.filter(state=Job.State.RUNNING).select_related("host", "target_host"):
        count += _reconcile_running(job, now)
    for job in Job.objects.filter(state=Job.State.QUEUED, expires_at__lt=now).select_related("host"):
        count += reconcile_job(job, now)
    return count


def reconcile_job(job, now=None):
    """Reconcile one job (a page or a CLI waiting on it, even when no worker is left to do it). True if changed."""
    now = now or timezone.now()
    if job.state == Job.State.RUNNING:
        return bool(_reconcile_running(job, now))
    if job.state == Job.State.QUEUED and job.expires_at and job.expires_at < now:
        waited = int((now - job.created_at).total_seconds())
        return bool(fail_unstarted(job.pk, f"expired: no worker of host {job.host.name} took the job within "
                                           f"{waited} s; it will not run late. Check the host's worker, then "
                                           "request it again"))
    return False


def _gone(host, now):
    return host.effective_status == Host.Status.OFFLINE if host.last_seen else True


def _step_host(job, step):
    return job.target_host if step == "import" else job.host


def _reconcile_running(job, now):
    waiting = job.stage.startswith("await:")
    step = job.stage[len("await:"):] if waiting else (job.stage or "run")
    host = _step_host(job, step)
    lost = _gone(host, now)
    restarted = (not waiting and host.worker_id and job.claimed_by and job.claimed_by != host.worker_id)
    if not lost and not restarted:
        return 0
    if waiting:
        what = "is not running, so the job could not continue there"
    else:
        what = ("restarted" if restarted and not lost else "stopped responding") + " while the job was running"
    reason = f"the worker of host {host.name} {what} ({host.effective_reason or host.lost_reason()})"
    if job.kind == Job.Kind.MIGRATE and step == "import" and not _gone(job.host, now):
        return _hand_back_for_rollback(job, reason)
    if job.kind == Job.Kind.MIGRATE and step in ("import", "rollback"):
        reason += (f"; the source container is stopped at checkpoint {job.checkpoint_name}: restore it with "
                   f"`cryo restore {job.host.name} {job.container_name} {job.checkpoint_name}`")
    elif not waiting:
        reason += "; the engine may have finished the operation: check the container, then sync the host"
    if fail_running(job, reason, claimed_by=job.claimed_by):
        log.warning("job %s failed by reconciliation: %s", job.id, reason)
        return 1
    return 0


def _hand_back_for_rollback(job, reason):
    from datetime import timedelta

    from django.conf import settings

    from .services.dispatch import send

    params = {**job.params, "failure": reason, "failed_phase": "transfer"}
    expires = timezone.now() + timedelta(seconds=settings.CRYO_JOB_QUEUE_EXPIRY)
    with transaction.atomic():
        updated = Job.objects.filter(pk=job.pk, state=Job.State.RUNNING, stage=job.stage).update(
            stage="await:rollback", params=params, phase=f"rolling back on {job.host.name}")
        if updated:
            transaction.on_commit(lambda: send(job.id, job.host.queue, expires, step="rollback"))
    if updated:
        log.warning("migration %s handed back to %s for rollback: %s", job.id, job.host.name, reason)
    return updated
