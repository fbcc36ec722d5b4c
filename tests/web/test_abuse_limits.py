"""Abuse limits: jobs in flight per person and per host, one queued sync per host, checkpoints kept per container
(count and bytes), and a limit on refused requests. Each refusal says which limit, is on record, and creates
nothing."""
from collections import Counter
import json
from unittest import mock

import pytest

from snapshots.models import ApiToken, AuditEvent, Job

from .conftest import make_checkpoint, make_container

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client):
    def call(user, body, scope="operate"):
        _, token = ApiToken.issue(user, "t", scope=scope)
        return client.post("/api/v1/jobs", json.dumps(body), content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {token}")
    return call


def checkpoint_of(container):
    return {"kind": "checkpoint", "host": container.host.name, "container": container.name}


def refusals():
    return list(AuditEvent.objects.filter(outcome="refused").values_list("actor_name", "action", "host_name"))


def test_a_person_may_have_only_so_many_jobs_in_flight(api, fleet, people, settings):
    settings.CRYO_MAX_JOBS_PER_USER = 2
    more = [make_container(fleet.alpha, f"w-{i}") for i in range(3)]
    assert [api(people.otto, checkpoint_of(c)).status_code for c in more[:2]] == [202, 202]
    response = api(people.otto, checkpoint_of(more[2]))
    assert response.status_code == 429
    assert "otto has 2 jobs queued or running" in response.json()["error"]
    assert "CRYO_MAX_JOBS_PER_USER=2" in response.json()["error"]
    assert Job.objects.count() == 2
    assert refusals() == [("otto", "checkpoint", "alpha")]
    assert api(people.ada, checkpoint_of(more[2])).status_code == 202  # the limit is per person


def test_a_host_may_have_only_so_many_jobs_in_flight(api, fleet, people, settings):
    settings.CRYO_MAX_JOBS_PER_HOST = 2
    more = [make_container(fleet.alpha, f"w-{i}") for i in range(3)]
    api(people.otto, checkpoint_of(more[0]))
    api(people.ada, checkpoint_of(more[1]))
    response = api(people.ada, checkpoint_of(more[2]))
    assert response.status_code == 429 and "host alpha has 2 jobs" in response.json()["error"]
    assert Job.objects.count() == 2 and refusals() == [("ada", "checkpoint", "alpha")]
    assert api(people.ada, checkpoint_of(fleet.cache)).status_code == 202  # beta is another host


def test_a_migration_counts_against_its_target_host_too(api, fleet, people, settings):
    settings.CRYO_MAX_JOBS_PER_HOST = 1
    api(people.ada, checkpoint_of(fleet.cache))  # beta is full
    response = api(people.ada, {"kind": "migrate", "host": "alpha", "container": "web-1", "to": "beta"})
    assert response.status_code == 429, response.json()
    assert "host beta has 1 jobs" in response.json()["error"]
    assert Job.objects.count() == 1


def test_only_one_sync_of_a_host_waits_in_the_queue(api, fleet, people):
    first = api(people.otto, {"kind": "sync", "host": "alpha"})
    second = api(people.otto, {"kind": "sync", "host": "alpha"})
    assert first.status_code == 202 and second.status_code == 409
    assert f"already queued (job {first.json()['id'][:8]}" in second.json()["error"]
    assert Job.objects.filter(kind="sync").count() == 1
    assert refusals() == [("otto", "sync", "alpha")]
    Job.objects.filter(kind="sync").update(state=Job.State.RUNNING)  # once it runs, the next may wait
    assert api(people.otto, {"kind": "sync", "host": "alpha"}).status_code == 202


def test_two_hundred_syncs_in_a_row_queue_one(api, fleet, people):
    _, token = ApiToken.issue(people.otto, "flood", scope="operate")
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    codes = [client.post("/api/v1/jobs", '{"kind": "sync", "host": "alpha"}', content_type="application/json")
             .status_code for _ in range(200)]
    assert codes.count(202) == 1 and codes.count(409) == 199, sorted(Counter(codes).items())
    assert Job.objects.count() == 1


def test_the_sync_button_says_a_sync_is_queued(client, fleet, people):
    client.force_login(people.otto)
    assert client.post("/hosts/alpha/sync/").status_code == 302
    response = client.post("/hosts/alpha/sync/")
    assert response.status_code == 422 and b"already queued" in response.content
    assert Job.objects.count() == 1


def test_a_container_keeps_only_so_many_checkpoints(api, fleet, people, settings):
    settings.CRYO_CHECKPOINTS_PER_CONTAINER = 2
    make_checkpoint(fleet.web, "one")
    make_checkpoint(fleet.web, "two")
    response = api(people.otto, checkpoint_of(fleet.web))
    assert response.status_code == 429
    assert "keeps 2 checkpoints" in response.json()["error"] and "delete one first" in response.json()["error"]
    assert not Job.objects.exists() and refusals() == [("otto", "checkpoint", "alpha")]


def test_a_container_keeps_only_so_many_bytes_of_checkpoints(api, fleet, people, settings):
    settings.CRYO_CHECKPOINT_MIB_PER_CONTAINER = 30
    make_checkpoint(fleet.web, "one")  # 17 MB
    assert api(people.otto, checkpoint_of(fleet.web)).status_code == 202
    Job.objects.update(state=Job.State.SUCCEEDED)
    make_checkpoint(fleet.web, "two")  # 34 MB kept now
    response = api(people.otto, checkpoint_of(fleet.web))
    assert response.status_code == 429 and "CRYO_CHECKPOINT_MIB_PER_CONTAINER=30" in response.json()["error"]
    assert Job.objects.count() == 1


def test_a_deleted_checkpoint_frees_its_place(api, fleet, people, settings):
    settings.CRYO_CHECKPOINTS_PER_CONTAINER = 1
    gone = make_checkpoint(fleet.web, "one")
    gone.status = "deleted"
    gone.save()
    assert api(people.otto, checkpoint_of(fleet.web)).status_code == 202


def test_the_checkpoint_page_says_the_quota_is_reached(client, fleet, people, settings):
    settings.CRYO_CHECKPOINTS_PER_CONTAINER = 1
    make_checkpoint(fleet.web, "one")
    client.force_login(people.otto)
    response = client.post(f"/containers/{fleet.web.pk}/checkpoint/", {"name": "more"})
    assert response.status_code == 422 and b"delete one first" in response.content
    assert not Job.objects.exists()


# -- refused requests ------------------------------------------------------------------------------------
def test_too_many_refusals_are_answered_429_without_reaching_the_view(api, client, fleet, people, settings):
    settings.CRYO_REFUSAL_LIMIT = 5
    client.force_login(people.vic)
    codes = [client.post(f"/containers/{fleet.web.pk}/checkpoint/", {"name": f"n-{i}"}).status_code
             for i in range(8)]
    assert codes == [403] * 5 + [429] * 3
    assert AuditEvent.objects.filter(outcome="denied").count() == 5  # the view ran five times, then no more
    throttled = AuditEvent.objects.get(action="request.throttled")
    assert (throttled.actor_name, throttled.outcome) == ("vic", "refused")
    assert "too many refused requests" in throttled.details["reason"]
    assert not Job.objects.exists()
    response = client.get("/")
    assert response.status_code == 429 and b"try again in" in response.content and response["Retry-After"]


def test_guessing_tokens_is_throttled_by_address(client, fleet, people, settings):
    settings.CRYO_REFUSAL_LIMIT = 3
    for i in range(3):
        assert client.get("/api/v1/hosts", HTTP_AUTHORIZATION=f"Bearer cryo_guess{i}").status_code == 401
    _, good = ApiToken.issue(people.vic, "t", scope="read")
    response = client.get("/api/v1/hosts", HTTP_AUTHORIZATION=f"Bearer {good}")
    assert response.status_code == 429 and "too many refused requests" in response.json()["error"]
    throttled = AuditEvent.objects.get(action="request.throttled")
    assert (throttled.actor_name, throttled.details["by"]) == ("anonymous", "addr")


def test_the_count_starts_again_in_the_next_window(client, fleet, people, settings):
    settings.CRYO_REFUSAL_LIMIT, settings.CRYO_REFUSAL_WINDOW = 2, 60
    with mock.patch("dashboard.refusals.time.time", return_value=6000.0):
        assert [client.get("/api/v1/hosts").status_code for _ in range(3)] == [401, 401, 429]
    with mock.patch("dashboard.refusals.time.time", return_value=6061.0):
        assert client.get("/api/v1/hosts").status_code == 401


def test_allowed_requests_do_not_count(api, client, fleet, people, settings):
    settings.CRYO_REFUSAL_LIMIT = 2
    client.force_login(people.vic)
    assert all(client.get("/").status_code == 200 for _ in range(10))
