import json

import pytest

from snapshots.models import AuditEvent, Job

from .conftest import HTMX

pytestmark = pytest.mark.django_db


def url(container):
    return f"/containers/{container.pk}/restore/"


def test_an_operator_restores_a_stopped_container_from_a_checkpoint(as_otto, fleet):
    response = as_otto.post(url(fleet.db), {"checkpoint": "db-1-frozen"}, **HTMX)
    assert response.status_code == 200
    job = Job.objects.get()
    assert (job.kind, job.checkpoint_name, job.container, job.requested_by_name) == (
        "restore", "db-1-frozen", fleet.db, "otto")
    assert 'id="restore-panel"' in response.content.decode()
    assert json.loads(response["HX-Trigger"])["cryo:notify"]["level"] == "success"


def test_without_htmx_it_redirects_to_the_container(as_otto, fleet):
    response = as_otto.post(url(fleet.db), {"checkpoint": "db-1-frozen"})
    assert response.status_code == 302 and response.url == f"/containers/{fleet.db.pk}/"


def test_a_running_container_is_refused_inline(as_otto, fleet, people):
    fleet.checkpoint_job(name="web-1-live", leave_running=True)
    Job.objects.update(state=Job.State.SUCCEEDED)
    from .conftest import make_checkpoint

    make_checkpoint(fleet.web, "web-1-live", exit=False)
    response = as_otto.post(url(fleet.web), {"checkpoint": "web-1-live"})
    assert response.status_code == 422 and "stop it before restoring it in place" in response.content.decode()


def test_an_unknown_checkpoint_is_refused_inline(as_otto, fleet):
    response = as_otto.post(url(fleet.db), {"checkpoint": "nope"}, **HTMX)
    assert response.status_code == 422 and "Select a valid choice" in response.content.decode()


def test_a_viewer_gets_403_when_posting_a_restore(as_vic, fleet):
    assert as_vic.post(url(fleet.db), {"checkpoint": "db-1-frozen"}).status_code == 403
    event = AuditEvent.objects.get(action="restore")
    assert (event.action, event.outcome, event.checkpoint_name) == ("restore", "denied", "db-1-frozen")
    assert not Job.objects.exists()
