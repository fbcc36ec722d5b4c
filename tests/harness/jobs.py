import time

from snapshots.models import Job


def wait_for_job(job, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.is_terminal:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job.id} ({job.kind}) still {job.state} after {timeout} s")


def succeeded(job, timeout=120):
    job = wait_for_job(job, timeout)
    assert job.state == Job.State.SUCCEEDED, f"job {job.kind} failed: {job.error}"
    return job


# -- a job's steps as an agent takes them through the worker API's transitions (for tiers without agents) -------
AGENT = "tests:1:a9e7"


def claim(job, agent=AGENT):
    from snapshots.jobs import transitions

    job.refresh_from_db()
    transitions.claim(job.id, job.step_host, agent)
    job.refresh_from_db()
    return job


def phase(job, name, seconds=None, agent=AGENT):
    from snapshots.jobs import transitions

    transitions.report_phase(job.id, job.step_host, agent, job.step, name, seconds=seconds)


def succeed(job, result=None, agent=AGENT):
    from snapshots.jobs import transitions

    transitions.complete(job.id, job.step_host, agent, job.step, result or {})
    job.refresh_from_db()
    return job


def fail(job, error, agent=AGENT):
    from snapshots.jobs import transitions

    transitions.fail(job.id, job.step_host, agent, job.step, error, {})
    job.refresh_from_db()
    return job


def expire(job):
    """What the control process does to a job nobody took before its expiry."""
    from datetime import timedelta

    from django.utils import timezone

    from snapshots.jobs import transitions

    Job.objects.filter(pk=job.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    transitions.expire_queued()
    job.refresh_from_db()
    return job
