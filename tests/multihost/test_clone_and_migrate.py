"""Otto moves containers between two real Docker daemons, each served by its own agent process."""
import pytest

from snapshots.errors import InvalidRequest
from snapshots.models import AuditEvent, Container, Job

from ..conftest import synced_container
from ..harness.engine import counter_log, wait_for_ticks
from ..harness.jobs import succeeded, wait_for_job
from ..harness import ask

pytestmark = [pytest.mark.engine, pytest.mark.multihost, pytest.mark.django_db(transaction=True)]


def continued(log, seed, after_tick):
    """The process runs on: same seed, no fresh start, memory intact, count past the frozen tick."""
    return (not log.starts and log.seeds == {seed} and log.all_memory_ok and log.ticks
            and log.ticks[0][0] > 1 and log.last_tick > after_tick)


def test_a_clone_on_the_same_host_is_a_new_container_that_continues_from_the_checkpoint(
    people, host_a, counter_a, daemon_a, origin
):
    engine_container, row = counter_a
    seed = wait_for_ticks(engine_container, 4).starts[0][0]
    succeeded(ask.checkpoint(people.otto, "test-a", row.name, name="base", leave_running=True,
                                          origin=origin))
    job = succeeded(ask.clone(people.otto, "test-a", row.name, "base", name=f"{row.name}-twin",
                                           origin=origin))
    twin = daemon_a.client.containers.get(f"{row.name}-twin")
    log = wait_for_ticks(twin, 8)
    assert continued(log, seed, 4), log
    engine_container.reload()
    assert engine_container.status == "running", "the source keeps running"
    assert job.result["target_container"] == f"{row.name}-twin"
    twin.remove(force=True)


def test_a_migration_moves_the_running_process_to_the_other_host_and_removes_the_source(
    people, host_a, host_b, counter_a, daemon_a, daemon_b, origin
):
    engine_container, row = counter_a
    seed = wait_for_ticks(engine_container, 4).starts[0][0]
    job = succeeded(ask.migrate(people.otto, "test-a", row.name, to="test-b", origin=origin))
    frozen_at = counter_log(engine_container).last_tick if _exists(daemon_a, engine_container.id) else None
    moved = daemon_b.client.containers.get(row.name)
    log = wait_for_ticks(moved, (frozen_at or 4) + 5)
    assert continued(log, seed, frozen_at or 4), log
    if frozen_at is not None:
        assert log.ticks[0][0] == frozen_at + 1
    assert not _exists(daemon_a, engine_container.id), "the source is removed after a successful migration"
    names = [p["name"] for p in job.phases]
    # the image goes into the store (once per image) before the freeze; the archive is written while the target
    # imports, and the target restores once it has read it all
    assert sorted(names) == sorted(["image", "checkpoint", "export", "import", "transfer", "restore", "cleanup"])
    order = names.index
    assert order("image") < order("checkpoint") < order("export") and order("checkpoint") < order("import")
    assert order("import") < order("transfer") < order("restore") < order("cleanup")
    assert all(p["seconds"] is not None for p in job.phases)
    assert 0 < job.result["downtime_seconds"] < 60
    assert job.result["source_removed"] is True
    assert synced_container(host_b, moved).name == row.name
    event = AuditEvent.objects.get(job_id=job.id, outcome="succeeded")
    assert (event.action, event.host_name, event.target_host_name, event.actor_name) == (
        "migrate", "test-a", "test-b", "otto")
    moved.remove(force=True)


def test_a_migration_can_keep_the_stopped_source(people, host_a, host_b, counter_a, daemon_a, daemon_b, origin):
    engine_container, row = counter_a
    wait_for_ticks(engine_container, 2)
    job = succeeded(ask.migrate(people.otto, "test-a", row.name, to="test-b", keep_source=True,
                                             origin=origin))
    engine_container.reload()
    assert engine_container.status == "exited"
    assert job.result["source_removed"] is False
    daemon_b.client.containers.get(row.name).remove(force=True)


def test_a_migration_to_a_host_whose_agent_died_fails_fast_and_the_source_runs_again(
    people, host_a, host_b, counter_a, agent_b, origin
):
    engine_container, row = counter_a
    seed = wait_for_ticks(engine_container, 3).starts[0][0]
    job = ask.migrate(people.otto, "test-a", row.name, to="test-b", origin=origin)
    agent_b.kill()
    job = wait_for_job(job, timeout=60)
    assert job.state == Job.State.FAILED
    assert "migration to test-b failed" in job.error
    assert "was restored on test-a from checkpoint" in job.error and "is running again" in job.error
    engine_container.reload()
    assert engine_container.status == "running"
    log = wait_for_ticks(engine_container, counter_log(engine_container).last_tick + 3)
    assert len(log.starts) == 1 and log.seeds == {seed} and log.all_memory_ok


def test_a_migration_to_an_offline_host_is_refused_before_anything_is_frozen(
    people, host_a, host_b, counter_a, agent_b, origin
):
    _c, row = counter_a
    agent_b.stop()
    with pytest.raises(InvalidRequest, match="host test-b is offline"):
        ask.migrate(people.otto, "test-a", row.name, to="test-b", origin=origin)
    assert not Job.objects.filter(kind="migrate").exists()


