"""A job that fails the way a worker fails it is delivered to the team's webhook by a real control worker (a Celery
worker consuming cryo.control, through Redis), retried with growing pauses until the receiver takes it."""
import json
from unittest import mock

import pytest

from notifications.models import Delivery, Webhook
from snapshots import lifecycle
from snapshots.services import Origin, request_checkpoint

from ..harness.control import ControlWorker
from ..harness.receiver import Receiver
from ..harness.workers import wait_until
from ..web.conftest import make_container, make_host

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "control-worker-test-secret-0123456789"
BACKOFF = 1


@pytest.fixture
def control_worker(broker):
    worker = ControlWorker(CRYO_WEBHOOK_ALLOW_PRIVATE="true", CRYO_WEBHOOK_BACKOFF=BACKOFF).start()
    yield worker
    worker.stop()


def test_a_receiver_that_fails_twice_gets_the_delivery_from_the_control_worker_on_the_third_try(
        people, control_worker):
    host = people.grant(make_host("notify"))
    make_container(host, "notify-web")
    with Receiver(SECRET, fail_first=2) as receiver:
        hook = Webhook.objects.create(team=people.team_a, url=receiver.url, secret=SECRET)
        with mock.patch("snapshots.services.dispatch.send"):  # no host worker here: the job expires unstarted
            job = request_checkpoint(people.otto, "notify", "notify-web", name="n1", origin=Origin(source="10.0.0.9"))
        lifecycle.fail_unstarted(job.id, "expired: the job waited too long in the queue")

        delivery = wait_until(lambda: Delivery.objects.filter(webhook=hook, state__in=["delivered", "failed"]).first()
                              or (None if control_worker.alive() else pytest.fail(control_worker.log_tail())),
                              60, "the delivery to end")
    assert (delivery.state, delivery.attempts, delivery.status_code) == ("delivered", 3, 204)
    assert [r["status"] for r in receiver.received] == [500, 500, 204]
    assert all(r["valid"] for r in receiver.received), "every attempt is signed with the webhook's secret"
    assert {json.loads(r["body"])["job"]["id"] for r in receiver.received} == {str(job.id)}
    first, second, third = (r["at"] for r in receiver.received)
    assert second - first >= BACKOFF * 0.9 and third - second >= 2 * BACKOFF * 0.9, "the pause doubles"
