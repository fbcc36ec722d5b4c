"""The role matrix, enforced in the actions that the web, the CLI and the API share."""
from unittest import mock

import pytest

from snapshots import services
from snapshots.errors import AccessDenied, InvalidRequest
from snapshots.models import AuditEvent, Checkpoint, Job

from .fakes import online_host, running_container

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def sent():
    with mock.patch("snapshots.jobs.outbox.publish", return_value=True) as publish:
        yield publish


def test_otto_may_checkpoint_on_his_teams_host_and_the_message_goes_to_that_hosts_queue(people, origin, sent):
    web = running_container(people.grant(online_host("h1")))
    job = services.checkpoint(people.otto, web, name="n1", origin=origin)
    assert job.state == Job.State.QUEUED and job.requested_by == people.otto
    sent.assert_called_once_with(str(job.id), "cryo.host.h1")


def test_otto_is_denied_on_a_host_not_granted_to_his_team_and_it_is_audited(people, origin):
    web = running_container(online_host("h3"))
    with pytest.raises(AccessDenied, match="otto may not checkpoint on host h3"):
        services.checkpoint(people.otto, web, origin=origin)
    denied = AuditEvent.objects.get(outcome="denied")
    assert (denied.actor_name, denied.action, denied.host_name) == ("otto", "checkpoint", "h3")
    assert not Job.objects.exists()


def test_vic_the_viewer_may_not_checkpoint_restore_or_delete_anywhere(people, origin):
    web = running_container(people.grant(online_host("h1")))
    checkpoint = Checkpoint.objects.create(container=web, name="c1", exit=False)
    for call in (
        lambda: services.checkpoint(people.vic, web, origin=origin),
        lambda: services.restore(people.vic, checkpoint, origin=origin),
        lambda: services.delete_checkpoint(people.vic, checkpoint, origin=origin),
    ):
        with pytest.raises(AccessDenied):
            call()
    assert AuditEvent.objects.filter(actor_name="vic", outcome="denied").count() == 3
    assert not Job.objects.exists()


def test_a_clone_to_a_host_otto_may_not_operate_is_denied(people, origin):
    web = running_container(people.grant(online_host("h1")))
    other = online_host("h2")
    checkpoint = Checkpoint.objects.create(container=web, name="c1", exit=False)
    with pytest.raises(AccessDenied, match="host h2"):
        services.clone(people.otto, checkpoint, to=other, origin=origin)
    assert not Job.objects.exists()


def test_ada_the_admin_may_act_on_every_host(people, origin):
    web = running_container(online_host("h9"))
    assert services.checkpoint(people.ada, web, origin=origin).requested_by == people.ada


def test_a_job_row_and_its_audit_row_are_written_together(people, origin):
    web = running_container(people.grant(online_host("h1")))
    job = services.checkpoint(people.otto, web, name="n2", origin=origin)
    event = AuditEvent.objects.get(job_id=job.id)
    assert (event.outcome, event.actor, event.checkpoint_name, event.source) == (
        "requested", people.otto, "n2", "127.0.0.1")


def test_an_offline_host_is_refused_up_front_with_how_to_start_its_agent(people, origin):
    from datetime import timedelta

    from django.utils import timezone

    web = running_container(people.grant(online_host("h1", last_seen=timezone.now() - timedelta(minutes=5))))
    with pytest.raises(InvalidRequest, match="host h1 is offline .*start its agent"):
        services.checkpoint(people.otto, web, origin=origin)
    assert not Job.objects.exists()


def test_a_host_whose_agent_is_not_connected_to_the_broker_is_offline(people, origin):
    web = running_container(people.grant(online_host("h1", consumer_ok=False)))
    with pytest.raises(InvalidRequest, match="not connected to the broker"):
        services.checkpoint(people.otto, web, origin=origin)


def test_a_host_without_experimental_docker_or_criu_is_refused_with_the_reason(people, origin):
    web = running_container(people.grant(online_host("h1", experimental=False, criu_ok=False,
                                                     criu_message="no criu")))
    with pytest.raises(InvalidRequest, match="not experimental.*CRIU is missing or `criu check` fails"):
        services.checkpoint(people.otto, web, origin=origin)


def test_a_broker_that_cannot_be_reached_leaves_the_job_queued_for_the_control_process_to_send(people, origin):
    from snapshots.jobs import outbox

    web = running_container(people.grant(online_host("h1")))
    with mock.patch("snapshots.jobs.outbox.publish", wraps=outbox.publish) as publish, \
            mock.patch("celery.current_app.send_task", side_effect=ConnectionError("refused")):
        job = services.checkpoint(people.otto, web, origin=origin)
    assert publish.return_value is not True
    job.refresh_from_db()
    assert job.state == Job.State.QUEUED and job.send_count == 1
