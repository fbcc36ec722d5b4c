"""Admins drain, enable and remove hosts. The services check the role and write the audit rows."""
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from snapshots import services
from snapshots.errors import AccessDenied, InvalidRequest
from snapshots.services import Origin

from .access import get_host_for_viewer, viewer_required
from .render import notify

PART = "hosts/_admin_actions.html"
ACTIONS = {
    "drain": (services.drain_host, "drained: it takes no new jobs"),
    "enable": (services.enable_host, "enabled: it takes new jobs again"),
    "remove": (services.remove_host, "removed; its history stays"),
}


@require_POST
@viewer_required
def host_action(request, name, action):
    host = get_host_for_viewer(request, name)
    change, said = ACTIONS[action]
    try:
        host = change(request.user, host.name, origin=Origin.web(request))
    except AccessDenied as exc:
        raise PermissionDenied(exc.message) from None
    except InvalidRequest as exc:
        if request.htmx:
            return notify(render(request, PART, {"host": host, "is_admin": True}, status=422), "error", exc.message)
        messages.error(request, exc.message)
        return redirect("host", host.name)
    text = f"Host {host.name} {said}"
    if action == "remove":
        messages.success(request, text)
        if request.htmx:
            from django_htmx.http import HttpResponseClientRedirect

            return HttpResponseClientRedirect("/")
        return redirect("overview")
    if request.htmx:
        return notify(render(request, PART, {"host": host, "is_admin": True}), "success", text)
    messages.success(request, text)
    return redirect("host", host.name)
