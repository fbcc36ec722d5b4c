import json

import pytest

from snapshots.models import AuditEvent, Job

from .conftest import HTMX

pytestmark = pytest.mark.django_db


def url(container):
    return f"/containers/{container.pk}/checkpoint/"


def test_an_operator_checkpoints_a_container(as_otto, fleet, django_capture_on_commit_callbacks, sent):
    with django_capture_on_commit_callbacks(execute=True):
        response = as_otto.post(url(fleet.web), {"name": "web-1-before-upgrade", "leave_running": "on"})
    assert response.status_code == 302 and response.url == f"/containers/{fleet.web.pk}/"
    job = Job.objects.get()
    assert (job.kind, job.checkpoint_name, job.params, job.requested_by_name) == (
        "checkpoint", "web-1-before-upgrade", {"leave_running": True}, "otto")
    assert job.source == "127.0.0.1" and job.request_id
    assert sent.call_args.args[:2] == (str(job.id), "cryo.host.alpha")
    event = AuditEvent.objects.get(job_id=job.id)
    assert (event.actor_name, event.outcome, event.request_id) == ("otto", "requested", job.request_id)


def test_with_htmx_it_answers_with_a_fresh_form_and_a_notification(as_otto, fleet):
    response = as_otto.post(url(fleet.web), {"name": "web-1-a"}, **HTMX)
    assert response.status_code == 200
    content = response.content.decode()
    assert content.lstrip().startswith('<form id="checkpoint-panel"') and 'value="web-1-20' in content
    events = json.loads(response["HX-Trigger"])
    assert events["cryo:notify"]["level"] == "success" and "web-1-a" in events["cryo:notify"]["text"]
    assert "cryo:jobs-changed" in events
    assert Job.objects.get().params == {"leave_running": False}


def test_an_invalid_name_is_shown_inline(as_otto, fleet):
    response = as_otto.post(url(fleet.web), {"name": "-bad name"}, **HTMX)
    assert response.status_code == 422
    assert "is not a valid checkpoint name" in response.content.decode()
    assert 'aria-invalid="true"' in response.content.decode()
    assert not Job.objects.exists()


def test_a_name_already_taken_is_refused_inline(as_otto, fleet):
    response = as_otto.post(url(fleet.db), {"name": "db-1-frozen"})
    assert response.status_code == 422
    assert "already has a checkpoint named" in response.content.decode()


def test_a_second_request_while_one_is_in_flight_says_busy(as_otto, fleet):
    fleet.checkpoint_job()
    response = as_otto.post(url(fleet.web), {"name": "web-1-b"}, **HTMX)
    assert response.status_code == 422
    assert "already has a job in flight" in json.loads(response["HX-Trigger"])["cryo:notify"]["text"]
    assert "already has a job in flight" in response.content.decode()


def test_a_stopped_container_cannot_be_checkpointed(as_otto, fleet):
    response = as_otto.post(url(fleet.db), {"name": "db-1-x"})
    assert response.status_code == 422 and "is not running" in response.content.decode()


def test_an_offline_host_is_refused_with_how_to_start_its_agent(as_otto, fleet):
    fleet.alpha.mark_offline("its agent stopped")
    response = as_otto.post(url(fleet.web), {"name": "web-1-c"})
    assert response.status_code == 422 and "start its agent (cryo-agent) on the host" in response.content.decode()


def test_a_viewer_gets_403_when_posting_a_checkpoint(as_vic, fleet):
    response = as_vic.post(url(fleet.web), {"name": "web-1-d"})
    assert response.status_code == 403
    assert not Job.objects.exists()
    event = AuditEvent.objects.get(action="checkpoint")
    assert (event.actor_name, event.action, event.outcome, event.host_name, event.container_name) == (
        "vic", "checkpoint", "denied", "alpha", "web-1")
    assert event.source == "127.0.0.1"


def test_an_operator_gets_403_on_a_host_not_granted_to_the_team(as_otto, fleet):
    assert as_otto.post(url(fleet.cache), {"name": "cache-1-a"}).status_code == 403
    assert AuditEvent.objects.get(action="checkpoint").outcome == "denied"


def test_a_refusal_over_htmx_carries_a_notification(as_vic, fleet):
    response = as_vic.post(url(fleet.web), {"name": "web-1-e"}, **HTMX)
    assert response.status_code == 403
    assert "vic may not checkpoint" in json.loads(response["HX-Trigger"])["cryo:notify"]["text"]


def test_it_rejects_get(as_otto, fleet):
    assert as_otto.get(url(fleet.web)).status_code == 405


def test_a_post_without_csrf_token_is_refused(client, people, fleet):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(people.otto)
    assert strict.post(url(fleet.web), {"name": "web-1-f"}).status_code == 403
    assert not Job.objects.exists()


def test_the_csrf_token_in_the_htmx_header_is_accepted(people, fleet):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(people.otto)
    page = strict.get(f"/containers/{fleet.web.pk}/")
    token = page.cookies["csrftoken"].value
    assert '"X-CSRFToken": "' in page.content.decode()
    response = strict.post(url(fleet.web), {"name": "web-1-g"}, HTTP_X_CSRFTOKEN=token, **HTMX)
    assert response.status_code == 200 and Job.objects.count() == 1
