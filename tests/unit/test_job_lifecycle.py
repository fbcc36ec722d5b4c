"""The lifecycle wrapper: claim once, record the outcome, never run late or on the wrong host."""
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from snapshots import lifecycle, services
from snapshots.errors import CriuFailed
from snapshots.models import AuditEvent, Checkpoint, Job
from snapshots.reconcile import reconcile

from .fakes import FakeContext, online_host, running_container

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_broker():
    with mock.patch("snapshots.services.dispatch.send"):
        yield


@pytest.fixture
def setup(people, origin):
    host = people.grant(online_host("h1"))
    running_container(host)
    job = services.request_checkpoint(people.otto, "h1", "web", name="c1", origin=origin)
    return host, job, FakeContext(host.pk, "h1")


def test_a_job_runs_once_even_when_its_task_is_delivered_twice(setup):
    host, job, ctx = setup
    lifecycle.execute(str(job.id), "run", ctx)
    lifecycle.execute(str(job.id), "run", ctx)
    assert [c[0] for c in ctx.engine.calls].count("checkpoint_create") == 1
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED and job.duration_ms is not None
    assert Checkpoint.objects.filter(name="c1", status="present").count() == 1
    assert list(AuditEvent.objects.filter(job_id=job.id).values_list("outcome", flat=True).order_by("id")) == [
        "requested", "succeeded"]


def test_a_worker_of_another_host_never_runs_the_job(setup):
    _host, job, _ctx = setup
    other = online_host("h2")
    stranger = FakeContext(other.pk, "h2")
    lifecycle.execute(str(job.id), "run", stranger)
    assert stranger.engine.calls == []
    job.refresh_from_db()
    assert job.state == Job.State.QUEUED


def test_a_job_that_waited_past_its_expiry_is_not_run_late(setup):
    _host, job, ctx = setup
    Job.objects.filter(pk=job.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    lifecycle.execute(str(job.id), "run", ctx)
    job.refresh_from_db()
    assert ctx.engine.calls == []
    assert job.state == Job.State.FAILED and job.error.startswith("expired:")


def test_an_engine_failure_ends_the_job_failed_with_the_engines_words(setup):
    _host, job, ctx = setup
    ctx.engine.fail_with = CriuFailed("criu failed: type NOTIFY errno 0")
    lifecycle.execute(str(job.id), "run", ctx)
    job.refresh_from_db()
    assert job.state == Job.State.FAILED and job.error == "CRIU failed: criu failed: type NOTIFY errno 0"
    assert AuditEvent.objects.filter(job_id=job.id, outcome="failed").exists()


def test_a_crash_in_the_worker_is_recorded_not_left_running(setup):
    _host, job, ctx = setup
    ctx.engine.checkpoint_create = mock.Mock(side_effect=ZeroDivisionError("boom"))
    lifecycle.execute(str(job.id), "run", ctx)
    job.refresh_from_db()
    assert job.state == Job.State.FAILED and "internal error" in job.error and "ZeroDivisionError" in job.error


def test_running_jobs_of_a_silent_host_and_expired_queued_jobs_are_reconciled(setup, people, origin):
    host, job, _ctx = setup
    Job.objects.filter(pk=job.pk).update(state="running", claimed_by=host.worker_id, started_at=timezone.now())
    assert reconcile() == 0, "a host that heartbeats keeps its running jobs"
    host.last_seen = timezone.now() - timedelta(minutes=10)
    host.save()
    assert reconcile() == 1
    job.refresh_from_db()
    assert job.state == "failed" and "stopped responding while the job was running" in job.error
