"""Only a worker with the enrollment token may serve a host, and only one worker serves a host."""
import pytest

from snapshots.models import Host

from ..harness.workers import WorkerProcess, wait_until
from ..conftest import HOST_A

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]


def test_a_worker_without_the_right_token_is_refused_and_no_host_appears(people, daemon_a, broker):
    from ..conftest import install_token

    install_token()
    worker = WorkerProcess("intruder", daemon_a.url, "not-the-token")
    worker.log_path.unlink(missing_ok=True)
    worker.start()
    wait_until(lambda: not worker.alive(), 60, "the worker to give up")
    assert worker.proc.returncode != 0
    assert "the enrollment token is missing or wrong" in worker.log_tail()
    assert not Host.all_objects.filter(name="intruder").exists()


def test_a_second_worker_for_a_host_with_a_live_worker_is_refused(people, host_a, daemon_a, broker):
    from ..conftest import TOKEN, install_token

    install_token()
    second = WorkerProcess(HOST_A, daemon_a.url, TOKEN)
    second.log_path = second.log_path.with_name("worker-test-a-second.log")
    second.log_path.unlink(missing_ok=True)
    second.start()
    wait_until(lambda: not second.alive(), 60, "the second worker to give up")
    assert f"host {HOST_A} already has a live worker" in second.log_tail()
    host_a.refresh_from_db()
    assert host_a.effective_status == "online"
