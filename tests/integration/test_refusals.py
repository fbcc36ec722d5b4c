"""Bad requests get a clear error and lose nothing: no job for what can be refused up front."""
import pytest

from snapshots.errors import Busy, InvalidRequest
from snapshots.models import Checkpoint, Job

from ..harness.jobs import succeeded, wait_for_job
from ..harness import ask

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]


def test_restoring_a_running_container_is_refused_with_advice_and_no_job(people, host_a, counter_a, origin):
    _c, row = counter_a
    succeeded(ask.checkpoint(people.otto, host_a.name, row.name, name="snap", leave_running=True,
                                          origin=origin))
    with pytest.raises(InvalidRequest, match="is running; stop it before restoring it in place"):
        ask.restore(people.otto, host_a.name, row.name, "snap", origin=origin)
    assert not Job.objects.filter(kind="restore").exists()


def test_checkpointing_a_stopped_container_is_refused(people, host_a, counter_a, origin):
    engine_container, row = counter_a
    engine_container.stop(timeout=5)
    from ..conftest import synced_container

    synced_container(host_a, engine_container, state="exited")
    with pytest.raises(InvalidRequest, match="is not running .*only a running container can be checkpointed"):
        ask.checkpoint(people.otto, host_a.name, row.name, origin=origin)
    assert not Job.objects.exists()


def test_a_duplicate_checkpoint_name_is_refused_before_a_job_exists(people, host_a, counter_a, origin):
    _c, row = counter_a
    succeeded(ask.checkpoint(people.otto, host_a.name, row.name, name="dup", leave_running=True,
                                          origin=origin))
    with pytest.raises(InvalidRequest, match="already has a checkpoint named 'dup'"):
        ask.checkpoint(people.otto, host_a.name, row.name, name="dup", leave_running=True,
                                    origin=origin)
    assert Job.objects.count() == 1


def test_a_name_taken_on_the_engine_behind_cryos_back_fails_the_job_clearly(
    people, host_a, counter_a, daemon_a, origin
):
    engine_container, row = counter_a
    api = daemon_a.client.api
    response = api.post(api._url("/containers/{0}/checkpoints", engine_container.id),
                        json={"CheckpointID": "outside", "Exit": False})
    assert response.status_code == 201, response.text
    job = wait_for_job(ask.checkpoint(people.otto, host_a.name, row.name, name="outside",
                                                   leave_running=True, origin=origin))
    assert job.state == "failed"
    assert "already has a checkpoint named 'outside' on the engine" in job.error
    assert not Checkpoint.objects.filter(name="outside").exists()


@pytest.mark.parametrize("bad", ["x", "-lead", "has space", "semi;colon", "../../etc", "a" * 129, "ünicode"])
def test_checkpoint_names_outside_dockers_rule_are_refused_with_the_rule(people, host_a, counter_a, origin, bad):
    _c, row = counter_a
    with pytest.raises(InvalidRequest, match=r"\[a-zA-Z0-9\]\[a-zA-Z0-9_.-\]\+"):
        ask.checkpoint(people.otto, host_a.name, row.name, name=bad, origin=origin)
    assert not Job.objects.exists()


def test_unknown_hosts_containers_and_checkpoints_are_named_in_the_error(people, host_a, counter_a, origin):
    _c, row = counter_a
    with pytest.raises(InvalidRequest, match="unknown host 'nowhere' .known hosts: test-a"):
        ask.checkpoint(people.otto, "nowhere", row.name, origin=origin)
    with pytest.raises(InvalidRequest, match="no container 'ghost' on host test-a"):
        ask.checkpoint(people.otto, host_a.name, "ghost", origin=origin)
    with pytest.raises(InvalidRequest, match="no checkpoint 'never' of container .* .it has no checkpoints."):
        ask.restore(people.otto, host_a.name, row.name, "never", origin=origin)
    assert not Job.objects.exists()


def test_a_second_operation_on_a_busy_container_names_the_job_in_flight(people, host_a, daemon_a, origin):
    from ..conftest import running_counter

    with running_counter(daemon_a, host_a, mib=384) as (_big, row):
        first = ask.checkpoint(people.otto, host_a.name, row.name, name="slow", origin=origin)
        with pytest.raises(Busy, match=rf"already has a job in flight: checkpoint job {first.short_id} .*otto"):
            ask.checkpoint(people.ada, host_a.name, row.name, name="second", origin=origin)
        succeeded(first)
        assert Job.objects.count() == 1
