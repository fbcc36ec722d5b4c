"""An agent killed (as a crash or an OOM kill would) at each phase of a checkpoint, a restore and a migration: the
job ends within a bound with the truth about the container, the container is usable, and asking again works."""
import time
from pathlib import Path

import pytest

from snapshots.models import Checkpoint, Job

from ..conftest import HOST_A, running_counter
from ..harness import ask
from ..harness.engine import counter_log, wait_for_ticks
from ..harness.jobs import succeeded
from ..harness.processes import wait_until
from .conftest import audited, record, settle

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]


def engine_restoring(container_id):
    """Whether the OCI runtime is restoring this container right now (runc's `restore` command for its id): from
    then on the engine finishes the restore whatever becomes of the agent that asked for it."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"restore" in args and any(container_id.encode() in a for a in args):
            return True
    return False


def kill_at(agent, job, phase, timeout=60, *, once=None):
    """Kill the agent once the job reached `phase` (and, given `once`, once that also holds), then start it again."""
    def reached():
        found = Job.objects.get(pk=job.pk)
        assert not found.is_terminal, f"the job ended before phase {phase}: {found.state} {found.error}"
        return found.phase == phase

    try:
        wait_until(reached, timeout, f"phase {phase}", interval=0.02)
    except AssertionError:
        found = Job.objects.get(pk=job.pk)
        raise AssertionError(f"phase {phase} not reached: {found.state} step {found.step} on {found.step_host} "
                             f"phase {found.phase!r} phases {[p['name'] for p in found.phases]}") from None
    if once is not None:
        wait_until(once, timeout, "the engine at work", interval=0.02)
    agent.kill()
    killed = time.monotonic()
    agent.start()  # as its service manager would, a moment later
    return killed


def test_an_agent_killed_mid_checkpoint_comes_back_and_the_job_is_settled_from_the_engine(
    people, host_a, agent_a, daemon_a, origin
):
    with running_counter(daemon_a, host_a, mib=512) as (container, row):
        job = ask.checkpoint(people.otto, HOST_A, row.name, name="mid-kill", leave_running=True, origin=origin)
        killed = kill_at(agent_a, job, "checkpoint")
        took = settle(job, 60)
        assert job.state == Job.State.FAILED and "restarted while the job was running" in job.error
        # the engine went on with the dump; the next inventory of the host settles the job from it
        job = wait_until(lambda: Job.objects.filter(pk=job.pk).exclude(result__unresolved=True).first(), 120,
                         "the job to be settled from the engine")
        assert job.state == Job.State.SUCCEEDED and "corrected" in job.result, (job.state, job.error, job.result)
        assert Checkpoint.objects.get(container=row, name="mid-kill").status == "present"
        assert audited(job)
        record("agent killed (SIGKILL) during a 512 MiB checkpoint, restarted", time.monotonic() - killed,
               f"failed at once ({took:.1f} s), corrected to succeeded from the engine")
        container.reload()
        assert container.status == "running"
        succeeded(ask.checkpoint(people.otto, HOST_A, row.name, name="again", leave_running=True, origin=origin))


def test_an_agent_killed_mid_restore_comes_back_and_the_restore_is_found_done(
    people, host_a, agent_a, daemon_a, origin
):
    with running_counter(daemon_a, host_a, mib=512) as (container, row):
        wait_for_ticks(container, 3)
        succeeded(ask.checkpoint(people.otto, HOST_A, row.name, name="to-restore", origin=origin), timeout=120)
        wait_until(lambda: not ask.resolve.container(host_a, row.name).is_running, 30, "the stop in the inventory")
        job = ask.restore(people.otto, HOST_A, row.name, "to-restore", origin=origin)
        # Killed once the runtime restores: killed before its request reached the engine, the agent would take the
        # restore with it (the job then fails, saying that the container is still stopped).
        killed = kill_at(agent_a, job, "restore", once=lambda: engine_restoring(container.id))
        job = wait_until(lambda: Job.objects.filter(pk=job.pk, state__in=Job.TERMINAL_STATES).exclude(
            result__unresolved=True).first(), 120, "the restore to be settled")
        assert job.state == Job.State.SUCCEEDED and "corrected" in job.result, (job.error, job.result)
        log = wait_for_ticks(container, counter_log(container).last_tick + 2)
        assert len(log.starts) == 1 and log.all_memory_ok, "the restored process goes on"
        assert audited(job)
        record("agent killed during a 512 MiB restore, restarted", time.monotonic() - killed,
               "corrected to succeeded: the container runs since the restore began")


def test_an_agent_killed_while_its_host_checkpoints_for_a_migration_brings_the_source_back(
    people, host_a, host_b, agent_a, daemon_a, origin
):
    with running_counter(daemon_a, host_a, mib=512) as (container, row):
        seed = wait_for_ticks(container, 3).starts[0][0]
        job = ask.migrate(people.otto, HOST_A, row.name, to="test-b", origin=origin)
        killed = kill_at(agent_a, job, "checkpoint")
        took = settle(job, 180)
        assert job.state == Job.State.FAILED and job.result.get("rolled_back"), (job.error, job.result)
        container.reload()
        assert container.status == "running", "the source runs again"
        log = wait_for_ticks(container, counter_log(container).last_tick + 2)
        assert log.seeds == {seed} and log.all_memory_ok
        assert audited(job)
        record("source agent killed during a migration's checkpoint, restarted", time.monotonic() - killed,
               f"rolled back in {took:.1f} s: the source runs again")


def test_a_target_agent_killed_mid_transfer_rolls_the_migration_back(
    people, host_a, host_b, agent_b, daemon_a, origin
):
    with running_counter(daemon_a, host_a, mib=256) as (container, row):
        seed = wait_for_ticks(container, 3).starts[0][0]
        job = ask.migrate(people.otto, HOST_A, row.name, to="test-b", origin=origin)
        kill_at(agent_b, job, "transfer", timeout=120)
        took = settle(job, 120)
        assert job.state == Job.State.FAILED and job.result.get("rolled_back"), (job.error, job.result)
        container.reload()
        assert container.status == "running"
        assert counter_log(container).seeds == {seed}
        record("target agent killed during a migration's transfer, restarted", took,
               "rolled back: the source runs again")
        assert audited(job)
