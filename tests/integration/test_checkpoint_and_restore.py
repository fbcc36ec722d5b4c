"""Otto checkpoints and restores real containers on a real engine, through the agent and the job pipeline."""
import pytest

from snapshots.models import AuditEvent, Checkpoint, Job

from ..harness.engine import counter_log, wait_for_ticks
from ..harness.jobs import succeeded, wait_for_job
from ..harness import ask

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]


def test_a_checkpoint_with_exit_then_restore_continues_the_count_with_memory_intact(people, host_a, counter_a, origin):
    engine_container, row = counter_a
    before = wait_for_ticks(engine_container, 5)
    seed = before.starts[0][0]

    job = ask.checkpoint(people.otto, host_a.name, row.name, name="frozen-1", origin=origin)
    job = succeeded(job)
    engine_container.reload()
    assert engine_container.status == "exited", "a checkpoint with exit stops the container"
    frozen_at = counter_log(engine_container).last_tick
    checkpoint = Checkpoint.objects.get(container=row, name="frozen-1")
    assert checkpoint.exit and checkpoint.status == "present"
    assert checkpoint.size_bytes and checkpoint.size_bytes > 16 * 1024 * 1024, "16 MiB of memory is in the image"
    assert checkpoint.created_by == people.otto and checkpoint.engine_facts["docker_version"]
    assert job.result["checkpoint_seconds"] > 0

    restore = succeeded(ask.restore(people.otto, host_a.name, row.engine_id[:12], "frozen-1",
                                                 origin=origin))
    after = wait_for_ticks(engine_container, frozen_at + 5)
    assert len(after.starts) == 1, "the program did not start over"
    assert after.seeds == {seed}, "the same process, with the memory it had, runs on"
    assert after.all_memory_ok, "every page holds the pattern written before the checkpoint"
    resumed = [n for n, _s, _ok in after.ticks if n > frozen_at]
    assert resumed[0] == frozen_at + 1, f"the count continues where it was frozen ({frozen_at}), got {resumed[:3]}"
    assert restore.result["restore_seconds"] > 0
    engine_container.reload()
    assert engine_container.status == "running"


def test_a_leave_running_checkpoint_keeps_the_container_running_and_restores_to_that_moment(
    people, host_a, counter_a, daemon_a, origin
):
    engine_container, row = counter_a
    wait_for_ticks(engine_container, 3)
    succeeded(ask.checkpoint(people.otto, host_a.name, row.name, name="live-1", leave_running=True,
                                          origin=origin))
    engine_container.reload()
    assert engine_container.status == "running"
    at_checkpoint = Checkpoint.objects.get(container=row, name="live-1")
    assert at_checkpoint.exit is False
    ticks_at_checkpoint = counter_log(engine_container).last_tick
    wait_for_ticks(engine_container, ticks_at_checkpoint + 5)
    engine_container.stop(timeout=5)
    stopped_at = counter_log(engine_container).last_tick

    from ..conftest import synced_container

    synced_container(host_a, engine_container, state="exited")
    succeeded(ask.restore(people.otto, host_a.name, row.name, "live-1", origin=origin))
    log = wait_for_ticks(engine_container, stopped_at + 3)
    assert len(log.starts) == 1 and log.all_memory_ok
    after_restore = [n for n, _s, _ok in log.ticks][len([1 for n, _s, _ok in log.ticks if True]) - 3:]
    assert after_restore[-1] > ticks_at_checkpoint
    # the restored process resumes from the checkpoint's moment: a tick number repeats after the stop
    numbers = [n for n, _s, _ok in log.ticks]
    assert numbers.count(ticks_at_checkpoint + 2) == 2 or numbers.count(ticks_at_checkpoint + 1) == 2


def test_deleting_a_checkpoint_removes_it_from_the_engine_and_marks_it_deleted(
    people, host_a, counter_a, daemon_a, origin
):
    engine_container, row = counter_a
    succeeded(ask.checkpoint(people.otto, host_a.name, row.name, name="gone-soon", leave_running=True,
                                          origin=origin))
    api = daemon_a.client.api
    assert [c["Name"] for c in api.get(api._url("/containers/{0}/checkpoints", engine_container.id)).json()] == [
        "gone-soon"
    ]
    succeeded(ask.delete_checkpoint(people.otto, host_a.name, row.name, "gone-soon", origin=origin))
    assert api.get(api._url("/containers/{0}/checkpoints", engine_container.id)).json() in ([], None)
    assert Checkpoint.objects.get(container=row, name="gone-soon").status == "deleted"


def test_jobs_and_audit_rows_carry_the_actor_and_the_outcome(people, host_a, counter_a, origin):
    _engine_container, row = counter_a
    job = succeeded(ask.checkpoint(people.ada, host_a.name, row.name, name="audited",
                                                leave_running=True, origin=origin))
    assert job.requested_by == people.ada and job.requested_by_name == "ada"
    assert job.source == "127.0.0.1" and job.started_at and job.finished_at and job.duration_ms is not None
    events = list(AuditEvent.objects.filter(job_id=job.id).order_by("at", "id"))
    assert [(e.actor_name, e.action, e.outcome) for e in events] == [
        ("ada", "checkpoint", "requested"),
        ("ada", "checkpoint", "succeeded"),
    ]
    assert events[0].host_name == host_a.name and events[0].container_name == row.name
    assert events[1].checkpoint_name == "audited" and events[1].request_id == events[0].request_id


def test_a_job_runs_on_its_hosts_agent_whose_environment_holds_only_the_dashboards_url(
    people, host_a, counter_a, origin, agent_a
):
    _engine_container, row = counter_a
    job = wait_for_job(ask.checkpoint(people.otto, host_a.name, row.name, leave_running=True, origin=origin))
    assert job.state == Job.State.SUCCEEDED
    assert f"job {job.id}: checkpoint step run" in agent_a.log_path.read_text(errors="replace")
    environ = agent_a.environ_of_running_process()
    assert set(environ) <= {"PATH", "HOME", "LANG", "CRYO_URL"}, environ
    assert not any(key in environ for key in ("DATABASE_URL", "CRYO_SECRET_KEY", "CRYO_BROKER_URL"))
    credential = agent_a.state_dir / "credential"
    assert credential.stat().st_mode & 0o777 == 0o600 and agent_a.state_dir.stat().st_mode & 0o777 == 0o700
