"""A job that fails is delivered to the team's webhook by a real control process (its Celery worker consumes
cryo.control, through Redis), retried with growing pauses until the receiver takes it."""
import json
from unittest import mock

import pytest

from notifications.models import Delivery, Webhook
from snapshots import services
from snapshots.services import Origin

from ..harness.receiver import Receiver
from ..harness.jobs import expire
from ..harness.processes import wait_until
from ..web.conftest import make_container, make_host

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "control-worker-test-secret-0123456789"
BACKOFF = 1


@pytest.fixture
def control_worker(dashboard):
    """The session's control process (started with CRYO_WEBHOOK_ALLOW_PRIVATE=true and a backoff of 1 s)."""
    return dashboard.control


def test_a_receiver_that_fails_twice_gets_the_delivery_from_the_control_worker_on_the_third_try(
        people, control_worker):
    host = people.grant(make_host("notify"))
    container = make_container(host, "notify-web")
    with Receiver(SECRET, fail_first=2) as receiver:
        hook = Webhook.objects.create(team=people.team_a, url=receiver.url, secret=SECRET)
        with mock.patch("snapshots.jobs.outbox.publish"):  # no agent here: the job expires unstarted
            job = services.checkpoint(people.otto, container, name="n1", origin=Origin(source="10.0.0.9"))
        expire(job)

        delivery = wait_until(lambda: Delivery.objects.filter(webhook=hook, state__in=["delivered", "failed"]).first()
                              or (None if control_worker.alive() else pytest.fail(control_worker.log_tail())),
                              60, "the delivery to end")
    assert (delivery.state, delivery.attempts, delivery.status_code) == ("delivered", 3, 204)
    assert [r["status"] for r in receiver.received] == [500, 500, 204]
    assert all(r["valid"] for r in receiver.received), "every attempt is signed with the webhook's secret"
    assert {json.loads(r["body"])["job"]["id"] for r in receiver.received} == {str(job.id)}
    first, second, third = (r["at"] for r in receiver.received)
    assert second - first >= BACKOFF * 0.9 and third - second >= 2 * BACKOFF * 0.9, "the pause doubles"
