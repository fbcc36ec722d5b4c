"""The control process judges no host by a silence it shared: after a gap in its own rounds it waits a grace."""
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from snapshots import control
from snapshots.models import Job

from .fakes import online_host, running_container

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def lapsed(people):
    host = online_host("h1", last_seen=timezone.now() - timedelta(minutes=5))
    container = running_container(host)
    return Job.objects.create(kind="checkpoint", host=host, step_host=host, container=container, state="running",
                              claimed_by="gone:1:x", lease_until=timezone.now() - timedelta(seconds=1))


def test_after_a_gap_in_its_rounds_the_control_process_waits_a_grace_before_judging_leases(lapsed, settings):
    settings.CRYO_HEARTBEAT_GRACE = 2
    with mock.patch("snapshots.agents.broker.connected_users", return_value=set()), \
            mock.patch.dict(control._rounds, {"last": None, "amnesty_until": 0.0}):
        control.tick()
        lapsed.refresh_from_db()
        assert lapsed.state == "running", "the first round after a gap judges nobody"
        with mock.patch("time.monotonic", return_value=control._rounds["amnesty_until"] + 0.1):
            control._rounds["last"] = control._rounds["amnesty_until"]
            control.tick()
    lapsed.refresh_from_db()
    assert lapsed.state == "failed" and "stopped responding" in lapsed.error