def test_a_tampered_archive_is_refused_and_nothing_is_created_on_the_target(
    people, host_a, host_b, counter_a, daemon_b, origin
):
    from snapshots import store

    _c, row = counter_a
    succeeded(ask.checkpoint(people.otto, "test-a", row.name, name="sealed", leave_running=True,
                                          origin=origin))
    exported = succeeded(ask.export(people.otto, "test-a", row.name, "sealed", origin=origin))
    path = store.storage().path(exported.result["archive"])
    data = bytearray(open(path, "rb").read())
    assert data.startswith(b"CRYOSL01"), "the store holds the archive sealed"
    data[len(data) // 2] ^= 0xFF
    open(path, "wb").write(bytes(data))
    before = {c.id for c in daemon_b.client.containers.list(all=True)}
    job = wait_for_job(ask.clone(people.otto, "test-a", row.name, "sealed", to="test-b",
                                              name="tampered-copy", origin=origin))
    assert job.state == Job.State.FAILED
    assert "failed authentication" in job.error
    assert {c.id for c in daemon_b.client.containers.list(all=True)} == before


def test_a_job_that_expired_in_its_queue_is_not_run_late(people, host_a, host_b, agent_b, settings, origin):
    import os
    import signal
    import time

    settings.CRYO_JOB_QUEUE_EXPIRY = 2
    os.killpg(agent_b.proc.pid, signal.SIGSTOP)
    try:
        job = ask.sync(people.otto, "test-b", origin=origin)
        time.sleep(3)
    finally:
        os.killpg(agent_b.proc.pid, signal.SIGCONT)
    job = wait_for_job(job, timeout=30)
    assert job.state == Job.State.FAILED and job.error.startswith("expired")
    assert job.started_at is None


def test_a_forged_message_makes_no_agent_run_another_hosts_job_and_the_attempt_is_audited(
    people, host_a, host_b, agent_b, origin
):
    import time

    from snapshots.jobs import outbox
    from snapshots.models import AuditEvent

    job = ask.sync(people.otto, "test-a", origin=origin)
    wait_for_job(job)
    queued = Job.objects.create(kind="sync", host=host_a, step_host=host_a, requested_by_name="otto", source="test")
    for job_id in (queued.id, job.id, "00000000-0000-4000-8000-000000000000"):  # another host's, finished, unknown
        outbox.publish(str(job_id), host_b.queue)
    time.sleep(3)
    queued.refresh_from_db()
    assert (queued.state, queued.claimed_by) == (Job.State.QUEUED, ""), "test-b's agent could not take it"
    denied = AuditEvent.objects.filter(outcome="denied", action="agent.claim")
    assert {(d.actor_name, d.host_name) for d in denied} == {("agent:test-b", "test-b")}
    assert sorted(str(j) in d.details["reason"] for d in denied for j in (queued.id, job.id)).count(True) == 2
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED and AuditEvent.objects.filter(job_id=job.id).count() == 2
    outbox.publish(str(queued.id), host_a.queue)
    queued = wait_for_job(queued)
    host_a.refresh_from_db()
    assert queued.state == Job.State.SUCCEEDED and queued.claimed_by == ""


def _exists(daemon, container_id):
    try:
        daemon.client.containers.get(container_id)
        return True
    except Exception:
        return False


def test_the_inventory_of_each_host_lists_only_its_own_containers(host_a, host_b, counter_a, daemon_b):
    _c, row = counter_a
    assert Container.objects.filter(host=host_a, engine_id=row.engine_id).exists()
    assert not Container.objects.filter(host=host_b, engine_id=row.engine_id).exists()


def test_a_clone_to_a_host_without_the_image_copies_the_image_through_the_store(
    people, host_a, host_b, counter_a, daemon_b, origin
):
    engine_container, row = counter_a
    seed = wait_for_ticks(engine_container, 3).starts[0][0]
    succeeded(ask.checkpoint(people.otto, "test-a", row.name, name="portable", leave_running=True,
                                          origin=origin))
    for container in daemon_b.client.containers.list(all=True, filters={"ancestor": "cryo-counter:1"}):
        container.remove(force=True)
    daemon_b.client.images.remove("cryo-counter:1", force=True)
    try:
        job = succeeded(ask.clone(people.otto, "test-a", row.name, "portable", to="test-b",
                                               name="portable-copy", origin=origin))
        assert "image" in [p["name"] for p in job.phases]
        copy = daemon_b.client.containers.get("portable-copy")
        log = wait_for_ticks(copy, 6)
        assert not log.starts and log.seeds == {seed} and log.all_memory_ok
        assert daemon_b.client.images.get("cryo-counter:1").id == engine_container.image.id
        copy.remove(force=True)
    finally:
        from ..harness.engine import BUILD_IMAGE, IMAGE
        import subprocess

        subprocess.run(["bash", str(BUILD_IMAGE), daemon_b.url, IMAGE], check=True, capture_output=True)
