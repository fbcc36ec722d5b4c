"""The worker API, tried as an attacker holding host A's credential would: every move on host B, on a job's
shape, or after the credential's end is refused, audited where a person would want to know, and changes nothing."""
from datetime import timedelta

import pytest
from django.utils import timezone

from snapshots import services
from snapshots.models import (
    Archive, AuditEvent, Checkpoint, Container, Host, HostCredential, Job, JoinToken,
)
from snapshots.models.credentials import digest
from snapshots.services import Origin

from .conftest import make_container, make_host

pytestmark = pytest.mark.django_db
AGENT_A, AGENT_B = "host-a:1:aaaa", "host-b:2:bbbb"


@pytest.fixture(autouse=True)
def no_broker_users(monkeypatch):
    """Broker users are tried against the real Redis in tests/integration/test_broker_users.py."""
    monkeypatch.setattr("snapshots.agents.broker.ensure", lambda host, credential: None)
    monkeypatch.setattr("snapshots.agents.broker.remove", lambda name: None)


class Agents:
    def __init__(self, client, people):
        self.client = client
        self.a = people.grant(make_host("host-a", worker_id=AGENT_A))
        self.b = people.grant(make_host("host-b", worker_id=AGENT_B))
        _row, self.token_a = HostCredential.issue(self.a)
        _row, self.token_b = HostCredential.issue(self.b)
        self.web_b = make_container(self.b, "web-b")
        self.job_b = services.checkpoint(people.ada, self.web_b, name="b-1", origin=Origin(source="t"))

    def post(self, path, body, token=None):
        return self.client.post(f"/agent/v1{path}", body, content_type="application/json",
                                HTTP_AUTHORIZATION=f"Bearer {token or self.token_a}")


@pytest.fixture
def agents(client, people, sent):
    return Agents(client, people)


def _unchanged(job):
    fresh = Job.objects.get(pk=job.pk)
    return (fresh.state, fresh.step, fresh.claimed_by, fresh.phases, fresh.result) == (
        job.state, job.step, job.claimed_by, job.phases, job.result)


def test_host_a_cannot_claim_report_on_or_finish_a_job_of_host_b_and_each_try_is_audited(agents):
    job = agents.job_b
    for path, body in [
        ("claim", {"agent_id": AGENT_A}),
        ("phase", {"agent_id": AGENT_A, "step": "run", "name": "checkpoint"}),
        ("handoff", {"agent_id": AGENT_A, "step": "run", "result": {}}),
        ("finish", {"agent_id": AGENT_A, "step": "run", "outcome": "succeeded", "result": {"size_bytes": 1}}),
        ("finish", {"agent_id": AGENT_A, "step": "run", "outcome": "failed", "error": "forged"}),
    ]:
        response = agents.post(f"/jobs/{job.id}/{path}", body)
        assert response.status_code == 403, (path, response.content)
    assert _unchanged(job) and not Checkpoint.objects.exists()
    denied = AuditEvent.objects.filter(outcome="denied")
    assert denied.count() == 5 and {e.actor_name for e in denied} == {"agent:host-a"}


def test_host_a_cannot_touch_a_job_of_host_b_that_b_is_running(agents):
    job = agents.job_b
    assert agents.post(f"/jobs/{job.id}/claim", {"agent_id": AGENT_B}, agents.token_b).status_code == 200
    job.refresh_from_db()
    response = agents.post(f"/jobs/{job.id}/finish", {"agent_id": AGENT_B, "step": "run", "outcome": "failed",
                                                      "error": "forged with B's agent id"})
    assert response.status_code == 403 and _unchanged(job)


def test_a_late_report_from_an_agent_that_no_longer_holds_the_job_changes_nothing(agents):
    job = agents.job_b
    agents.post(f"/jobs/{job.id}/claim", {"agent_id": AGENT_B}, agents.token_b)
    job.refresh_from_db()
    response = agents.post(f"/jobs/{job.id}/finish", {"agent_id": "host-b:9:old", "step": "run",
                                                      "outcome": "succeeded"}, agents.token_b)
    assert response.status_code == 409 and _unchanged(job)


