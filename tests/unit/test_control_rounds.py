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


def test_one_unanswered_look_at_the_broker_leaves_hosts_online_and_a_second_takes_them_offline(people):
    from snapshots.models import Host

    host = online_host("h2")
    Host.objects.filter(pk=host.pk).update(consumer_ok=True)
    silent = mock.patch("snapshots.agents.broker.connected_users", side_effect=TimeoutError("Timeout reading"))
    with mock.patch.object(control, "_unanswered", 0), mock.patch.object(control, "_unseen", {}), silent:
        control.refresh_consumers()
        assert Host.objects.get(pk=host.pk).consumer_ok, "one slow answer changes nothing"
        control.refresh_consumers()
        assert not Host.objects.get(pk=host.pk).consumer_ok, "a broker silent twice in a row: offline"


def test_a_consumer_missing_from_one_look_stays_online_and_missing_from_two_goes_offline(people):
    from snapshots.models import Host

    host = online_host("h3")
    listed = mock.patch("snapshots.agents.broker.connected_users", return_value={"cryo-host-someone-else"})
    with mock.patch.object(control, "_unanswered", 0), mock.patch.object(control, "_unseen", {}), listed:
        control.refresh_consumers()
        assert Host.objects.get(pk=host.pk).consumer_ok, "a consumer reconnecting is not a host gone"
        control.refresh_consumers()
        assert not Host.objects.get(pk=host.pk).consumer_ok
    with mock.patch.object(control, "_unseen", {}), \
            mock.patch("snapshots.agents.broker.connected_users", return_value={"cryo-host-h3"}):
        control.refresh_consumers()
    assert Host.objects.get(pk=host.pk).consumer_ok, "back at once when it is seen again"
