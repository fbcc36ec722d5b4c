import json

import pytest

from snapshots.models import AuditEvent, Job

from .conftest import HTMX, htmx

pytestmark = pytest.mark.django_db


def url(fleet, name="db-1-frozen"):
    return f"/containers/{fleet.db.pk}/checkpoints/{name}/delete/"


def test_the_confirmation_names_the_checkpoint_and_the_container(as_otto, fleet):
    content = as_otto.get(url(fleet)).content.decode()
    assert "Delete checkpoint db-1-frozen?" in content and "<strong>db-1</strong>" in content
    assert '<button type="submit" class="danger">Delete</button>' in content


def test_with_htmx_the_confirmation_comes_alone(as_otto, fleet):
    content = as_otto.get(url(fleet), **htmx("container-dialog")).content.decode()
    assert content.lstrip().startswith('<div id="container-dialog"') and "<html" not in content


def test_confirming_requests_the_deletion(as_otto, fleet):
    response = as_otto.post(url(fleet), **HTMX)
    assert response.status_code == 200
    job = Job.objects.get()
    assert (job.kind, job.checkpoint_name) == ("delete_checkpoint", "db-1-frozen")
    assert "db-1-frozen" in json.loads(response["HX-Trigger"])["cryo:notify"]["text"]


def test_an_unknown_checkpoint_is_refused_inline(as_otto, fleet):
    response = as_otto.post(url(fleet, "never-made"))
    assert response.status_code == 422 and "no checkpoint &#x27;never-made&#x27;" in response.content.decode()


def test_a_viewer_gets_403_even_for_the_confirmation_but_only_the_attempt_is_audited(as_vic, fleet):
    assert as_vic.get(url(fleet)).status_code == 403
    assert not AuditEvent.objects.filter(actor_name="vic", action="delete_checkpoint").exists()  # GET never writes
    assert as_vic.post(url(fleet)).status_code == 403
    assert AuditEvent.objects.filter(actor_name="vic", action="delete_checkpoint", outcome="denied").count() == 1
    assert not Job.objects.exists()
