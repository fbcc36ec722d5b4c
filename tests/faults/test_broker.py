"""The broker frozen, killed, and restarted without persistence: no request waits for it, a host shows offline
while its agent cannot hear the broker, and no job is lost or run twice."""
import time

import pytest
import redis

from snapshots.models import Host, Job

from ..harness import ask
from ..harness.engine import wait_for_ticks
from ..harness.jobs import succeeded
from ..harness.processes import wait_until
from .conftest import audited, freeze, record, settle, thaw

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]


def timed_request(people, row, origin, name):
    started = time.monotonic()
    job = ask.checkpoint(people.otto, "test-a", row.name, name=name, leave_running=True, origin=origin)
    return job, time.monotonic() - started


def steadily_connected(host, seconds=3):
    """The host's consumer seen on the broker for a few seconds in a row: an agent that joined again after the
    tables were emptied reconnects to the broker once more after its hello, and the host flickers meanwhile."""
    since = []

    def steady():
        if not Host.objects.get(pk=host.pk).consumer_ok:
            since.clear()
            return False
        since[:] = since or [time.monotonic()]
        return time.monotonic() - since[0] >= seconds

    wait_until(steady, 60, f"host {host.name}'s consumer steadily on the broker")


def test_a_frozen_broker_holds_up_no_request_and_the_job_runs_once_it_thaws(
    people, host_a, counter_a, broker_process, origin
):
    engine_container, row = counter_a
    steadily_connected(host_a)
    freeze(broker_process)
    try:
        job, answered = timed_request(people, row, origin, "frozen-1")
        assert answered < 5, f"the request took {answered:.1f} s"
        assert job.state == Job.State.QUEUED
        offline_after = wait_until(lambda: not Host.objects.get(pk=host_a.pk).consumer_ok, 30,
                                   "the host to show offline while its agent cannot hear the broker")
        assert offline_after
    finally:
        thaw(broker_process)
    took = settle(job, 90)
    assert job.state == Job.State.SUCCEEDED and audited(job)
    assert Job.objects.filter(checkpoint_name="frozen-1").count() == 1
    record("broker frozen (SIGSTOP) while a checkpoint is requested", answered,
           f"request answered; job {job.state} {took:.1f} s after the thaw")
    wait_until(lambda: Host.objects.get(pk=host_a.pk).consumer_ok, 30, "the host online again after the thaw")
    wait_for_ticks(engine_container, 3)
    succeeded(ask.checkpoint(people.otto, "test-a", row.name, name="frozen-2", leave_running=True, origin=origin))


def test_a_broker_restarted_without_persistence_loses_no_job(
    people, host_a, agent_a, counter_a, broker_process, broker, origin
):
    _c, row = counter_a
    freeze(agent_a)  # the message waits in the queue, unread
    try:
        job = ask.checkpoint(people.otto, "test-a", row.name, name="lost-msg", leave_running=True, origin=origin)
        wait_until(lambda: broker.llen("cryo.host.test-a") == 1, 10, "the message in the queue")
        broker_process.stop()
        broker_process.start()  # empty: the message and the hosts' broker users are gone
        restarted = time.monotonic()
        fresh = redis.Redis(host="127.0.0.1", port=broker_process.port, password=broker_process.password)
        assert fresh.llen("cryo.host.test-a") == 0 and "cryo-host-test-a" not in fresh.acl_users()
    finally:
        thaw(agent_a)
    settle(job, 90)
    assert job.state == Job.State.SUCCEEDED, job.error
    assert job.send_count >= 2, "the control process sent the lost message again"
    assert audited(job)
    record("broker restarted without persistence (queued message and broker users lost)",
           time.monotonic() - restarted, f"job {job.state}, sent {job.send_count} times, run once")
    succeeded(ask.checkpoint(people.otto, "test-a", row.name, name="after-restart", leave_running=True,
                             origin=origin))


def test_a_broker_that_is_down_is_answered_at_once_and_the_job_runs_when_it_is_back(
    people, host_a, counter_a, broker_process, origin
):
    _c, row = counter_a
    broker_process.stop()
    try:
        job, answered = timed_request(people, row, origin, "down-1")
        assert answered < 5 and job.state == Job.State.QUEUED
    finally:
        broker_process.start()
    took = settle(job, 90)
    assert job.state == Job.State.SUCCEEDED and audited(job)
    record("broker down while a checkpoint is requested", answered,
           f"request answered; job {job.state} {took:.1f} s after the broker came back")
