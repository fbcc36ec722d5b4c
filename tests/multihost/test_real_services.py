"""Real services move between two Docker daemons with their data: a Redis server whose append-only file lives in
its own writable layer, a service holding a connection inside its container, and what cannot travel is refused
before anything stops."""
import pytest

from snapshots.errors import InvalidRequest
from snapshots.models import Container, Job

from ..conftest import synced_container
from ..harness import ask
from ..harness.engine import (
    fill_redis, pingpong_log, redis_cli, redis_info, redis_intact, wait_answers, wait_for_pingpong,
)
from ..harness.jobs import succeeded
from ..harness.processes import wait_until

pytestmark = [pytest.mark.engine, pytest.mark.multihost, pytest.mark.django_db(transaction=True)]

AOF = ["/usr/bin/redis-server", "--bind", "127.0.0.1", "--port", "6379", "--save", "", "--dir", "/data",
       "--appendonly", "yes"]


def _files_known(host, container, at_least=0):
    """The inventory row once the host reported the container's own files (the pre-flight shows their size; the
    host reports it with every full inventory)."""
    def known():
        row = Container.objects.filter(host=host, engine_id=container.id, facts__has_key="rw_bytes").first()
        return row if row and row.facts["rw_bytes"] >= at_least else None

    return wait_until(known, 30, f"the size of {container.name}'s files in the inventory")


def test_a_redis_server_writing_its_own_files_migrates_with_every_key_and_goes_on_writing_them(
    people, host_a, host_b, daemon_a, daemon_b, origin
):
    server = daemon_a.run_redis(command=AOF)
    synced_container(host_a, server)
    assert fill_redis(server, 1, 5000) == 5000
    run_id = redis_info(server)["run_id"]
    row = _files_known(host_a, server, at_least=100_000)  # the append-only file is in the container's own layer
    checks = {c.name: c for c in ask_preflight(row, host_b)}
    assert checks["files"].level == "ok" and "MiB in its writable layer" in checks["files"].message

    job = succeeded(ask.migrate(people.otto, "test-a", server.name, to="test-b", origin=origin), timeout=180)
    moved = daemon_b.client.containers.get(server.name)
    wait_answers(lambda: redis_cli(moved, "PING") == "PONG", "the moved redis")
    assert redis_info(moved)["run_id"] == run_id, "the same server process, restored, not a fresh start"
    assert redis_intact(moved, 1, 5000) == 5000
    size = aof_bytes(moved)
    assert fill_redis(moved, 5_001, 5_100) == 100
    assert "aof_last_write_status:ok" in redis_cli(moved, "INFO", "persistence")
    assert aof_bytes(moved) > size, "the moved server goes on appending to the file it brought along"
    names = [p["name"] for p in job.phases]
    assert {"checkpoint", "export", "import", "transfer", "restore"} <= set(names)
    assert job.result["downtime_seconds"] > 0 and job.result["source_removed"] is True
    moved.remove(force=True)


def test_a_clone_on_another_host_gets_the_services_files_and_its_connection(
    people, host_a, host_b, daemon_a, daemon_b, origin
):
    service = daemon_a.run_pingpong()
    row = synced_container(host_a, service)
    before = wait_for_pingpong(service, 3)
    service.exec_run(["sh", "-c", "echo written-by-the-service > /kept.txt"])
    _files_known(host_a, service)
    succeeded(ask.checkpoint(people.otto, "test-a", row.name, name="pp", leave_running=True, origin=origin))
    job = succeeded(ask.clone(people.otto, "test-a", row.name, "pp", to="test-b", name=f"{row.name}-copy",
                              origin=origin), timeout=180)
    copy = daemon_b.client.containers.get(f"{row.name}-copy")
    log = wait_for_pingpong(copy, before.last_tick + 3)
    assert not log.broken, log.broken
    assert {c[0] for c in log.connects} <= {c[0] for c in before.connects}, "the same connection, not a new one"
    assert copy.exec_run(["cat", "/kept.txt"]).output.strip() == b"written-by-the-service"
    service.reload()
    assert service.status == "running", "the source was paused for the copy of its files, then went on"
    assert pingpong_log(service).last_tick > before.last_tick
    assert job.result["target_container"] == f"{row.name}-copy"
    copy.remove(force=True)


def test_a_container_with_a_named_volume_is_refused_before_anything_stops(
    people, host_a, host_b, daemon_a, origin
):
    volume = daemon_a.client.volumes.create(labels={"cryo.test": "1"})
    try:
        server = daemon_a.client.containers.run(
            daemon_a.service_image("redis"), AOF, detach=True, network_mode="none",
            labels={"cryo.test": "1"}, volumes={volume.name: {"bind": "/data", "mode": "rw"}},
        )
        wait_until(lambda: Container.objects.filter(host=host_a, engine_id=server.id,
                                                    config__mounts__0__type="volume").exists(),
                   30, "the mount in the inventory")
        with pytest.raises(InvalidRequest, match=f"the named volume {volume.name} at /data: their contents do not "
                                                 "travel"):
            ask.migrate(people.otto, "test-a", server.name, to="test-b", origin=origin)
        assert not Job.objects.filter(kind="migrate").exists()
        server.reload()
        assert server.status == "running"
        server.remove(force=True)
    finally:
        volume.remove(force=True)


def aof_bytes(container):
    code, out = container.exec_run(["sh", "-c", "cat /data/appendonlydir/*.incr.aof | wc -c"])
    assert code == 0, out
    return int(out.decode().strip())


def ask_preflight(container, target):
    from snapshots import services

    return services.migration_preflight(container, target)
