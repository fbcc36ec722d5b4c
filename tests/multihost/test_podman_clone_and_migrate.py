"""Otto moves containers between two real Podman hosts, each served by its own agent: Podman's own checkpoint
archive travels through Cryo's store, verified, and carries the container's file-system changes."""
import pytest

from snapshots.errors import InvalidRequest
from snapshots.models import AuditEvent, Container, Job

from ..conftest import synced_container
from ..harness import ask
from ..harness.engine import counter_log, wait_for_ticks
from ..harness.jobs import succeeded, wait_for_job

pytestmark = [pytest.mark.engine, pytest.mark.multihost, pytest.mark.django_db(transaction=True)]


def continued(log, seed, after_tick):
    """The process runs on: same seed, no fresh start, memory intact, count past the frozen tick."""
    return (log.seeds == {seed} and log.all_memory_ok and log.ticks and log.last_tick > after_tick
            and len(log.starts) <= 1)


def exists(service, container_id):
    try:
        service.client.containers.get(container_id)
        return True
    except Exception:
        return False


def test_a_clone_on_the_same_podman_host_is_a_new_container_that_continues_from_the_checkpoint(
    people, pod_host_a, pod_counter_a, podman_a, origin
):
    engine_container, row = pod_counter_a
    seed = wait_for_ticks(engine_container, 4).starts[0][0]
    succeeded(ask.checkpoint(people.otto, "pod-a", row.name, name="base", leave_running=True, origin=origin))
    job = succeeded(ask.clone(people.otto, "pod-a", row.name, "base", name=f"{row.name}-twin", origin=origin))
    twin = podman_a.client.containers.get(f"{row.name}-twin")
    try:
        assert continued(wait_for_ticks(twin, 8), seed, 4)
        engine_container.reload()
        assert engine_container.status == "running", "the source keeps running"
        assert job.result["target_container"] == f"{row.name}-twin" and twin.id == job.result["target_container_id"]
    finally:
        twin.remove(force=True)


def test_a_migration_moves_the_process_and_its_files_to_the_other_podman_host_and_removes_the_source(
    people, pod_host_a, pod_host_b, pod_counter_a, podman_a, podman_b, origin
):
    engine_container, row = pod_counter_a
    seed = wait_for_ticks(engine_container, 4).starts[0][0]
    engine_container.exec_run(["sh", "-c", "echo made-on-a > /tmp/note"])
    job = succeeded(ask.migrate(people.otto, "pod-a", row.name, to="pod-b", origin=origin))
    moved = podman_b.client.containers.get(row.name)
    try:
        log = wait_for_ticks(moved, 8)
        assert continued(log, seed, 4), log
        assert moved.exec_run(["cat", "/tmp/note"]).output == b"made-on-a\n", "the file-system changes came along"
        assert not exists(podman_a, engine_container.id), "the source is removed after a successful migration"
        names = [p["name"] for p in job.phases]
        assert sorted(names) == sorted(["checkpoint", "export", "import", "transfer", "restore", "cleanup"]) or \
            sorted(names) == sorted(["image", "checkpoint", "export", "import", "transfer", "restore", "cleanup"])
        assert names.index("checkpoint") < names.index("import") < names.index("transfer") < names.index("restore")
        assert 0 < job.result["downtime_seconds"] < 60 and job.result["source_removed"] is True
        assert synced_container(pod_host_b, moved).name == row.name
        event = AuditEvent.objects.get(job_id=job.id, outcome="succeeded")
        assert (event.action, event.host_name, event.target_host_name) == ("migrate", "pod-a", "pod-b")
    finally:
        moved.remove(force=True)


def test_a_migration_can_keep_the_stopped_source(people, pod_host_a, pod_host_b, pod_counter_a, podman_b, origin):
    engine_container, row = pod_counter_a
    wait_for_ticks(engine_container, 2)
    job = succeeded(ask.migrate(people.otto, "pod-a", row.name, to="pod-b", keep_source=True, origin=origin))
    engine_container.reload()
    assert engine_container.status == "exited" and job.result["source_removed"] is False
    podman_b.client.containers.get(row.name).remove(force=True)


