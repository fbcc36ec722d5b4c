"""The database refuses connections for 2 s and for 10 s while a large checkpoint runs: the outcome still
arrives (the agent retries it), no job stays running, and a waiting CLI says one clear line instead of crashing."""
import time

import pytest

from snapshots.models import Job

from ..conftest import HOST_A, running_counter
from ..harness import ask
from ..harness.jobs import succeeded
from ..harness.processes import wait_until
from .conftest import audited, record, settle

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("seconds", [2, 10])
def test_a_database_that_refuses_connections_during_a_checkpoint_loses_no_outcome(
    people, host_a, daemon_a, outage, origin, seconds
):
    with running_counter(daemon_a, host_a, mib=512) as (container, row):
        job = ask.checkpoint(people.otto, HOST_A, row.name, name=f"outage-{seconds}", leave_running=True,
                             origin=origin)
        wait_until(lambda: Job.objects.filter(pk=job.pk, phase="checkpoint").exists(), 60, "the checkpoint to start")
        outage.begin()
        time.sleep(seconds)
        outage.end()
        back = time.monotonic()
        took = settle(job, 120)
        assert job.state == Job.State.SUCCEEDED, (job.error, job.result)
        assert audited(job)
        record(f"database refusing connections for {seconds} s during a 512 MiB checkpoint", took,
               f"job {job.state} ({time.monotonic() - back:.1f} s after the database was back)")
        container.reload()
        assert container.status == "running"
        succeeded(ask.checkpoint(people.otto, HOST_A, row.name, name=f"after-{seconds}", leave_running=True,
                                 origin=origin))
