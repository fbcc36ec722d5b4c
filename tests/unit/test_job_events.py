"""Job events: every creation and change of state or phase is published on Redis once it committed, and a Redis
that cannot be reached never holds up or fails a job."""
import json
import time
from unittest import mock

import pytest

from snapshots import events, lifecycle, services
from snapshots.models import Job

from .fakes import FakeContext, online_host, running_container

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_broker():
    with mock.patch("snapshots.services.dispatch.send"):
        yield


@pytest.fixture
def fresh_client():
    events._client = None
    yield
    events._client = None


@pytest.fixture
def listener(broker, fresh_client):
    pubsub = broker.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(events.channel())
    yield pubsub
    pubsub.close()


def received(pubsub, wait=1.0):
    out = []
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.1)
        if message:
            out.append(json.loads(message["data"]))
    return out


def test_a_checkpoint_job_is_published_when_requested_at_each_phase_and_when_it_ends(listener, people, origin):
    host = people.grant(online_host("h1"))
    container = running_container(host)
    job = services.request_checkpoint(people.otto, "h1", "web", name="c1", origin=origin)
    lifecycle.execute(str(job.id), "run", FakeContext(host.pk, "h1"))

    seen = [e for e in received(listener) if e["job"] == str(job.id)]
    assert seen[0] == {"job": str(job.id), "state": "queued", "phase": "", "kind": "checkpoint", "host": "h1",
                       "target_host": "", "container": container.pk}
    assert any(e["state"] == "running" and e["phase"] for e in seen), seen
    assert seen[-1]["state"] == "succeeded"
    assert [e["state"] for e in seen].count("succeeded") == 1


def test_a_job_failed_by_the_reconciler_is_published_as_failed(listener, people, origin):
    host = people.grant(online_host("h1"))
    running_container(host)
    job = services.request_checkpoint(people.otto, "h1", "web", name="c1", origin=origin)
    Job.objects.filter(pk=job.pk).update(state=Job.State.RUNNING, claimed_by="gone-worker")
    received(listener, 0.3)
    assert lifecycle.fail_running(job, "its worker is gone", claimed_by="gone-worker")
    assert [e["state"] for e in received(listener)] == ["failed"]


def test_an_unreachable_redis_neither_fails_nor_holds_up_a_job(settings, fresh_client, people, origin):
    settings.CRYO_EVENTS_URL = "redis://127.0.0.1:9/0"  # the discard port: nothing listens there
    host = people.grant(online_host("h1"))
    running_container(host)
    t0 = time.monotonic()
    job = services.request_checkpoint(people.otto, "h1", "web", name="c1", origin=origin)
    lifecycle.execute(str(job.id), "run", FakeContext(host.pk, "h1"))
    elapsed = time.monotonic() - t0
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED
    # Four publishes (queued, two phases, succeeded) at most PUBLISH_TIMEOUT each, with no retries.
    assert elapsed < 4 * events.PUBLISH_TIMEOUT + 2, elapsed


def test_an_event_for_a_deleted_job_is_dropped_quietly(listener):
    events.job_changed(Job(pk="00000000-0000-0000-0000-000000000000"))
    assert received(listener, 0.3) == []
