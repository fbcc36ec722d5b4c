"""No job stays running or queued forever: jobs whose worker vanished, and jobs past their expiry, are failed."""
import logging

from django.utils import timezone

from .lifecycle import fail_running, fail_unstarted
from .models import Job

log = logging.getLogger(__name__)


def reconcile(now=None):
    """Fail the jobs nobody will finish. Safe to call from anywhere, any number of times. Returns the count."""
    now = now or timezone.now()
    count = 0
    for job in Job.objects.filter(state=Job.State.RUNNING).select_related("host", "target_host"):
        reason = _orphan_reason(job, now)
        if reason and fail_running(job, reason, claimed_by=job.claimed_by):
            log.warning("job %s failed by reconciliation: %s", job.id, reason)
            count += 1
    for job_id in Job.objects.filter(state=Job.State.QUEUED, expires_at__lt=now).values_list("id", flat=True):
        job = Job.objects.select_related("host").get(pk=job_id)
        waited = int((now - job.created_at).total_seconds())
        if fail_unstarted(job_id, f"expired: no worker of host {job.host.name} took the job within {waited} s; "
                                  "it will not run late. Check the host's worker, then request it again"):
            count += 1
    return count


def _orphan_reason(job, now):
    host = job.target_host if job.stage.startswith("await:") or job.stage in ("import",) else job.host
    host = host or job.host
    if job.stage.startswith("await:"):
        if host.is_lost(now):
            return (f"the worker of host {host.name} is not running, so the job could not continue there "
                    f"({host.lost_reason()})")
        return None
    if host.is_lost(now):
        return (f"the worker of host {host.name} stopped responding while the job was running "
                f"({host.lost_reason()}); the engine may have finished the operation: check the container, "
                "then sync the host")
    if host.worker_id and job.claimed_by and job.claimed_by != host.worker_id:
        return (f"the worker of host {host.name} restarted while the job was running; the engine may have "
                "finished the operation: check the container, then sync the host")
    return None
