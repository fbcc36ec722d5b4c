"""Schedules over the API (and so the CLI): list, show with runs, make, edit, pause, resume, delete."""
from snapshots.errors import InvalidRequest
from snapshots.models import Schedule, Selector
from snapshots.services import access, resolve
from snapshots.services import schedules as service

from .api import api, origin
from .schemas import ScheduleEditIn, ScheduleIn

RUNS_SHOWN = 50


def _found(request, schedule_id):
    """A schedule the person may see (CRYO_TEAM_SCOPED_VISIBILITY): another team's is unknown."""
    schedules = Schedule.objects.select_related("container__host", "host", "created_by")
    found = access.visible_plans(request.user, schedules).filter(pk=schedule_id).first()
    if found is None:
        raise InvalidRequest(f"no schedule {schedule_id}")
    return found


def _run(run):
    return {"at": run.at, "due_at": run.due_at, "outcome": run.outcome, "reason": run.reason, "missed": run.missed,
            "container": run.container_name, "job": str(run.job_id) if run.job_id else None}


@api.get("/schedules", url_name="api-schedules")
def schedules(request):
    found = access.visible_plans(request.user, Schedule.objects.select_related("container__host", "host"))
    return [service.describe(s) for s in found]


@api.get("/schedules/{schedule_id}", url_name="api-schedule")
def schedule(request, schedule_id: int):
    found = _found(request, schedule_id)
    runs = access.visible_runs(request.user, found.runs.all())[:RUNS_SHOWN]
    return {**service.describe(found), "runs": [_run(r) for r in runs]}


@api.post("/schedules", url_name="api-schedule-add")
def add(request, payload: ScheduleIn):
    host = resolve.host(payload.host, request.user) if payload.host else None
    container = None
    if payload.selector == Selector.CONTAINER:
        if host is None:
            raise InvalidRequest("a container schedule needs its host and container")
        container = resolve.container(host, payload.container or "")
    made = service.create(request.user, selector=payload.selector, container=container, host=host,
                          label=payload.label or "", cron=payload.cron or "", interval_seconds=payload.interval_seconds,
                          leave_running=payload.leave_running, paused=payload.paused, origin=origin(request))
    return service.describe(made)


@api.post("/schedules/{schedule_id}/edit", url_name="api-schedule-edit")
def edit(request, schedule_id: int, payload: ScheduleEditIn):
    found = _found(request, schedule_id)
    cron, interval = payload.cron, payload.interval_seconds
    if cron is None and interval is None:  # keep the timing, change the rest
        cron, interval = found.cron, found.interval_seconds
    changed = service.edit(request.user, found, cron=cron or "", interval_seconds=interval,
                           leave_running=payload.leave_running, label=payload.label, origin=origin(request))
    return service.describe(changed)


def _change(name, change):
    def view(request, schedule_id: int):
        found = _found(request, schedule_id)
        answer = service.describe(found)
        change(request.user, found, origin=origin(request))
        return {**answer, **({} if name == "delete" else service.describe(found)), "done": name}

    view.__name__ = f"schedule_{name}"
    api.post(f"/schedules/{{schedule_id}}/{name}", url_name=f"api-schedule-{name}")(view)


for _name, _change_it in {"pause": service.pause, "resume": service.resume, "delete": service.delete}.items():
    _change(_name, _change_it)
