"""Schedules in the browser: a container's own on its page, all of them on the schedules page. Each view calls one
service (snapshots.services.schedules), which checks the person's right and writes the audit row."""
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from snapshots.errors import AccessDenied, InvalidRequest
from snapshots.models import Host, Schedule, Selector
from snapshots.services import Origin, access
from snapshots.services import schedules as service

from .access import get_container_for_viewer, viewer_required
from .render import notify, render_page
from .schedule_forms import ScheduleForm, SelectorScheduleForm

LIST_PARTS = {"schedule-list": "schedules/_list.html", "container-schedules": "schedules/_container.html"}
RUNS_SHOWN = 50


def _rows(user, schedules):
    return [{"schedule": s, "may_change": service.may_change(user, s)} for s in schedules]


def _all(user):
    return access.visible_plans(user, Schedule.objects.select_related("container__host", "host").order_by("created_at"))


def container_context(request, container, form=None):
    found = _all(request.user).filter(container=container)
    return {"container": container, "schedule_rows": _rows(request.user, found),
            "schedule_form": form or ScheduleForm(initial={"leave_running": True}),
            "may_schedule": access.can_operate(request.user, container.host) and not container.is_gone}


def _page_context(request, form=None):
    hosts = access.visible(request.user, Host.objects.order_by("name"), "pk")
    return {"schedule_rows": _rows(request.user, _all(request.user)), "hosts": hosts,
            "selector_form": form or SelectorScheduleForm(hosts=hosts, initial={"leave_running": True}),
            "may_schedule": access.role_name(request.user) != "Viewer"}


def _call(change, *args, **kwargs):
    """The service refuses (and audits) what the person may not do; the page answers 403."""
    try:
        return change(*args, **kwargs)
    except AccessDenied as exc:
        raise PermissionDenied(exc.message) from None


def _back(request, fallback):
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return redirect(fallback)


def _answer(request, *, container, message, level="success", status=200, form=None, selector_form=None):
    """htmx: the part that was aimed at, refreshed; a plain form post: back to the page it came from."""
    if request.htmx and request.htmx.target in LIST_PARTS:
        if request.htmx.target == "container-schedules" and container is not None:
            context = container_context(request, container, form)
        else:
            context = _page_context(request, selector_form)
        response = render_page(request, "schedules/list.html", context, parts=LIST_PARTS, status=status)
        return notify(response, level, message)
    if status >= 400:
        if container is not None and form is not None:
            from .containers import page_context

            context = {**page_context(request, container), **container_context(request, container, form),
                       "schedule_error": message}
            return render_page(request, "containers/page.html", context, status=status)
        return render_page(request, "schedules/list.html", {**_page_context(request, selector_form),
                                                            "schedule_error": message}, status=status)
    from django.contrib import messages

    messages.success(request, message)
    fallback = reverse("container", args=[container.pk]) if container is not None else reverse("schedules")
    return _back(request, fallback)


def _form_error(form):
    errors = [str(e) for field in form.errors.values() for e in field]
    return " ".join(errors) or "Check the schedule form."


@require_GET
@viewer_required
def schedules(request):
    return render_page(request, "schedules/list.html", _page_context(request), parts=LIST_PARTS)


@require_POST
@viewer_required
def add_for_container(request, pk):
    container = get_container_for_viewer(request, pk)
    form = ScheduleForm(request.POST)
    if form.is_valid():
        try:
            schedule = _call(service.create, request.user, selector=Selector.CONTAINER, container=container,
                             cron=form.cleaned_data["cron"], interval_seconds=form.cleaned_data["every"],
                             leave_running=form.cleaned_data["leave_running"], origin=Origin.web(request))
        except InvalidRequest as exc:
            form.add_error(None, exc.message)
        else:
            return _answer(request, container=container, message=f"Scheduled: {schedule}")
    else:
        # The person's right is checked (and a refusal audited) before a bad form is even explained.
        _call(service.require_change, request.user, "schedule.create", Origin.web(request),
              selector=Selector.CONTAINER, container=container)
    return _answer(request, container=container, message=_form_error(form), level="error", status=422, form=form)


