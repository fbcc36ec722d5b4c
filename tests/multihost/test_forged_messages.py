"""A task message names a job and nothing more, and the dashboard alone says what it means. Messages forged onto
host A's queue (as a thief of the dashboard's publishing credential, or a replay, would put them there) for a
job that does not exist, for host B's job, and for A's own job that already ended make A's agent do nothing:
its claims are refused (the claim of B's job audited as denied), A's container and checkpoints stay as they
were, and B still runs its own job."""
import time
import uuid

import pytest

from snapshots.host.engine import Engine
from snapshots.jobs import outbox
from snapshots.models import AuditEvent, Checkpoint, Job

from ..conftest import HOST_A, HOST_B, running_counter
from ..harness import ask
from ..harness.engine import counter_log, wait_for_ticks
from ..harness.jobs import succeeded
from ..harness.processes import wait_until

pytestmark = [pytest.mark.engine, pytest.mark.multihost, pytest.mark.django_db(transaction=True)]


def snapshot_of(job):
    job.refresh_from_db()
    return (job.state, job.step, job.claimed_by, job.phases, job.result, job.finished_at)


def test_messages_forged_onto_host_as_queue_make_its_agent_do_nothing_the_dashboard_did_not_ask(
    people, host_a, host_b, agent_a, daemon_a, daemon_b, broker, origin
):
    with running_counter(daemon_a, host_a) as (engine_a, row_a), running_counter(daemon_b, host_b) as (_e, row_b):
        wait_for_ticks(engine_a, 2)
        ended = succeeded(ask.checkpoint(people.otto, HOST_A, row_a.name, name="ended", leave_running=True,
                                         origin=origin))
        ended_before = snapshot_of(ended)
        checkpoints_before = set(Checkpoint.objects.filter(container=row_a).values_list("name", "status", "deleted_at"))
        engine = Engine(daemon_a.url)
        on_engine_before = sorted(engine.checkpoints(engine_a.id))
        jobs_before = Job.objects.count()

        theirs = ask.checkpoint(people.otto, HOST_B, row_b.name, name="bs-own", leave_running=True, origin=origin)
        nowhere = str(uuid.uuid4())
        for job_id in (nowhere, str(theirs.id), str(ended.id)):
            assert outbox.publish(job_id, host_a.queue), "the broker took the forged message"

        theirs = succeeded(theirs)
        assert {p["host"] for p in theirs.phases} == {HOST_B}, "host B ran its own job, and only B"
        def refused_on_record():
            rows = AuditEvent.objects.filter(actor_name=f"agent:{HOST_A}", outcome="denied", action="agent.claim")
            return any(str(theirs.id) in (row.details or {}).get("path", "") for row in rows)

        wait_until(refused_on_record, 30, "host A's refused claim of B's job on record")
        wait_until(lambda: broker.llen(host_a.queue) == 0, 30, "host A's queue drained")
        time.sleep(2)  # the last message taken: its claim answered

        assert snapshot_of(ended) == ended_before, "a job that ended does not run again"
        assert not Job.objects.filter(pk=nowhere).exists()
        assert Job.objects.count() == jobs_before + 1, "no job but B's own was made"
        checkpoints = set(Checkpoint.objects.filter(container=row_a).values_list("name", "status", "deleted_at"))
        assert checkpoints == checkpoints_before
        assert sorted(engine.checkpoints(engine_a.id)) == on_engine_before, "nothing was checkpointed on A's engine"
        engine_a.reload()
        log = counter_log(engine_a)
        assert engine_a.status == "running" and len(log.starts) == 1, "A's container ran on, untouched"
        assert agent_a.alive(), "A's agent shrugged the messages off"
