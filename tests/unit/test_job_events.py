"""Job events: every creation and change of state or phase is published on Redis once it committed, and a Redis
that cannot be reached never holds up or fails a job."""
import json
import time
from unittest import mock

import pytest

from snapshots import control, events, services
from snapshots.models import Job

from ..harness import jobs
from .fakes import online_host, running_container

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_broker():
    with mock.patch("snapshots.jobs.outbox.publish"):
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
    job = services.checkpoint(people.otto, container, name="c1", origin=origin)
    jobs.claim(job)
    jobs.phase(job, "checkpoint")
    jobs.phase(job, "checkpoint", seconds=0.4)
    jobs.succeed(job, {"size_bytes": 1})

    seen = [e for e in received(listener) if e["job"] == str(job.id)]
    assert seen[0] == {"job": str(job.id), "state": "queued", "phase": "", "kind": "checkpoint", "host": "h1",
                       "target_host": "", "container": container.pk}
    assert any(e["state"] == "running" and e["phase"] for e in seen), seen
    assert seen[-1]["state"] == "succeeded"
    assert [e["state"] for e in seen].count("succeeded") == 1


def test_a_job_resolved_by_the_control_process_is_published_as_failed(listener, people, origin):
    from datetime import timedelta

    from django.utils import timezone

    host = people.grant(online_host("h1", last_seen=timezone.now() - timedelta(minutes=5)))
    container = running_container(host)
    job = Job.objects.create(kind="checkpoint", host=host, step_host=host, container=container, state="running",
                             claimed_by="gone:1:x", lease_until=timezone.now() - timedelta(seconds=1))
    received(listener, 0.3)
    assert control.lapse_leases(timezone.now()) == 1
    assert [e["state"] for e in received(listener) if e["job"] == str(job.id)] == ["failed"]


def test_an_unreachable_redis_neither_fails_nor_holds_up_a_job(settings, fresh_client, people, origin):
    settings.CRYO_EVENTS_URL = "redis://127.0.0.1:9/0"  # the discard port: nothing listens there
    container = running_container(people.grant(online_host("h1")))
    t0 = time.monotonic()
    job = services.checkpoint(people.otto, container, name="c1", origin=origin)
    jobs.claim(job)
    jobs.phase(job, "checkpoint")
    jobs.succeed(job, {"size_bytes": 1})
    elapsed = time.monotonic() - t0
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED
    # Four publishes (queued, running, a phase, succeeded) at most PUBLISH_TIMEOUT each, with no retries.
    assert elapsed < 4 * events.PUBLISH_TIMEOUT + 2, elapsed


def test_an_event_for_a_deleted_job_is_dropped_quietly(listener):
    gone = "00000000-0000-0000-0000-000000000000"
    events.job_changed(Job(pk=gone))
    assert [e for e in received(listener, 0.3) if e["job"] == gone] == []
