"""A job that CRIU fails says what CRIU said, not just where its log was: a dump refused by the ghost-file limit,
and a restore of a process whose open file is gone."""
import contextlib
import os
import time
import uuid

import pytest

from snapshots.models import Job

from ..conftest import synced_container
from ..harness import ask
from ..harness.engine import IMAGE
from ..harness.jobs import succeeded, wait_for_job

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]

GHOST = "dd if=/dev/zero of=/tmp/big bs=1M count=2 2>/dev/null; exec 3</tmp/big; rm /tmp/big; exec sleep 100000"
HOLDS = "echo hi > /tmp/held; exec 3</tmp/held; exec sleep 100000"


@contextlib.contextmanager
def shell(daemon, host, command):
    container = daemon.client.containers.run(IMAGE, ["sh", "-c", command], name=f"words-{uuid.uuid4().hex[:8]}",
                                             detach=True, network_mode="none", labels={"cryo.test": "1"})
    try:
        time.sleep(0.5)
        yield container, synced_container(host, container)
    finally:
        with contextlib.suppress(Exception):
            container.remove(force=True)


def test_a_checkpoint_refused_by_criu_fails_with_criu_s_own_words_and_the_container_runs_on(
    people, host_a, daemon_a, origin
):
    with shell(daemon_a, host_a, GHOST) as (container, row):
        job = wait_for_job(ask.checkpoint(people.otto, "test-a", row.name, name="ghost", origin=origin))
        assert job.state == Job.State.FAILED
        assert "CRIU said" in job.error and "Can't dump ghost file /tmp/big" in job.error, job.error
        container.reload()
        assert container.status == "running"


def test_a_restore_refused_by_criu_fails_with_criu_s_own_words(people, host_a, daemon_a, origin):
    with shell(daemon_a, host_a, HOLDS) as (container, row):
        succeeded(ask.checkpoint(people.otto, "test-a", row.name, name="holds", origin=origin))
        upper = container.client.api.inspect_container(container.id)["GraphDriver"]["Data"]["UpperDir"]
        os.unlink(os.path.join(upper, "tmp", "held"))  # the file the process holds open is gone from its layer
        synced_container(host_a, container, state="exited")
        job = wait_for_job(ask.restore(people.otto, "test-a", row.name, "holds", origin=origin))
        assert job.state == Job.State.FAILED
        assert "CRIU said" in job.error and "Can't open file tmp/held" in job.error, job.error
