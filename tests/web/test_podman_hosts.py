"""Podman hosts beside Docker hosts: the engine is a fact the agent reports, pages, the API and the CLI show it, and
a checkpoint never moves between engines."""
import pytest

from snapshots import services
from snapshots.agents import facts as host_facts
from snapshots.errors import InvalidRequest
from snapshots.models import AuditEvent, Host, Job
from snapshots.services import Origin
from snapshots.services.preflight import migration_preflight

from .conftest import htmx, make_checkpoint, make_container, make_host

pytestmark = pytest.mark.django_db
PODMAN = dict(engine_kind="podman", docker_version="4.3.1", api_version="1.41", experimental=False)


@pytest.fixture
def mixed(people):
    docker = people.grant(make_host("dock-1"))
    podman = people.grant(make_host("pod-1", **PODMAN))
    podman_too = people.grant(make_host("pod-2", **PODMAN))
    return docker, podman, podman_too


def test_a_podman_host_is_ready_without_the_experimental_switch_a_docker_host_needs(mixed):
    docker, podman, _ = mixed
    assert podman.refusal() is None and podman.engine_problems() == []
    docker.experimental = False
    assert "not experimental" in docker.refusal()
    podman.docker_version = "28.0.1"  # Docker's broken releases say nothing about Podman's own numbers
    assert podman.engine_problems() == []


def test_the_engine_kind_reported_by_an_agent_is_kept_and_anything_else_is_dropped():
    assert host_facts.clean({"engine_kind": "podman", "docker_version": "4.3.1"}) == {
        "engine_kind": "podman", "docker_version": "4.3.1"}
    assert "engine_kind" not in host_facts.clean({"engine_kind": "lxc"})
    assert "engine_kind" not in host_facts.clean({"engine_kind": ["podman"]})


def test_pages_and_the_apis_host_rows_show_each_hosts_engine(client, people, mixed):
    client.force_login(people.vic)
    overview = client.get("/").content.decode()
    assert "Podman 4.3.1" in overview and "Docker 27.5.1" in overview
    page = client.get("/hosts/pod-1/").content.decode()
    assert "Podman 4.3.1" in page and "not needed" in page
    hosts = {h["name"]: h for h in services_hosts(client)}
    assert (hosts["pod-1"]["engine_kind"], hosts["pod-1"]["engine_version"]) == ("podman", "4.3.1")
    assert hosts["dock-1"]["engine_kind"] == "docker"


def services_hosts(client):
    from snapshots.serializers import host_dict

    return [host_dict(h) for h in Host.objects.all()]


def test_the_cli_lists_the_engine_of_each_host():
    import io

    from snapshots.cli.commands import hosts

    class Api:
        def call(self, method, path, params=None):
            return [{"name": "pod-1", "drained": False, "status": "online", "engine_kind": "podman",
                     "docker_version": "4.3.1", "criu_ok": True, "criu_version": "4.2.1", "containers_running": 1,
                     "last_seen": None, "reason": ""}]

    out = io.StringIO()
    hosts(Api(), out, json=False)
    assert "ENGINE" in out.getvalue() and "podman 4.3.1" in out.getvalue()


def test_a_migration_from_docker_to_podman_is_refused_by_the_preflight_with_the_reason(people, mixed):
    docker, podman, _ = mixed
    web = make_container(docker, "web-1")
    checks = {c.name: c for c in migration_preflight(web, podman)}
    assert checks["engine"].level == "error"
    assert "dock-1 is a Docker host and pod-1 a Podman host" in checks["engine"].message
    assert "cannot move between engines" in checks["engine"].message
    with pytest.raises(InvalidRequest, match="cannot move between engines"):
        services.migrate(people.otto, web, to=podman, origin=Origin(source="t"))
    assert not Job.objects.exists()


def test_a_clone_from_podman_to_docker_is_refused_and_between_podman_hosts_it_is_not(people, mixed):
    docker, podman, podman_too = mixed
    db = make_container(podman, "db-1", state="exited")
    make_checkpoint(db, "db-1-frozen")
    checkpoint = db.checkpoints.get()
    with pytest.raises(InvalidRequest, match="a Podman host and dock-1 a Docker host"):
        services.clone(people.otto, checkpoint, to=docker, origin=Origin(source="t"))
    assert not Job.objects.exists() and not AuditEvent.objects.filter(action="clone").exists()
    assert {c.name: c.level for c in migration_preflight(db, podman_too)}["engine"] == "ok"
    job = services.clone(people.otto, checkpoint, to=podman_too, origin=Origin(source="t"))
    assert (job.kind, job.target_host) == ("clone", podman_too)


def test_the_migrate_panel_says_why_a_docker_container_cannot_go_to_a_podman_host(client, people, mixed):
    docker, podman, _ = mixed
    web = make_container(docker, "web-1")
    client.force_login(people.ada)
    response = client.post(f"/containers/{web.pk}/migrate/", {"to": "pod-1"}, **htmx("migrate-panel"))
    text = response.content.decode()
    assert "cannot move between engines" in text and "This migration cannot run" in text
    assert ">Migrate</button>" not in text and not Job.objects.exists()