def test_a_migration_to_a_podman_host_whose_agent_died_rolls_back_and_the_source_runs_again(
    people, pod_host_a, pod_host_b, pod_counter_a, pod_agent_b, origin
):
    engine_container, row = pod_counter_a
    seed = wait_for_ticks(engine_container, 3).starts[0][0]
    job = ask.migrate(people.otto, "pod-a", row.name, to="pod-b", origin=origin)
    pod_agent_b.kill()
    job = wait_for_job(job, timeout=90)
    assert job.state == Job.State.FAILED and "migration to pod-b failed" in job.error
    assert "was restored on pod-a from checkpoint" in job.error and job.result.get("rolled_back") is True
    engine_container.reload()
    assert engine_container.status == "running"
    log = wait_for_ticks(engine_container, counter_log(engine_container).last_tick + 3)
    assert len(log.starts) == 1 and log.seeds == {seed} and log.all_memory_ok


def test_a_tampered_podman_archive_is_refused_and_nothing_is_created_on_the_target(
    people, pod_host_a, pod_host_b, pod_counter_a, podman_b, origin
):
    from snapshots import store

    _c, row = pod_counter_a
    succeeded(ask.checkpoint(people.otto, "pod-a", row.name, name="sealed", leave_running=True, origin=origin))
    exported = succeeded(ask.export(people.otto, "pod-a", row.name, "sealed", origin=origin))
    path = store.storage().path(exported.result["archive"])
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0xFF
    open(path, "wb").write(bytes(data))
    before = {c.id for c in podman_b.client.containers.list(all=True)}
    job = wait_for_job(ask.clone(people.otto, "pod-a", row.name, "sealed", to="pod-b", name="tampered-copy",
                                 origin=origin))
    assert job.state == Job.State.FAILED and "failed authentication" in job.error
    assert {c.id for c in podman_b.client.containers.list(all=True)} == before


def test_a_clone_to_a_podman_host_without_the_image_copies_the_image_through_the_store(
    people, pod_host_a, pod_host_b, pod_counter_a, podman_b, origin
):
    engine_container, row = pod_counter_a
    seed = wait_for_ticks(engine_container, 3).starts[0][0]
    succeeded(ask.checkpoint(people.otto, "pod-a", row.name, name="portable", leave_running=True, origin=origin))
    for container in podman_b.client.containers.list(all=True):
        container.remove(force=True)
    podman_b.client.images.remove("localhost/cryo-counter:1", force=True)
    try:
        job = succeeded(ask.clone(people.otto, "pod-a", row.name, "portable", to="pod-b", name="portable-copy",
                                  origin=origin))
        assert "image" in [p["name"] for p in job.phases]
        copy = podman_b.client.containers.get("portable-copy")
        assert continued(wait_for_ticks(copy, 6), seed, 3)
        copy.remove(force=True)
    finally:
        podman_b.cli("tag", engine_container.image.id, "localhost/cryo-counter:1")
        if not podman_b.client.images.list(name="localhost/cryo-counter"):
            from ..harness.podman import start_podman

            start_podman(podman_b.name)  # builds the test image again


def test_a_migration_between_a_docker_and_a_podman_host_is_refused_before_anything_is_frozen(
    people, host_a, pod_host_b, counter_a, origin
):
    engine_container, row = counter_a
    with pytest.raises(InvalidRequest, match="test-a is a Docker host and pod-b a Podman host"):
        ask.migrate(people.otto, "test-a", row.name, to="pod-b", origin=origin)
    assert not Job.objects.filter(kind="migrate").exists()
    engine_container.reload()
    assert engine_container.status == "running"


def test_each_podman_hosts_inventory_lists_only_its_own_containers(pod_host_a, pod_host_b, pod_counter_a):
    _c, row = pod_counter_a
    assert Container.objects.filter(host=pod_host_a, engine_id=row.engine_id).exists()
    assert not Container.objects.filter(host=pod_host_b, engine_id=row.engine_id).exists()
