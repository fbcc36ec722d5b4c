"""When the engine is down or an agent dies, jobs end failed with a reason; none stays running forever."""
import time

import pytest

from snapshots.models import Container, Host, Job

from ..conftest import HOST_B, running_counter
from ..harness import ask
from ..harness.jobs import wait_for_job
from ..harness.processes import wait_until

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]

NOWHERE = "unix:///run/cryo-docker/nowhere/docker.sock"


def test_an_engine_that_is_down_fails_the_job_with_its_url_and_marks_the_host_unhealthy(
    people, spare_agent, origin
):
    agent = spare_agent("test-down", NOWHERE)
    host = wait_until(lambda: Host.objects.filter(name="test-down", worker_id__gt="", consumer_ok=True).first(),
                      60, "the agent of test-down to say hello and connect")
    assert host.status == Host.Status.DEGRADED
    assert f"cannot reach Docker at {NOWHERE}" in host.status_reason
    people.grant(host)
    job = wait_for_job(ask.sync(people.otto, "test-down", origin=origin))
    assert job.state == Job.State.FAILED
    assert job.error.startswith(f"cannot reach Docker at {NOWHERE}")
    # a container known from before the engine went away: the checkpoint fails with the same clear reason
    Container.objects.create(host=host, engine_id="f" * 64, name="was-here", state="running")
    Host.objects.filter(pk=host.pk).update(experimental=True, criu_ok=True)
    job = wait_for_job(ask.checkpoint(people.otto, "test-down", "was-here", origin=origin))
    assert job.state == Job.State.FAILED and f"cannot reach Docker at {NOWHERE}" in job.error
    assert agent.alive()


def test_an_agent_killed_mid_checkpoint_leaves_no_job_running(people, host_b, agent_b, daemon_b, origin):
    with running_counter(daemon_b, host_b, mib=768) as (_big, row):
        job = ask.checkpoint(people.otto, HOST_B, row.name, name="interrupted", origin=origin)
        wait_until(lambda: Job.objects.filter(pk=job.pk, state="running").exists(), 30, "the job to start")
        agent_b.kill()
        killed_at = time.monotonic()
        # the control process sees the lease lapse and the heartbeats stop, and fails the job with the reason
        job = wait_for_job(job, timeout=60)
        assert job.state == Job.State.FAILED
        assert f"the agent of host {HOST_B} stopped responding while the job was running" in job.error
        assert time.monotonic() - killed_at < 30
        assert job.finished_at is not None
