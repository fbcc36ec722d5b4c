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
