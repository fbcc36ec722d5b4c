"""When the engine is down or a worker dies, jobs end failed with a reason; none stays running forever."""
import time

import pytest

from snapshots import services
from snapshots.models import Container, Host, Job

from ..harness.jobs import wait_for_job
from ..harness.workers import wait_until
from ..conftest import HOST_B, running_counter

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]

NOWHERE = "unix:///run/cryo-docker/nowhere/docker.sock"


def test_an_engine_that_is_down_fails_the_job_with_its_url_and_marks_the_host_unhealthy(
    people, spare_worker, origin
):
    worker = spare_worker("test-down", NOWHERE)
    host = wait_until(lambda: Host.objects.filter(name="test-down", worker_id__gt="").first(), 60,
                      "the worker of test-down to enroll")
    assert host.status == Host.Status.DEGRADED
    assert f"cannot reach Docker at {NOWHERE}" in host.status_reason
    people.grant(host)
    job = wait_for_job(services.request_sync(people.otto, "test-down", origin=origin))
    assert job.state == Job.State.FAILED
    assert job.error.startswith(f"cannot reach Docker at {NOWHERE}")
    # a container known from before the engine went away: the checkpoint fails with the same clear reason
    Container.objects.create(host=host, engine_id="f" * 64, name="was-here", state="running")
    Host.objects.filter(pk=host.pk).update(experimental=True, criu_ok=True)
    job = wait_for_job(services.request_checkpoint(people.otto, "test-down", "was-here", origin=origin))
    assert job.state == Job.State.FAILED and f"cannot reach Docker at {NOWHERE}" in job.error
    assert worker.alive()


def test_a_worker_killed_mid_checkpoint_leaves_no_job_running(people, worker_a, host_b, worker_b, daemon_b, origin):
    with running_counter(daemon_b, host_b, mib=768) as (_big, row):
        job = services.request_checkpoint(people.otto, HOST_B, row.name, name="interrupted", origin=origin)
        wait_until(lambda: Job.objects.filter(pk=job.pk, state="running").exists(), 30, "the job to start")
        worker_b.kill()
        killed_at = time.monotonic()
        # worker_a (another host's worker) notices the silence and fails the job within the grace period
        job = wait_for_job(job, timeout=60)
        assert job.state == Job.State.FAILED
        assert f"the worker of host {HOST_B} stopped responding while the job was running" in job.error
        assert time.monotonic() - killed_at < 30
        assert job.finished_at is not None
        assert "traceback" not in job.result
