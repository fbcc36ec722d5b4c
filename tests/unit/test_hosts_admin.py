"""Ada drains, enables and removes hosts; Otto may not; a drained host takes no new jobs."""
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from snapshots import services
from snapshots.errors import AccessDenied, InvalidRequest
from snapshots.models import AuditEvent, Host

from .fakes import online_host, running_container

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_broker():
    with mock.patch("snapshots.services.dispatch.send"):
        yield


def test_a_drained_host_refuses_new_jobs_until_it_is_enabled(people, origin):
    running_container(people.grant(online_host("h1")))
    services.drain_host(people.ada, "h1", origin=origin)
    with pytest.raises(InvalidRequest, match="host h1 is drained"):
        services.request_checkpoint(people.otto, "h1", "web", origin=origin)
    services.enable_host(people.ada, "h1", origin=origin)
    assert services.request_checkpoint(people.otto, "h1", "web", origin=origin).state == "queued"
    assert list(AuditEvent.objects.filter(action__startswith="host.").values_list("action", "actor_name")
                .order_by("id")) == [("host.drain", "ada"), ("host.enable", "ada")]


def test_only_an_admin_may_drain_and_the_attempt_is_audited(people, origin):
    people.grant(online_host("h1"))
    with pytest.raises(AccessDenied, match="only an admin may host drain"):
        services.drain_host(people.otto, "h1", origin=origin)
    assert AuditEvent.objects.get(outcome="denied").actor_name == "otto"


def test_a_host_with_a_live_worker_cannot_be_removed(people, origin):
    online_host("h1")
    with pytest.raises(InvalidRequest, match="still has a running worker; stop it first"):
        services.remove_host(people.ada, "h1", origin=origin)


def test_a_removed_host_disappears_from_lists_but_keeps_its_history(people, origin):
    online_host("h1", last_seen=timezone.now() - timedelta(hours=1))
    services.remove_host(people.ada, "h1", origin=origin)
    assert not Host.objects.filter(name="h1").exists()
    assert Host.all_objects.get(name="h1").removed_at is not None
    with pytest.raises(InvalidRequest, match="unknown host 'h1'"):
        services.request_sync(people.ada, "h1", origin=origin)


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
    from snapshots.worker.facts import status_of

    host = Host(name="h1", experimental=True, criu_ok=True, docker_version=version)
    status, reason = status_of(host)
    assert (status == Host.Status.ONLINE) is online
    if not online:
        assert "moby#50750" in reason or "content digest not found" in reason


def test_a_worker_with_a_bad_host_name_is_refused_with_the_rule(people):
    from snapshots.worker.registration import EnrollmentRefused, enroll

    with pytest.raises(EnrollmentRefused, match="'Bad_Name' is not a valid host name: use lowercase letters"):
        enroll("Bad_Name", engine=None, worker_id="w", token="t")
