"""Retention policies in the browser: the list, a preview of what a policy would delete (nothing is written), saving
and deleting one; and pinning a checkpoint so that no policy prunes it. Each change calls one service."""
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_GET, require_POST

from snapshots import services
from snapshots.errors import AccessDenied, InvalidRequest
from snapshots.models import Host, RetentionPolicy
from snapshots.scheduling import retention as pruning
from snapshots.services import Origin, access, resolve
from snapshots.services import retention as service

from .access import get_container_for_operator, viewer_required
from .containers import PARTS as CONTAINER_PARTS
from .containers import page_context
from .render import notify, render_page
from .retention_forms import RetentionForm

PARTS = {"retention-preview": "retention/_preview.html"}


def _policies(user):
    found = access.visible_plans(user, RetentionPolicy.objects.select_related("container__host", "host"))
    return [{"policy": p, "may_change": access.can_operate(user, p.container.host if p.container_id else p.host)
             if p.selector != "fleet" else access.is_admin(user)} for p in found]


def _context(request, form, **extra):
    return {"form": form, "rows": _policies(request.user), "may_retain": access.role_name(request.user) != "Viewer",
            **extra}


def _rules(request, form):
    """The policy's objects and rules from a valid form (what was typed, resolved; a host out of sight is unknown)."""
    data = form.cleaned_data
    host = resolve.host(data["host"], request.user) if data["host"] else None
    container = None
    if data["selector"] == "container":
        if host is None:
            raise InvalidRequest("a container's retention policy needs its host and container")
        container = resolve.container(host, data["container"])
    return {"selector": data["selector"], "host": host, "container": container, "label": data["label"],
            "keep_last": data["keep_last"], "max_age_seconds": data["max_age"], "max_total_bytes": data["max_size"]}


def _errors(form):
    return " ".join(str(e) for field in form.errors.values() for e in field) or "Check the retention form."


@require_GET
@viewer_required
def policies(request):
    initial = {k: request.GET[k] for k in ("host", "container") if request.GET.get(k)}
    return render_page(request, "retention/list.html", _context(request, RetentionForm(initial=initial)))


@require_GET
@viewer_required
def preview(request):
    """What the policy in the form would delete now. A GET: nothing is saved or deleted."""
    form = RetentionForm(request.GET)
    found, error = None, ""
    if form.is_valid():
        try:
            found = [(c, doomed) for c, doomed in pruning.preview(service.draft(request.user, **_rules(request, form)))
                     if access.can_see(request.user, c.host)]
        except InvalidRequest as exc:
            error = exc.message
    else:
        error = _errors(form)
    return render_page(request, "retention/list.html", _context(request, form, preview=found, preview_error=error,
                                                                 previewed=True), parts=PARTS)


@require_POST
@viewer_required
def add(request):
    form = RetentionForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            policy = service.create(request.user, origin=Origin.web(request), **_rules(request, form))
        except AccessDenied as exc:
            raise PermissionDenied(exc.message) from None
        except InvalidRequest as exc:
            error = exc.message
        else:
            messages.success(request, f"Saved: {policy}")
            return redirect("retention")
    else:
        _check_right(request, form)
        error = _errors(form)
    messages.error(request, error)
    return render_page(request, "retention/list.html", _context(request, form, preview_error=error), status=422)


def _check_right(request, form):
    """A forged form from someone without the right is refused (and audited) before its mistakes are explained."""
    selector = form.data.get("selector", "")
    host = Host.objects.filter(name=form.data.get("host", "")).first()
    try:
        if selector != "fleet" and host is not None:
            access.require_operate(request.user, "retention.create", Origin.web(request), host)
        elif selector == "fleet" or access.role_name(request.user) == "Viewer":
            access.require_admin(request.user, "retention.create", Origin.web(request))
    except AccessDenied as exc:
        raise PermissionDenied(exc.message) from None


@require_POST
@viewer_required
def delete(request, pk):
    policy = get_object_or_404(access.visible_plans(
        request.user, RetentionPolicy.objects.select_related("container__host", "host")), pk=pk)
    what = str(policy)
    try:
        service.delete(request.user, policy, origin=Origin.web(request))
    except AccessDenied as exc:
        raise PermissionDenied(exc.message) from None
    messages.success(request, f"Deleted: {what}")
    return redirect("retention")


@require_POST
@viewer_required
def pin(request, pk, name):
    pinned = request.POST.get("pinned") == "1"
    # The right first (a refusal audited), then which checkpoint: nothing about it is said to whoever may not pin.
    container = get_container_for_operator(request, pk, "checkpoint.pin" if pinned else "checkpoint.unpin", name)
    try:
        checkpoint = resolve.checkpoint(container, name, usable=False)
        services.pin_checkpoint(request.user, checkpoint, pinned=pinned, origin=Origin.web(request))
    except AccessDenied as exc:
        raise PermissionDenied(exc.message) from None
    except InvalidRequest as exc:
        messages.error(request, exc.message)
        return redirect("container", pk=container.pk)
    text = f"{'Pinned' if pinned else 'Unpinned'}: {name}"
    if request.htmx:
        return notify(render_page(request, "containers/page.html", page_context(request, container),
                                  parts=CONTAINER_PARTS), "success", text)
    messages.success(request, text)
    return redirect("container", pk=container.pk)

