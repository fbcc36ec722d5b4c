"""The role matrix, enforced in the service layer that the web, the CLI and the API share."""
from unittest import mock

import pytest

from snapshots import services
from snapshots.errors import AccessDenied
from snapshots.models import AuditEvent, Job
from snapshots.services.dispatch import send as real_send

from .fakes import online_host, running_container

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_broker():
    with mock.patch("snapshots.services.dispatch.send") as send:
        yield send


def test_otto_may_checkpoint_on_his_teams_host_and_the_task_goes_to_that_hosts_queue(people, origin, no_broker):
    host = people.grant(online_host("h1"))
    running_container(host)
    job = services.request_checkpoint(people.otto, "h1", "web", name="n1", origin=origin)
    assert job.state == Job.State.QUEUED and job.requested_by == people.otto
    no_broker.assert_called_once_with(job.id, "cryo.host.h1", job.expires_at)


def test_otto_is_denied_on_a_host_not_granted_to_his_team_and_it_is_audited(people, origin):
    online_host("h2")
    running_container(online_host("h3"))
    with pytest.raises(AccessDenied, match="otto may not checkpoint on host h3"):
        services.request_checkpoint(people.otto, "h3", "web", origin=origin)
    denied = AuditEvent.objects.get(outcome="denied")
    assert (denied.actor_name, denied.action, denied.host_name) == ("otto", "checkpoint", "h3")
    assert not Job.objects.exists()


def test_vic_the_viewer_may_not_checkpoint_restore_or_delete_anywhere(people, origin):
    host = people.grant(online_host("h1"))
    running_container(host)
    for call in (
        lambda: services.request_checkpoint(people.vic, "h1", "web", origin=origin),
        lambda: services.request_restore(people.vic, "h1", "web", "c1", origin=origin),
        lambda: services.request_delete_checkpoint(people.vic, "h1", "web", "c1", origin=origin),
    ):
        with pytest.raises(AccessDenied):
            call()
    assert AuditEvent.objects.filter(actor_name="vic", outcome="denied").count() == 3


def test_ada_the_admin_may_act_on_every_host(people, origin):
    running_container(online_host("h9"))
    assert services.request_checkpoint(people.ada, "h9", "web", origin=origin).requested_by == people.ada


def test_a_job_row_and_its_audit_row_are_written_together(people, origin):
    running_container(people.grant(online_host("h1")))
    job = services.request_checkpoint(people.otto, "h1", "web", name="n2", origin=origin)
    event = AuditEvent.objects.get(job_id=job.id)
    assert (event.outcome, event.actor, event.checkpoint_name, event.source) == (
        "requested", people.otto, "n2", "127.0.0.1")


def test_an_offline_host_is_refused_up_front_with_how_to_start_its_worker(people, origin):
    from datetime import timedelta

    from django.utils import timezone

    host = people.grant(online_host("h1", last_seen=timezone.now() - timedelta(minutes=5)))
    running_container(host)
    with pytest.raises(services.requests.InvalidRequest, match="host h1 is offline .*cryo worker --host h1"):
        services.request_checkpoint(people.otto, "h1", "web", origin=origin)
    assert not Job.objects.exists()


def test_a_host_without_experimental_docker_or_criu_is_refused_with_the_reason(people, origin):
    running_container(people.grant(online_host("h1", experimental=False, criu_ok=False, criu_message="no criu")))
    with pytest.raises(services.requests.InvalidRequest,
                       match="not experimental.*CRIU is missing or `criu check` fails"):
        services.request_checkpoint(people.otto, "h1", "web", origin=origin)


def test_a_broker_that_cannot_be_reached_fails_the_job_instead_of_leaving_it_queued(people, origin, no_broker):
    running_container(people.grant(online_host("h1")))
    no_broker.side_effect = real_send
    with mock.patch("snapshots.tasks.run_job.apply_async", side_effect=ConnectionError("refused")):
        job = services.request_checkpoint(people.otto, "h1", "web", origin=origin)
    job.refresh_from_db()
    assert job.state == Job.State.FAILED and "could not send the job to the broker" in job.error
