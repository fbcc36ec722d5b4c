"""The job state machine: a step is claimed once, by the agent of its own host; outcomes move the job on; late,
repeated or misplaced reports change nothing; a lost agent's job is resolved by the control process."""
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from snapshots import control, services
from snapshots.jobs import transitions
from snapshots.models import AuditEvent, Checkpoint, Job

from .fakes import online_host, running_container

pytestmark = pytest.mark.django_db(transaction=True)
AGENT = "fake:1:abcd"


@pytest.fixture(autouse=True)
def sent():
    with mock.patch("snapshots.jobs.outbox.publish", return_value=True) as publish:
        yield publish


@pytest.fixture
def job(people, origin):
    web = running_container(people.grant(online_host("h1")))
    return services.checkpoint(people.otto, web, name="c1", origin=origin)


def test_a_new_job_names_its_first_step_and_its_host_and_goes_to_that_hosts_queue(job, sent):
    assert (job.state, job.step, job.step_host.name, job.claimed_by) == ("queued", "run", "h1", "")
    sent.assert_called_once_with(str(job.id), "cryo.host.h1")


def test_a_step_is_claimed_once_and_a_second_claim_by_the_same_agent_gets_the_same_order(job):
    _, order = transitions.claim(job.id, job.host, AGENT)
    assert order["kind"] == "checkpoint" and order["step"] == "run" and order["checkpoint"] == "c1"
    assert order["container"]["id"] == job.container.engine_id and "/" not in str(order)
    assert transitions.claim(job.id, job.host, AGENT)[1] == order
    with pytest.raises(transitions.Stale, match="already held by another agent process"):
        transitions.claim(job.id, job.host, "other:2:ffff")
    job.refresh_from_db()
    assert (job.state, job.claimed_by) == ("running", AGENT) and job.lease_until > timezone.now()


def test_the_agent_of_another_host_can_neither_claim_nor_report_and_nothing_changes(job):
    stranger = online_host("h2", worker_id="stranger:1:aaaa")
    with pytest.raises(transitions.NotYours):
        transitions.claim(job.id, stranger, "stranger:1:aaaa")
    transitions.claim(job.id, job.host, AGENT)
    for attempt in (
        lambda: transitions.complete(job.id, stranger, "stranger:1:aaaa", "run", {"size_bytes": 1}),
        lambda: transitions.fail(job.id, stranger, "stranger:1:aaaa", "run", "forged", {}),
        lambda: transitions.report_phase(job.id, stranger, "stranger:1:aaaa", "run", "checkpoint"),
    ):
        with pytest.raises(transitions.NotYours):
            attempt()
    job.refresh_from_db()
    assert (job.state, job.claimed_by, job.phases) == ("running", AGENT, [])
    assert not Checkpoint.objects.exists()


def test_a_success_records_the_checkpoint_the_outcome_and_its_audit_row_once(job):
    transitions.claim(job.id, job.host, AGENT)
    transitions.report_phase(job.id, job.host, AGENT, "run", "checkpoint")
    transitions.report_phase(job.id, job.host, AGENT, "run", "checkpoint", seconds=0.5)
    transitions.complete(job.id, job.host, AGENT, "run", {"size_bytes": 17_000_000, "checkpoint_seconds": 0.5,
                                                          "kind": "restore", "container": "other"})
    job.refresh_from_db()
    assert job.state == "succeeded" and job.result["size_bytes"] == 17_000_000 and job.kind == "checkpoint"
    assert [p["name"] for p in job.phases] == ["checkpoint"] and job.phases[0]["seconds"] == 0.5
    assert Checkpoint.objects.get(name="c1").size_bytes == 17_000_000
    with pytest.raises(transitions.Stale):
        transitions.complete(job.id, job.host, AGENT, "run", {"size_bytes": 1})
    assert list(AuditEvent.objects.filter(job_id=job.id).values_list("outcome", flat=True).order_by("id")) == [
        "requested", "succeeded"]


def test_a_report_of_the_wrong_type_is_dropped_not_trusted(job):
    transitions.claim(job.id, job.host, AGENT)
    transitions.complete(job.id, job.host, AGENT, "run", {"size_bytes": "a lot", "checkpoint_seconds": [1]})
    job.refresh_from_db()
    assert job.state == "succeeded" and job.result["size_bytes"] is None and job.result["checkpoint_seconds"] is None


def test_a_failure_ends_the_job_failed_with_the_hosts_words(job):
    transitions.claim(job.id, job.host, AGENT)
    transitions.fail(job.id, job.host, AGENT, "run", "CRIU failed: sockets: Can't get 1:16 opt", {})
    job.refresh_from_db()
    assert job.state == "failed" and job.error == "CRIU failed: sockets: Can't get 1:16 opt"
    assert AuditEvent.objects.filter(job_id=job.id, outcome="failed").exists()


def test_a_job_that_waited_past_its_expiry_is_not_run_late(job):
    Job.objects.filter(pk=job.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(transitions.Stale, match="expired"):
        transitions.claim(job.id, job.host, AGENT)
    job.refresh_from_db()
    assert job.state == "failed" and job.error.startswith("expired:") and job.started_at is None


def test_the_control_process_resolves_a_job_whose_agent_stopped_renewing_its_lease(job):
    transitions.claim(job.id, job.host, AGENT)
    assert transitions.renew(job.host, AGENT, [str(job.id)]) == [str(job.id)]
    assert control.lapse_leases(timezone.now()) == 0, "a renewed lease holds"
    Job.objects.filter(pk=job.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    job.host.last_seen = timezone.now() - timedelta(minutes=10)
    job.host.save()
    assert control.lapse_leases(timezone.now()) == 1
    job.refresh_from_db()
    assert job.state == "failed" and "stopped responding while the job was running" in job.error


def test_a_message_that_never_reached_the_agent_is_sent_again_while_its_step_waits(job, sent):
    sent.reset_mock()
    Job.objects.filter(pk=job.pk).update(sent_at=timezone.now() - timedelta(minutes=1))
    assert control.outbox.resend_waiting(queue_length=lambda queue: 1) == 0, "still in the queue: nothing lost"
    assert control.outbox.resend_waiting(queue_length=lambda queue: 0) == 1
    sent.assert_called_once_with(str(job.id), "cryo.host.h1")
    job.refresh_from_db()
    assert job.send_count == 2 and job.state == "queued"


def test_a_hand_off_said_twice_moves_the_job_on_once(people, origin):
    source, target = people.grant(online_host("h1")), people.grant(online_host("h2", worker_id="b:1:bbbb"))
    web = running_container(source)
    job = services.migrate(people.otto, web, to=target, origin=origin)
    transitions.claim(job.id, source, AGENT)
    facts = {"size_bytes": 5, "image": "cryo-counter:1", "source_config": {"cmd": ["/counter"], "network_mode": "host"}}
    transitions.complete(job.id, source, AGENT, "run", facts, early=True)
    transitions.complete(job.id, source, AGENT, "run", facts, early=True)
    job.refresh_from_db()
    assert (job.step, job.step_host, job.claimed_by) == ("import", target, "")
    assert job.params["source_config"]["network_mode"] == "none", "a host's network never travels"
    assert Checkpoint.objects.filter(container=web).count() == 1