def test_an_agent_cannot_change_its_own_jobs_kind_container_or_paths(agents):
    job = agents.job_b
    order = agents.post(f"/jobs/{job.id}/claim", {"agent_id": AGENT_B}, agents.token_b).json()
    assert "/" not in str(order), "a work order carries names and ids, never paths"
    response = agents.post(f"/jobs/{job.id}/finish", {
        "agent_id": AGENT_B, "step": "run", "outcome": "succeeded", "kind": "restore",
        "result": {"size_bytes": 10}}, agents.token_b)
    assert response.status_code == 400 and "'kind'" in response.json()["error"]
    response = agents.post(f"/jobs/{job.id}/finish", {
        "agent_id": AGENT_B, "step": "run", "outcome": "succeeded",
        "result": {"size_bytes": 10, "kind": "restore", "container": "x", "path": "/etc", "host": "host-a"}},
        agents.token_b)
    assert response.status_code == 200
    job.refresh_from_db()
    assert (job.kind, job.container, job.host) == ("checkpoint", agents.web_b, agents.b)
    assert set(job.result) == {"checkpoint_seconds", "size_bytes", "exit"}


def test_host_a_cannot_write_host_bs_heartbeat_inventory_or_containers(agents):
    before = list(Container.objects.filter(host=agents.b).values_list("engine_id", "name", "state"))
    b_seen = Host.objects.get(pk=agents.b.pk).last_seen
    agents.post("/heartbeat", {"agent_id": AGENT_A, "facts": {"docker_version": "6.6.6"}})
    agents.post("/inventory", {"agent_id": AGENT_A, "containers": [
        {"id": agents.web_b.engine_id, "name": "hijacked", "state": "exited"}]})
    agents.post(f"/containers/{agents.web_b.engine_id}", {"agent_id": AGENT_A, "gone": True})
    assert list(Container.objects.filter(host=agents.b).values_list("engine_id", "name", "state")) == before
    b = Host.objects.get(pk=agents.b.pk)
    assert b.last_seen == b_seen and b.docker_version == "27.5.1"
    assert Host.objects.get(pk=agents.a.pk).docker_version == "6.6.6", "a host's reports land on itself only"


def test_hostile_inventory_rows_are_skipped_not_stored(agents):
    response = agents.post("/inventory", {"agent_id": AGENT_A, "containers": [
        {"id": "../../etc", "name": "x"}, {"id": "A" * 64, "name": "upper"}, {"id": "a" * 64, "name": "x" * 300},
        {"id": "b" * 64, "name": "fine", "state": "rm -rf", "config": {"network_mode": "host"}},
    ]})
    assert response.status_code == 200
    assert list(Container.objects.filter(host=agents.a).values_list("engine_id", "state")) == [("b" * 64, "")]
    assert Container.objects.get(host=agents.a).config["network_mode"] == "none"


def test_a_second_agent_process_of_a_live_host_is_refused(agents):
    response = agents.post("/hello", {"agent_id": "host-a:99:zzzz"})
    assert response.status_code == 409 and "already has a live agent" in response.json()["error"]
    assert Host.objects.get(pk=agents.a.pk).worker_id == AGENT_A


def test_a_spent_an_expired_or_a_revoked_join_token_is_refused_and_audited(client, people):
    host = make_host("fresh")
    _row, token = JoinToken.issue(host)
    first = client.post("/agent/v1/join", {"token": token}, content_type="application/json")
    assert first.status_code == 200 and first.json()["credential"].startswith("cryoh_")
    again = client.post("/agent/v1/join", {"token": token}, content_type="application/json")
    assert again.status_code == 400 and "already used" in again.json()["error"]
    row, expired = JoinToken.issue(host)
    JoinToken.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert "expired" in client.post("/agent/v1/join", {"token": expired}, content_type="application/json").json()[
        "error"]
    _row, replaced = JoinToken.issue(host)
    JoinToken.issue(host)
    assert "replaced or revoked" in client.post("/agent/v1/join", {"token": replaced},
                                                content_type="application/json").json()["error"]
    assert "unknown" in client.post("/agent/v1/join", {"token": "cryoj_guess"},
                                    content_type="application/json").json()["error"]
    assert HostCredential.objects.filter(host=host).count() == 1
    outcomes = list(AuditEvent.objects.filter(action="host.join").values_list("outcome", flat=True).order_by("id"))
    assert outcomes == ["succeeded", "denied", "denied", "denied", "denied"]


