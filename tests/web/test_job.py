import json
from datetime import timedelta

import pytest
from django.utils import timezone

from snapshots.models import Job

from .conftest import count_queries, finish, grow, htmx

pytestmark = pytest.mark.django_db


def running(job, phase="checkpoint"):
    now = timezone.now()
    phases = [{"name": phase, "host": "alpha", "started": now.isoformat(), "seconds": None}]
    Job.objects.filter(pk=job.pk).update(state=Job.State.RUNNING, started_at=now, phase=phase, phases=phases)
    job.refresh_from_db()
    return job


def test_it_shows_who_when_and_from_where(as_vic, fleet):
    job = fleet.checkpoint_job(name="shown-1")
    content = as_vic.get(f"/jobs/{job.id}/").content.decode()
    assert "ada" in content and "10.0.0.9" in content and job.request_id in content and "shown-1" in content
    assert "Queued" in content and "waiting for the agent of alpha" in content


def test_a_running_job_shows_its_phase_and_follows_its_events_or_polls_every_second(as_vic, fleet):
    job = running(fleet.checkpoint_job())
    content = as_vic.get(f"/jobs/{job.id}/").content.decode()
    assert 'hx-trigger="cryo:changed, cryo:resync, cryo:poll"' in content
    assert f'data-job="{job.id}"' in content
    assert 'sse-connect="/events/"' in content and "checkpoint · running for" in content
    assert "<em>in progress</em>" in content


def test_the_poll_gets_200_while_running(as_vic, fleet):
    job = running(fleet.checkpoint_job())
    response = as_vic.get(f"/jobs/{job.id}/", **htmx("job-live"))
    assert response.status_code == 200 and 'id="job-live"' in response.content.decode()


def test_the_poll_gets_286_with_the_final_state_once_the_job_is_over(as_vic, fleet):
    job = finish(fleet.checkpoint_job())
    response = as_vic.get(f"/jobs/{job.id}/", **htmx("job-live"))
    assert response.status_code == 286
    content = response.content.decode()
    assert "Succeeded" in content and "every 1s" not in content and "cryo:changed" not in content


def test_the_page_of_a_finished_job_opens_no_event_stream(as_vic, fleet):
    job = finish(fleet.checkpoint_job())
    assert "sse-connect" not in as_vic.get(f"/jobs/{job.id}/").content.decode()


def test_a_failed_job_shows_its_error(as_vic, fleet):
    job = finish(fleet.checkpoint_job(), Job.State.FAILED, error="CRIU failed: can't dump ghost file")
    content = as_vic.get(f"/jobs/{job.id}/").content.decode()
    assert "CRIU failed: can&#x27;t dump ghost file" in content


def test_the_row_poll_stops_with_286_and_tells_the_requester(as_ada, fleet):
    job = fleet.checkpoint_job()
    assert as_ada.get(f"/jobs/{job.id}/row/").status_code == 200
    finish(job, Job.State.FAILED, error="boom")
    response = as_ada.get(f"/jobs/{job.id}/row/")
    assert response.status_code == 286
    events = json.loads(response["HX-Trigger"])
    assert events["cryo:notify"] == {"level": "error", "text": "Failed: checkpoint alpha/web-1 checkpoint "
                                     f"{job.checkpoint_name}: boom"}
    assert events["cryo:jobs-changed"]["state"] == "failed"


def test_other_people_watching_get_no_notification(as_vic, fleet):
    job = finish(fleet.checkpoint_job())
    events = json.loads(as_vic.get(f"/jobs/{job.id}/row/")["HX-Trigger"])
    assert "cryo:notify" not in events and "cryo:jobs-changed" in events


def test_an_unknown_job_is_404(as_vic, fleet):
    assert as_vic.get("/jobs/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_its_query_count_does_not_grow_with_the_data(as_vic, fleet):
    job = running(fleet.checkpoint_job())
    small = count_queries(as_vic, f"/jobs/{job.id}/")
    grow(fleet, jobs=150)
    assert count_queries(as_vic, f"/jobs/{job.id}/") == small <= 6


def test_without_javascript_a_running_job_page_refreshes_itself(as_vic, fleet):
    job = running(fleet.checkpoint_job())
    content = as_vic.get(f"/jobs/{job.id}/").content.decode()
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in content
    finish(job)
    assert "http-equiv" not in as_vic.get(f"/jobs/{job.id}/").content.decode()


def test_reading_a_job_never_changes_it_and_the_control_process_says_why_its_agent_is_gone(as_vic, fleet):
    """GET requests never write: the job is resolved by the control process, not by whoever looks at it."""
    from snapshots import control
    from snapshots.models import AuditEvent, Host

    job = fleet.checkpoint_job()
    Job.objects.filter(pk=job.pk).update(state="running", started_at=timezone.now(), claimed_by="gone:1:x",
                                         lease_until=timezone.now() - timedelta(seconds=1))
    Host.objects.filter(pk=fleet.alpha.pk).update(last_seen=timezone.now() - timedelta(minutes=5))
    audit_rows = AuditEvent.objects.count()
    response = as_vic.get(f"/jobs/{job.id}/", **htmx("job-live"))
    assert response.status_code == 200 and "The agent of host alpha is offline" in response.content.decode()
    assert as_vic.get(f"/jobs/{job.id}/row/").status_code == 200
    job.refresh_from_db()
    assert job.state == "running" and AuditEvent.objects.count() == audit_rows, "a page does not reconcile"
    control.lapse_leases(timezone.now())  # what a round of the control process does
    response = as_vic.get(f"/jobs/{job.id}/", **htmx("job-live"))
    assert response.status_code == 286
    job.refresh_from_db()
    assert job.state == "failed" and "the agent of host alpha stopped responding" in job.error
