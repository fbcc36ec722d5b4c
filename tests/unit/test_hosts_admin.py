"""Ada adds, drains, enables and removes hosts; Otto may not; a drained host takes no new jobs."""
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from snapshots import services
from snapshots.agents import facts
from snapshots.errors import AccessDenied, InvalidRequest
from snapshots.models import AuditEvent, Host, HostCredential

from .fakes import online_host, running_container

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_broker():
    with mock.patch("snapshots.jobs.outbox.publish"), mock.patch("snapshots.agents.broker.remove"):
        yield


def test_a_drained_host_refuses_new_jobs_until_it_is_enabled(people, origin):
    web = running_container(people.grant(online_host("h1")))
    services.drain_host(people.ada, web.host, origin=origin)
    web.host.refresh_from_db()
    with pytest.raises(InvalidRequest, match="host h1 is drained"):
        services.checkpoint(people.otto, web, origin=origin)
    services.enable_host(people.ada, web.host, origin=origin)
    web.host.refresh_from_db()
    assert services.checkpoint(people.otto, web, origin=origin).state == "queued"
    assert list(AuditEvent.objects.filter(action__startswith="host.").values_list("action", "actor_name")
                .order_by("id")) == [("host.drain", "ada"), ("host.enable", "ada")]


def test_only_an_admin_may_drain_and_the_attempt_is_audited(people, origin):
    host = people.grant(online_host("h1"))
    with pytest.raises(AccessDenied, match="only an admin may host drain"):
        services.drain_host(people.otto, host, origin=origin)
    assert AuditEvent.objects.get(outcome="denied").actor_name == "otto"
    assert Host.objects.get(pk=host.pk).drained is False


def test_removing_a_host_revokes_its_credential_at_once_and_keeps_its_history(people, origin):
    host = online_host("h1", last_seen=timezone.now() - timedelta(hours=1))
    HostCredential.issue(host)
    services.remove_host(people.ada, host, origin=origin)
    assert not Host.objects.filter(name="h1").exists()
    assert Host.all_objects.get(name="h1").removed_at is not None
    assert not HostCredential.objects.live().filter(host=host).exists()
    assert AuditEvent.objects.get(action="host.remove").details == {"credentials_revoked": 1}


def test_a_host_with_jobs_in_flight_cannot_be_removed(people, origin):
    web = running_container(online_host("h1"))
    services.checkpoint(people.ada, web, origin=origin)
    with pytest.raises(InvalidRequest, match="has 1 job\\(s\\) queued or running"):
        services.remove_host(people.ada, web.host, origin=origin)


def test_adding_a_host_needs_a_valid_name_and_an_admin(people, origin):
    with pytest.raises(InvalidRequest, match="'Bad_Name' is not a valid host name: use lowercase letters"):
        services.add_host(people.ada, "Bad_Name", origin=origin)
    with pytest.raises(AccessDenied):
        services.add_host(people.otto, "fine", origin=origin)
    host, token = services.add_host(people.ada, "fine", origin=origin)
    assert token.startswith("cryoj_") and host.status == Host.Status.OFFLINE
    with pytest.raises(InvalidRequest, match="host fine already exists"):
        services.add_host(people.ada, "fine", origin=origin)
    assert [e.outcome for e in AuditEvent.objects.filter(action="host.add").order_by("id")] == ["denied", "succeeded"]


def test_preflight_refuses_a_tty_container_and_warns_on_missing_cpu_features(people):
    a = online_host("h1", cpu_model="Intel Xeon", cpu_flags="sse avx avx2 avx512f", free_bytes=10 << 30)
    b = online_host("h2", cpu_model="Intel Xeon", cpu_flags="sse avx", free_bytes=10 << 30)
    container = running_container(a)
    container.tty = True
    checks = {c.name: c for c in services.migration_preflight(container, b)}
    assert checks["tty"].level == "error" and "criu#952" in checks["tty"].message
    assert checks["cpu"].level == "warning" and "avx2 avx512f" in checks["cpu"].message
    assert checks["target ready"].level == "ok"


def test_preflight_refuses_a_different_cpu_vendor_and_too_little_space(people):
    from snapshots.models import Checkpoint

    a = online_host("h1", cpu_model="Intel Xeon", cpu_flags="sse", free_bytes=10 << 30)
    b = online_host("h2", cpu_model="AMD EPYC", cpu_flags="sse", free_bytes=100 << 20)
    container = running_container(a)
    Checkpoint.objects.create(container=container, name="c1", exit=False, size_bytes=1 << 30)
    checks = {c.name: c for c in services.migration_preflight(container, b)}
    assert checks["cpu"].level == "error" and checks["space"].level == "error"


@pytest.mark.parametrize("version,online", [("20.10.24", True), ("27.5.1", True), ("28.3.0", False),
                                            ("29.0.1", False), ("25.0.2", False), ("25.0.4", True)])
def test_engine_releases_known_to_break_restore_degrade_the_host_with_the_reason(version, online):
    host = Host(name="h1")
    facts.apply(host, facts.clean({"experimental": True, "criu_ok": True, "docker_version": version}))
    assert (host.status == Host.Status.ONLINE) is online
    if not online:
        assert "moby#50750" in host.status_reason or "content digest not found" in host.status_reason


def test_a_criu_that_cannot_dump_sockets_degrades_the_host_without_refusing_its_jobs():
    host = Host(name="h1", last_seen=timezone.now(), consumer_ok=True)
    why = "CRIU 4.1.1 on kernel 6.18 cannot checkpoint processes with network sockets: upgrade to CRIU ≥ 4.2"
    facts.apply(host, facts.clean({"experimental": True, "criu_ok": True, "docker_version": "20.10.24",
                                   "criu_sockets_ok": False, "criu_sockets_message": why}))
    assert host.status == Host.Status.DEGRADED and host.status_reason == why
    assert host.refusal() is None