def test_joining_again_replaces_the_old_credential(client, people):
    host = make_host("fresh")
    _row, old = HostCredential.issue(host)
    _row, token = JoinToken.issue(host)
    new = client.post("/agent/v1/join", {"token": token}, content_type="application/json").json()["credential"]
    assert HostCredential.find(old) is None and HostCredential.find(new).host == host


def test_nothing_works_after_the_host_was_removed_or_its_credential_revoked(agents, people):
    assert agents.post("/heartbeat", {"agent_id": AGENT_A}).status_code == 200
    services.revoke_credential(people.ada, agents.a, origin=Origin(source="t"))
    assert agents.post("/heartbeat", {"agent_id": AGENT_A}).status_code == 401
    assert agents.post("/hello", {"agent_id": AGENT_A}).status_code == 401
    job = agents.job_b
    Job.objects.filter(pk=job.pk).update(state="failed")
    services.remove_host(people.ada, agents.b, origin=Origin(source="t"))
    response = agents.post(f"/jobs/{job.id}/claim", {"agent_id": AGENT_B}, agents.token_b)
    assert response.status_code == 401
    assert HostCredential.objects.live().count() == 0


def test_a_credential_is_stored_only_as_its_hash(agents):
    assert not HostCredential.objects.filter(token_hash=agents.token_a).exists()
    assert HostCredential.objects.filter(token_hash=digest(agents.token_a)).exists()


def test_rotation_hands_the_new_credential_to_the_holder_of_the_old_one_which_stops_once_it_is_used(agents, people):
    services.rotate_credential(people.ada, agents.a, origin=Origin(source="t"))
    answer = agents.post("/heartbeat", {"agent_id": AGENT_A}).json()
    new = answer["credential"]
    assert new.startswith("cryoh_") and agents.post("/heartbeat", {"agent_id": AGENT_A}).status_code == 200
    assert agents.post("/heartbeat", {"agent_id": AGENT_A}, token=new).status_code == 200
    assert agents.post("/heartbeat", {"agent_id": AGENT_A}).status_code == 401, "the old one stopped working"
    assert "credential" not in agents.post("/heartbeat", {"agent_id": AGENT_A}, token=new).json()
    assert [e.action for e in AuditEvent.objects.filter(action__startswith="host.").order_by("id")] == [
        "host.rotate", "host.credential"]


def test_a_host_may_write_only_the_archives_its_job_names_and_read_only_what_its_current_step_reads(agents):
    job = agents.job_b
    archive = Archive.objects.create(kind="checkpoint", job=job, writer=agents.b, name="checkpoints/host-b/x.tar.zst")
    put = agents.client.put(f"/agent/v1/archives/{archive.id}", b"stolen", content_type="application/octet-stream",
                            HTTP_AUTHORIZATION=f"Bearer {agents.token_a}")
    assert put.status_code == 403
    get = agents.client.get(f"/agent/v1/jobs/{job.id}/archives/{archive.id}",
                            HTTP_AUTHORIZATION=f"Bearer {agents.token_a}")
    assert get.status_code == 403
    get = agents.client.get(f"/agent/v1/jobs/{job.id}/archives/{archive.id}",
                            HTTP_AUTHORIZATION=f"Bearer {agents.token_b}")
    assert get.status_code == 403, "host-b's own job does not read this archive in its current step"
    archive.refresh_from_db()
    assert archive.state == "writing" and archive.size is None
