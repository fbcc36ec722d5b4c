"""An engine killed in the middle of a checkpoint, and a store that is full: the job says what happened to the
container, nothing half-written is left behind, and asking again works."""
import os
import subprocess
import time

import pytest

from snapshots.models import Archive, Checkpoint, Job

from ..conftest import HOST_A, running_counter, synced_container
from ..harness import ask
from ..harness.engine import INSTANCE
from ..harness.jobs import succeeded
from ..harness.processes import wait_until
from .conftest import audited, record, settle

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]


def test_an_engine_killed_mid_checkpoint_leaves_a_job_that_says_what_became_of_the_container(
    people, host_a, agent_a, daemon_a, origin
):
    with running_counter(daemon_a, host_a, mib=768) as (container, row):
        job = ask.checkpoint(people.otto, HOST_A, row.name, name="engine-died", origin=origin)
        wait_until(lambda: Job.objects.filter(pk=job.pk, phase="checkpoint").exists(), 60, "the checkpoint to start")
        time.sleep(1)
        pid = int(subprocess.run(["cat", f"/run/cryo-docker/{daemon_a.name}/docker.pid"], capture_output=True,
                                 text=True).stdout)
        subprocess.run(["kill", "-KILL", str(pid)], check=True)
        wait_until(lambda: not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split(") ")[1][0]
                   in "ZX", 30, "the engine to be gone")
        took = settle(job, 120)
        assert job.state == Job.State.FAILED and "cannot reach Docker" in job.error
        restarted = subprocess.run(["bash", str(INSTANCE), "start", daemon_a.name], capture_output=True, text=True,
                                   timeout=120)
        assert restarted.returncode == 0, restarted.stderr[-2000:]
        job = wait_until(lambda: Job.objects.filter(pk=job.pk).exclude(result__unresolved=True).first(), 180,
                         "the job to be settled once the engine is back")
        if job.state == Job.State.SUCCEEDED:
            said = "corrected: the dump had finished"
            assert Checkpoint.objects.get(container=row, name="engine-died").status == "present"
        else:
            assert "Then: when its host reported again, the container is" in job.error, job.error
            said = job.error.rsplit("Then: ", 1)[1]
            found = Checkpoint.objects.filter(container=row, name="engine-died").first()
            assert found is None or found.status in ("incomplete", "found"), "never offered unless complete"
        assert audited(job)
        record("engine (dockerd) killed during a 768 MiB checkpoint with exit, restarted", took, said)
        container.reload()
        if container.status != "running":
            container.start()
        synced_container(host_a, container)
        succeeded(ask.checkpoint(people.otto, HOST_A, row.name, name="after-engine", leave_running=True,
                                 origin=origin), timeout=180)


def test_a_full_store_is_answered_as_such_and_leaves_nothing_behind(
    people, host_a, daemon_a, small_store, origin
):
    with running_counter(daemon_a, host_a, mib=64) as (_container, row):
        succeeded(ask.checkpoint(people.otto, HOST_A, row.name, name="big", leave_running=True, origin=origin))
        started = time.monotonic()
        job = ask.export(people.otto, HOST_A, row.name, "big", origin=origin)
        took = settle(job, 60)
        assert job.state == Job.State.FAILED
        assert "the checkpoint store at" in job.error and "is full (needs about" in job.error, job.error
        assert list(small_store.iterdir()) == [], "no partial file stays"
        assert Archive.objects.get(job=job).state == "failed"
        assert audited(job)
        record("store full (20 MiB tmpfs) during the export of a 64 MiB checkpoint", took, job.error[:90])
        subprocess.run(["umount", "-l", str(small_store)], check=True)
        succeeded(ask.export(people.otto, HOST_A, row.name, "big", origin=origin))
        assert time.monotonic() - started < 120


def test_simultaneous_requests_on_one_container_run_exactly_one_and_the_other_is_refused_on_record(
    people, host_a, counter_a, dashboard
):
    import json
    import threading
    import urllib.request

    from snapshots.models import ApiToken, AuditEvent

    _c, row = counter_a
    _t, token = ApiToken.issue(people.otto, "race")
    answers, said = [], []

    def request(name):
        body = json.dumps({"kind": "checkpoint", "host": HOST_A, "container": row.name, "name": name,
                           "leave_running": True}).encode()
        req = urllib.request.Request(f"{dashboard.url}/api/v1/jobs", data=body, method="POST", headers={
            "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as response:
                answers.append(response.status)
        except urllib.error.HTTPError as exc:
            answers.append(exc.code)
            said.append(exc.read().decode())

    threads = [threading.Thread(target=request, args=(f"race-{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [202, 409], said
    job = Job.objects.get(container=row)
    assert settle(job, 60) is not None and job.state == Job.State.SUCCEEDED
    refused = AuditEvent.objects.get(outcome="refused", action="checkpoint")
    assert refused.actor_name == "otto" and "already has a job in flight" in refused.details["reason"]
    record("two simultaneous checkpoint requests on one container", 0.0, "one job ran, the other: 409, audited")