@require_POST
@viewer_required
def add(request):
    hosts = access.visible(request.user, Host.objects.order_by("name"), "pk")
    form = SelectorScheduleForm(request.POST, hosts=hosts)
    if form.is_valid():
        data = form.cleaned_data
        host = hosts.filter(name=data["host"]).first() if data["host"] else None
        try:
            schedule = _call(service.create, request.user, selector=data["selector"], host=host, label=data["label"],
                             cron=data["cron"], interval_seconds=data["every"], leave_running=data["leave_running"],
                             origin=Origin.web(request))
        except InvalidRequest as exc:
            form.add_error(None, exc.message)
        else:
            return _answer(request, container=None, message=f"Scheduled: {schedule}")
    else:
        _check_right(request, hosts)
    return _answer(request, container=None, message=_form_error(form), level="error", status=422,
                   selector_form=form)


def _check_right(request, hosts):
    """A forged form from someone without the right is refused (and audited) before its mistakes are explained."""
    host = hosts.filter(name=request.POST.get("host", "")).first()
    if request.POST.get("selector") == Selector.LABEL and host is not None:
        _call(service.require_change, request.user, "schedule.create", Origin.web(request), selector=Selector.LABEL,
              host=host)
    elif request.POST.get("selector") != Selector.LABEL or access.role_name(request.user) == "Viewer":
        _call(service.require_change, request.user, "schedule.create", Origin.web(request), selector=Selector.FLEET)


def _schedule(request, pk):
    """A schedule the person may see (CRYO_TEAM_SCOPED_VISIBILITY): another team's is not found."""
    return get_object_or_404(access.visible_plans(
        request.user, Schedule.objects.select_related("container__host", "host", "created_by")), pk=pk)


def _runs(request, schedule):
    return list(access.visible_runs(request.user, schedule.runs.select_related("job"))[:RUNS_SHOWN])


@require_GET
@viewer_required
def schedule(request, pk):
    found = _schedule(request, pk)
    return render_page(request, "schedules/page.html", {
        "schedule": found, "may_change": service.may_change(request.user, found), "form": ScheduleForm.of(found),
        "runs": _runs(request, found),
    })


@require_POST
@viewer_required
def edit(request, pk):
    found = _schedule(request, pk)
    form = ScheduleForm(request.POST)
    if form.is_valid():
        try:
            _call(service.edit, request.user, found, cron=form.cleaned_data["cron"],
                  interval_seconds=form.cleaned_data["every"], leave_running=form.cleaned_data["leave_running"],
                  label=request.POST.get("label") if found.selector == Selector.LABEL else None,
                  origin=Origin.web(request))
        except InvalidRequest as exc:
            form.add_error(None, exc.message)
        else:
            from django.contrib import messages

            messages.success(request, f"Saved: {found}")
            return redirect("schedule", pk=found.pk)
    else:
        # The person's right is checked (and a refusal audited) before a bad form is even explained.
        _call(service.check_edit, request.user, found, origin=Origin.web(request))
    found.refresh_from_db()
    return render_page(request, "schedules/page.html", {
        "schedule": found, "may_change": True, "form": form, "schedule_error": _form_error(form),
        "runs": _runs(request, found),
    }, status=422)


def _change(change, verb):
    @require_POST
    @viewer_required
    def view(request, pk):
        found = _schedule(request, pk)
        container = found.container
        what = str(found)
        _call(change, request.user, found, origin=Origin.web(request))
        return _answer(request, container=container, message=f"{verb}: {what}")

    view.__name__ = f"schedule_{verb.lower()}"
    return view


pause = _change(service.pause, "Paused")
resume = _change(service.resume, "Resumed")
delete = _change(service.delete, "Deleted")
