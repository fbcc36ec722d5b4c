"""One round of schedules, run by the control process: every schedule whose time came takes its checkpoints through
the same action as a person's (snapshots.services.checkpoint), acting for its creator.

A due time older than CRYO_SCHEDULE_GRACE (Cryo was not running, or the rounds stalled) is not fired late: the
round records how many were missed, then fires only a due time that is still fresh. A container that is gone,
stopped or busy is skipped, with the reason on a run row and an audit row.
"""
import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..errors import AccessDenied, Busy, InvalidRequest
from ..models import Container, Job, Schedule, ScheduleRun
from ..models.schedule import Selector
from ..services import audit
from ..services.origin import Origin
from . import due

log = logging.getLogger(__name__)


def run_due(now=None):
    """Run every unpaused schedule whose next run is at or before `now`; returns the number of run rows written."""
    now = now or timezone.now()
    written = 0
    for schedule in Schedule.objects.filter(paused=False, next_run_at__lte=now).select_related(
            "container__host", "host", "created_by"):
        try:
            written += run_one(schedule, now)
        except Exception:
            log.exception("schedule %s failed to run; its next round tries again", schedule.pk)
    return written


def run_one(schedule, now):
    first = schedule.next_run_at
    count, latest = due.due_between(schedule.cron, schedule.interval_seconds, first, now)
    if not count:
        return 0
    fresh = now - latest <= timedelta(seconds=settings.CRYO_SCHEDULE_GRACE)
    missed = count - (1 if fresh else 0)
    upcoming = due.following(schedule.cron, schedule.interval_seconds, latest, now)
    # Claim the round: a second control process (or a retried round) finds next_run_at moved and does nothing.
    if not Schedule.objects.filter(pk=schedule.pk, next_run_at=first, paused=False).update(
            next_run_at=upcoming, last_run_at=now):
        return 0
    written = 0
    if missed:
        _missed(schedule, first, latest if not fresh else None, missed, now)
        written += 1
    if fresh:
        for container in targets(schedule):
            _attempt(schedule, container, latest)
            written += 1
    return written


def targets(schedule):
    """The containers a schedule (or a retention policy) applies to now; a one-container one yields its container
    even when it is gone, so that the run says so."""
    if schedule.selector == Selector.CONTAINER:
        return [schedule.container] if schedule.container_id else [None]
    present = Container.objects.present().select_related("host").filter(host__removed_at__isnull=True)
    if schedule.selector == Selector.LABEL:
        return [c for c in present.filter(host=schedule.host) if matches(c.labels, schedule.label)]
    return list(present.order_by("host__name", "name"))


def matches(labels, selector):
    key, _, value = selector.partition("=")
    if key not in (labels or {}):
        return False
    return "=" not in selector or str(labels[key]) == value


def _missed(schedule, first, last_missed, missed, now):
    at_least = "at least " if missed >= due.COUNT_LIMIT else ""
    span = f"from {first:%Y-%m-%d %H:%M:%S} UTC" + (f" to {last_missed:%Y-%m-%d %H:%M:%S} UTC" if last_missed
                                                     and missed > 1 else "")
    reason = (f"missed {at_least}{missed} run{'s' if missed != 1 else ''} ({span}) while Cryo was not running; "
              "they are not taken late")
    with transaction.atomic():
        ScheduleRun.objects.create(schedule=schedule, due_at=first, at=now, outcome=ScheduleRun.Outcome.MISSED,
                                   reason=reason, missed=missed)
        _audit(schedule, "refused", reason, container=None, extra={"missed": missed})


def _attempt(schedule, container, due_at):
    reason, audited, job = _skip_reason(schedule, container), False, None
    if not reason:
        from .. import services

        try:
            job = services.checkpoint(
                schedule.created_by, container, leave_running=schedule.leave_running,
                origin=Origin.system(f"schedule:{schedule.pk}"), actor_label=schedule.actor_label,
                audit_details={"schedule": schedule.pk},
            )
        except (Busy, AccessDenied) as exc:  # the action has put these on the audit record itself
            reason, audited = f"skipped: {exc.message}", True
        except InvalidRequest as exc:
            reason = f"skipped: {exc.message}"
    with transaction.atomic():
        ScheduleRun.objects.create(
            schedule=schedule, due_at=due_at,
            outcome=ScheduleRun.Outcome.STARTED if job else ScheduleRun.Outcome.SKIPPED, reason=reason,
            container=container, container_name=getattr(container, "name", ""), job=job)
        if not job and not audited:
            _audit(schedule, "refused", reason, container=container)


def _skip_reason(schedule, container):
    if container is None or container.is_gone:
        name = getattr(container, "name", "") or "its container"
        return f"skipped: {name} is gone (removed from its engine)"
    if not container.is_running:
        return f"skipped: {container.name} is stopped (state: {container.state or 'unknown'})"
    busy = Job.objects.filter(container=container, state__in=Job.ENQUEUED_STATES).order_by("created_at").first()
    if busy is not None:
        return (f"skipped: {container.name} is busy with {busy.get_kind_display().lower()} job {busy.short_id} "
                f"({busy.state})")
    if schedule.created_by is None or not schedule.created_by.is_active:
        return f"skipped: the account of its creator {schedule.created_by_name} no longer exists or is disabled"
    return ""


def _audit(schedule, outcome, reason, *, container, extra=None):
    host = container.host if container is not None and container.host_id else schedule.host
    audit.record(actor=schedule.created_by, actor_label=schedule.actor_label, action="schedule.run", outcome=outcome,
                 origin=Origin.system(f"schedule:{schedule.pk}"), host=host,
                 container_name=getattr(container, "name", ""), details={"schedule": schedule.pk, "reason": reason,
                                                                        **(extra or {})})
