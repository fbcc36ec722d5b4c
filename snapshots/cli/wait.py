"""Wait for a job, showing its progress, and turn its outcome into an exit code."""
import time

from django.core.management.base import CommandError

from ..models import Job
from ..reconcile import reconcile_job


def wait_for(job, out, *, timeout=None, poll=0.25, quiet=False):
    started = time.monotonic()
    last = None
    while True:
        job.refresh_from_db()
        shown = (job.state, job.phase)
        if shown != last and not quiet:
            elapsed = time.monotonic() - started
            phase = f" ({job.phase})" if job.phase and job.state == Job.State.RUNNING else ""
            out.write(f"[{elapsed:6.1f}s] job {job.short_id} {job.state}{phase}")
            last = shown
        if job.is_terminal:
            break
        if timeout and time.monotonic() - started > timeout:
            raise CommandError(f"job {job.id} still {job.state} after {timeout} s; it keeps going (see `cryo jobs`)")
        reconcile_job(job)
        time.sleep(poll)
    if job.state == Job.State.FAILED:
        raise CommandError(f"job {job.id} failed: {job.error}")
    return job
