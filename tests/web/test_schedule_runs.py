"""The control process's schedule rounds: each due run is an ordinary checkpoint job requested by the schedule for
its creator; a gone, stopped or busy container is skipped with its reason; missed runs are reported, not fired."""
from datetime import timedelta

from django.test import override_settings
from django.utils import timezone

from snapshots.models import AuditEvent, Job, ScheduleRun, Selector
from snapshots.scheduling import runner
from snapshots.services import Origin, schedules

from .conftest import make_container

ORIGIN = Origin(source="10.0.0.9")


def _schedule(people, container, **kwargs):
    values = {"selector": Selector.CONTAINER, "container": container, "interval_seconds": 300, "origin": ORIGIN}
    values.update(kwargs)
    return schedules.create(people.otto, **values)


def _due_now(schedule):
    return schedule.next_run_at + timedelta(seconds=1)


def test_a_due_schedule_requests_a_checkpoint_job_for_its_creator(fleet, people, sent):
    schedule = _schedule(people, fleet.web, leave_running=True)
    first = schedule.next_run_at
    runner.run_due(_due_now(schedule))
    run = ScheduleRun.objects.get(schedule=schedule)
    assert run.outcome == "started"
    job = run.job
    assert job.kind == Job.Kind.CHECKPOINT and job.container == fleet.web and job.params["leave_running"] is True
    assert job.requested_by == people.otto
    assert job.requested_by_name == f"schedule {schedule.pk} (otto)"
    assert job.source == f"system:schedule:{schedule.pk}"
    requested = AuditEvent.objects.get(job_id=job.id, outcome="requested")
    assert requested.actor_name == f"schedule {schedule.pk} (otto)" and requested.details["schedule"] == schedule.pk
    schedule.refresh_from_db()
    assert schedule.next_run_at == first + timedelta(seconds=300)


def test_a_schedule_is_not_run_twice_for_one_due_time(fleet, people, sent):
    schedule = _schedule(people, fleet.web)
    now = _due_now(schedule)
    runner.run_due(now)
    runner.run_due(now)
    assert Job.objects.filter(container=fleet.web).count() == 1


def test_a_stopped_container_is_skipped_with_the_reason(fleet, people, sent):
    schedule = _schedule(people, fleet.db)
    runner.run_due(_due_now(schedule))
    run = ScheduleRun.objects.get(schedule=schedule)
    assert run.outcome == "skipped" and "db-1 is stopped (state: exited)" in run.reason
    assert not Job.objects.filter(container=fleet.db).exists()
    assert AuditEvent.objects.filter(action="schedule.run", outcome="refused",
                                     details__reason=run.reason).exists()


def test_a_gone_container_is_skipped_with_the_reason(fleet, people, sent):
    schedule = _schedule(people, fleet.web)
    fleet.web.gone_at = timezone.now()
    fleet.web.save()
    runner.run_due(_due_now(schedule))
    run = ScheduleRun.objects.get(schedule=schedule)
    assert run.outcome == "skipped" and "web-1 is gone" in run.reason
    assert not Job.objects.exists()


def test_a_busy_container_is_skipped_naming_the_job_in_flight(fleet, people, sent):
    schedule = _schedule(people, fleet.web)
    busy = fleet.checkpoint_job()
    runner.run_due(_due_now(schedule))
    run = ScheduleRun.objects.get(schedule=schedule)
    assert run.outcome == "skipped" and f"busy with checkpoint job {busy.short_id}" in run.reason
    assert Job.objects.filter(container=fleet.web).count() == 1


def test_a_schedule_whose_creator_lost_the_host_is_refused_and_audited(fleet, people, sent):
    schedule = _schedule(people, fleet.web)
    fleet.alpha.operator_groups.clear()
    people.otto._cryo_hosts = None
    schedule.created_by = type(people.otto).objects.get(pk=people.otto.pk)
    runner.run_one(schedule, _due_now(schedule))
    run = ScheduleRun.objects.get(schedule=schedule)
    assert run.outcome == "skipped" and "may not checkpoint" in run.reason
    assert not Job.objects.exists()
    assert AuditEvent.objects.filter(action="checkpoint", outcome="denied", actor=people.otto).exists()


@override_settings(CRYO_SCHEDULE_GRACE=60)
def test_runs_missed_while_cryo_was_down_are_reported_and_only_a_fresh_one_fires(fleet, people, sent):
    schedule = _schedule(people, fleet.web, interval_seconds=600)
    first = schedule.next_run_at
    # down for 2 hours: due times first, +10 min, ... +120 min; the round comes 20 s after the last one
    runner.run_due(first + timedelta(minutes=120, seconds=20))
    runs = {run.outcome: run for run in ScheduleRun.objects.filter(schedule=schedule)}
    assert set(runs) == {"missed", "started"}
    assert runs["missed"].missed == 12 and "missed 12 runs" in runs["missed"].reason
    assert Job.objects.filter(container=fleet.web).count() == 1
    assert AuditEvent.objects.filter(action="schedule.run", details__missed=12).exists()


@override_settings(CRYO_SCHEDULE_GRACE=60)
def test_runs_that_are_all_stale_fire_nothing(fleet, people, sent):
    schedule = _schedule(people, fleet.web, interval_seconds=600)
    runner.run_due(schedule.next_run_at + timedelta(minutes=35))
    run = ScheduleRun.objects.get(schedule=schedule)
    assert run.outcome == "missed" and run.missed == 4
    assert not Job.objects.exists()
    schedule.refresh_from_db()
    assert schedule.next_run_at > schedule.last_run_at


def test_a_paused_schedule_does_not_run_and_resuming_reports_no_missed_runs(fleet, people, sent):
    schedule = _schedule(people, fleet.web)
    schedules.pause(people.otto, schedule, origin=ORIGIN)
    runner.run_due(schedule.next_run_at + timedelta(hours=3))
    assert not ScheduleRun.objects.exists()
    schedules.resume(people.otto, schedule, origin=ORIGIN)
    assert schedule.next_run_at > timezone.now()
    runner.run_due(schedule.next_run_at + timedelta(seconds=1))
    assert list(ScheduleRun.objects.values_list("outcome", flat=True)) == ["started"]


def test_a_label_schedule_takes_every_matching_container_of_its_host(fleet, people, sent):
    tagged = make_container(fleet.alpha, "api-1")
    tagged.labels = {"cryo.backup": "hourly"}
    tagged.save()
    other = make_container(fleet.alpha, "api-2")
    other.labels = {"cryo.backup": "daily"}
    other.save()
    schedule = _schedule(people, None, selector=Selector.LABEL, host=fleet.alpha, label="cryo.backup=hourly")
    runner.run_due(_due_now(schedule))
    assert list(Job.objects.values_list("container_name", flat=True)) == ["api-1"]


def test_a_fleet_schedule_takes_running_containers_and_skips_stopped_ones(fleet, people, sent):
    schedule = schedules.create(people.ada, selector=Selector.FLEET, interval_seconds=3600, origin=ORIGIN)
    runner.run_due(_due_now(schedule))
    outcomes = dict(ScheduleRun.objects.values_list("container_name", "outcome"))
    assert outcomes == {"web-1": "started", "db-1": "skipped", "cache-1": "started"}
