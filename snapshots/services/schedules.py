"""Making, editing, pausing, resuming and deleting schedules. A one-container or a label schedule needs the right
to operate its host; a fleet-wide one is an admin's. Every change is audited, and a refusal too."""
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..errors import InvalidRequest
from ..models import Schedule, Selector
from ..scheduling import due
from . import access, audit

LABEL_MAX = 255


def describe(schedule):
    return {
        "id": schedule.pk, "selector": schedule.selector,
        "host": (schedule.container.host.name if schedule.container_id else
                 schedule.host.name if schedule.host_id else None),
        "container": schedule.container.name if schedule.container_id else None,
        "label": schedule.label, "cron": schedule.cron, "interval_seconds": schedule.interval_seconds,
        "when": schedule.when(), "leave_running": schedule.leave_running, "paused": schedule.paused,
        "next_run_at": schedule.next_run_at, "last_run_at": schedule.last_run_at,
        "created_by": schedule.created_by_name, "created_at": schedule.created_at,
    }


def host_of(schedule):
    return schedule.container.host if schedule.container_id else schedule.host


def may_change(user, schedule):
    """Whether the person may change this schedule (for pages: which buttons to offer)."""
    if schedule.selector == Selector.FLEET:
        return access.is_admin(user)
    return access.can_operate(user, host_of(schedule))


def require_change(actor, action, origin, *, selector, container=None, host=None):
    if selector == Selector.FLEET:
        access.require_admin(actor, action, origin)
    elif selector == Selector.CONTAINER:
        access.require_operate(actor, action, origin, container.host, container_name=container.name)
    else:
        access.require_operate(actor, action, origin, host)


def _timing(cron, interval_seconds):
    cron = (cron or "").strip()
    if cron and interval_seconds:
        raise InvalidRequest("give a cron expression or an interval, not both")
    if not cron and not interval_seconds:
        raise InvalidRequest("give a cron expression (for example '0 * * * *') or an interval in seconds")
    if cron:
        return due.check_cron(cron), None
    try:
        interval_seconds = int(interval_seconds)
    except (TypeError, ValueError):
        raise InvalidRequest(f"interval {interval_seconds!r} is not a whole number of seconds") from None
    shortest = settings.CRYO_SCHEDULE_MIN_INTERVAL
    if interval_seconds < shortest or interval_seconds > 366 * 86400:
        raise InvalidRequest(f"an interval is from {shortest} seconds to 366 days (got {interval_seconds} seconds)")
    return "", interval_seconds


def check_label(label):
    label = (label or "").strip()
    key = label.partition("=")[0].strip()
    if not key:
        raise InvalidRequest("a label schedule needs a label: key=value, or key alone for any value")
    if len(label) > LABEL_MAX:
        raise InvalidRequest(f"a label has at most {LABEL_MAX} characters")
    return label


def _record(actor, action, origin, schedule, **details):
    audit.record(actor=actor, action=action, outcome="succeeded", origin=origin, host=host_of(schedule),
                 container_name=schedule.container.name if schedule.container_id else "",
                 details={"schedule": schedule.pk, "what": str(schedule), **details})


def create(actor, *, selector, container=None, host=None, label="", cron="", interval_seconds=None,
           leave_running=True, paused=False, origin):
    if selector not in Selector.values:
        raise InvalidRequest(f"unknown selector {selector!r}: one of {', '.join(Selector.values)}")
    if selector == Selector.CONTAINER and container is None:
        raise InvalidRequest("a container schedule needs a container")
    if selector == Selector.LABEL and host is None:
        raise InvalidRequest("a label schedule needs a host")
    require_change(actor, "schedule.create", origin, selector=selector, container=container, host=host)
    cron, interval_seconds = _timing(cron, interval_seconds)
    label = check_label(label) if selector == Selector.LABEL else ""
    if selector == Selector.CONTAINER and container.is_gone:
        raise InvalidRequest(f"container {container.name} on {container.host.name} is gone")
    now = timezone.now()
    schedule = Schedule(
        selector=selector, container=container if selector == Selector.CONTAINER else None,
        host=host if selector == Selector.LABEL else None, label=label, cron=cron, interval_seconds=interval_seconds,
        leave_running=bool(leave_running), paused=bool(paused), created_by=actor if actor and actor.pk else None,
        created_by_name=audit.actor_name(actor), created_at=now, updated_at=now,
        next_run_at=due.first_after(cron, interval_seconds, now),
    )
    with transaction.atomic():
        schedule.save()
        _record(actor, "schedule.create", origin, schedule, **{k: v for k, v in describe(schedule).items()
                                                                if k in ("cron", "interval_seconds", "label",
                                                                         "leave_running", "paused")})
    return schedule


def edit(actor, schedule, *, cron="", interval_seconds=None, leave_running=None, label=None, origin):
    require_change(actor, "schedule.edit", origin, selector=schedule.selector, container=schedule.container,
             host=schedule.host)
    before = describe(schedule)
    schedule.cron, schedule.interval_seconds = _timing(cron, interval_seconds)
    if leave_running is not None:
        schedule.leave_running = bool(leave_running)
    if label is not None and schedule.selector == Selector.LABEL:
        schedule.label = check_label(label)
    schedule.updated_at = timezone.now()
    schedule.next_run_at = due.first_after(schedule.cron, schedule.interval_seconds, schedule.updated_at)
    with transaction.atomic():
        schedule.save()
        after = describe(schedule)
        _record(actor, "schedule.edit", origin, schedule,
                changed={k: [before[k], after[k]] for k in ("cron", "interval_seconds", "label", "leave_running")
                         if before[k] != after[k]})
    return schedule


def check_edit(actor, schedule, *, origin):
    """Refuse (and audit) an edit the person may not make, before any word about what they sent."""
    require_change(actor, "schedule.edit", origin, selector=schedule.selector, container=schedule.container,
             host=schedule.host)


def pause(actor, schedule, *, origin):
    return _set_paused(actor, schedule, True, origin)


def resume(actor, schedule, *, origin):
    """Resuming starts counting again from now: time spent paused is not reported as missed runs."""
    return _set_paused(actor, schedule, False, origin)


def _set_paused(actor, schedule, paused, origin):
    action = "schedule.pause" if paused else "schedule.resume"
    require_change(actor, action, origin, selector=schedule.selector, container=schedule.container, host=schedule.host)
    now = timezone.now()
    with transaction.atomic():
        schedule.paused, schedule.updated_at = paused, now
        if not paused:
            schedule.next_run_at = due.first_after(schedule.cron, schedule.interval_seconds, now)
        schedule.save(update_fields=["paused", "updated_at", "next_run_at"])
        _record(actor, action, origin, schedule)
    return schedule


def delete(actor, schedule, *, origin):
    require_change(actor, "schedule.delete", origin, selector=schedule.selector, container=schedule.container,
             host=schedule.host)
    with transaction.atomic():
        _record(actor, "schedule.delete", origin, schedule, **{k: v for k, v in describe(schedule).items()
                                                                if k in ("cron", "interval_seconds", "label")})
        schedule.delete()
