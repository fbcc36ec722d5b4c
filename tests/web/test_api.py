"""Automation drives Cryo through the JSON API with personal tokens; the same roles and audit apply."""
import json

import pytest

from snapshots.models import ApiToken, AuditEvent, Job

pytestmark = pytest.mark.django_db


@pytest.fixture
def token_of():
    def issue(user):
        return {"HTTP_AUTHORIZATION": f"Bearer {ApiToken.issue(user, 'ci')[1]}"}
    return issue


def post(client, url, data, auth):
    return client.post(url, json.dumps(data), content_type="application/json", **auth)


def test_otto_requests_a_checkpoint_and_follows_the_job(client, fleet, people, token_of, sent):
    auth = token_of(people.otto)
    response = post(client, "/api/v1/jobs", {"kind": "checkpoint", "host": "alpha", "container": "web-1",
                                             "name": "api-1", "leave_running": True}, auth)
    assert response.status_code == 202
    job = response.json()
    assert (job["kind"], job["state"], job["requested_by"], job["checkpoint"]) == ("checkpoint", "queued", "otto",
                                                                                     "api-1")
    assert response["Location"] == f"/api/v1/jobs/{job['id']}"
    assert client.get(response["Location"], **auth).json()["id"] == job["id"]
    event = AuditEvent.objects.get(job_id=job["id"])
    assert event.actor_name == "otto" and event.source == "api:127.0.0.1"


def test_without_a_valid_token_nothing_is_served(client, fleet, people):
    assert client.get("/api/v1/hosts").status_code == 401
    assert client.get("/api/v1/hosts", HTTP_AUTHORIZATION="Bearer cryo_wrong").status_code == 401
    row, token = ApiToken.issue(people.otto, "old")
    row.revoked_at = row.created_at
    row.save()
    assert client.get("/api/v1/hosts", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


def test_a_signed_in_browser_session_is_not_enough(client, fleet, people):
    client.force_login(people.ada)
    assert client.get("/api/v1/hosts").status_code == 401


def test_roles_apply_a_viewers_token_is_refused_and_audited(client, fleet, people, token_of):
    response = post(client, "/api/v1/jobs", {"kind": "checkpoint", "host": "alpha", "container": "web-1"},
                    token_of(people.vic))
    assert response.status_code == 403 and "vic may not checkpoint" in response.json()["error"]
    assert AuditEvent.objects.get(outcome="denied").source == "api:127.0.0.1"
    assert not Job.objects.exists()


@pytest.mark.parametrize("data,status,text", [
    ({"kind": "explode"}, 400, "'kind': Input should be 'checkpoint'"),
    ({"kind": "checkpoint", "host": "alpha"}, 400, "a container name or id is required"),
    ({"kind": "checkpoint", "host": "alpha", "container": "web-1", "leave_running": "false"}, 400,
     "'leave_running': Input should be a valid boolean"),
    ({"kind": "checkpoint", "host": "alpha", "container": True}, 400, "'container': Input should be a valid string"),
    ({"kind": "checkpoint", "host": "alpha", "container": "web-1", "surprise": 1}, 400, "'surprise'"),
    ({"kind": "checkpoint", "host": "nowhere", "container": "web-1"}, 400, "unknown host 'nowhere'"),
    ({"kind": "checkpoint", "host": "alpha", "container": "web-1", "name": "bad name"}, 400, "not a valid checkpoint"),
    ({"kind": "restore", "host": "alpha", "container": "web-1", "checkpoint": "nope"}, 400, "no checkpoint 'nope'"),
])
def test_bad_requests_get_a_clear_error_and_no_job(client, fleet, people, token_of, data, status, text):
    response = post(client, "/api/v1/jobs", data, token_of(people.ada))
    assert response.status_code == status and text in response.json()["error"]
    assert not Job.objects.exists()


def test_a_busy_container_answers_409_naming_the_job_in_flight(client, fleet, people, token_of):
    auth = token_of(people.ada)
    first = post(client, "/api/v1/jobs", {"kind": "checkpoint", "host": "alpha", "container": "web-1"}, auth).json()
    second = post(client, "/api/v1/jobs", {"kind": "checkpoint", "host": "alpha", "container": "web-1"}, auth)
    assert second.status_code == 409 and first["id"][:8] in second.json()["error"]


def test_inventory_reads(client, fleet, people, token_of):
    auth = token_of(people.vic)
    assert {h["name"] for h in client.get("/api/v1/hosts", **auth).json()} == {"alpha", "beta"}
    names = [c["name"] for c in client.get("/api/v1/hosts/alpha/containers", **auth).json()]
    assert sorted(names) == ["db-1", "web-1"]
    checkpoints = client.get("/api/v1/hosts/alpha/containers/db-1/checkpoints", **auth).json()
    assert [c["name"] for c in checkpoints] == ["db-1-frozen"]
    assert client.get("/api/v1/hosts/alpha/containers/ghost/checkpoints", **auth).status_code == 400
