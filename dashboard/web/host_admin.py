"""Admins add hosts (and see the one-time join command), rotate or revoke a host's credential, drain, enable and
remove hosts. The services check the role and write the audit rows."""
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from snapshots import services
from snapshots.errors import AccessDenied, InvalidRequest
from snapshots.models import HostCredential
from snapshots.services import Origin, access

from .access import get_host_for_viewer, viewer_required
from .forms import AddHostForm
from .render import notify

PART = "hosts/_admin_actions.html"
ACTIONS = {
    "drain": (services.drain_host, "drained: it takes no new jobs"),
    "enable": (services.enable_host, "enabled: it takes new jobs again"),
    "remove": (services.remove_host, "removed; its credential no longer works and its history stays"),
    "rotate": (services.rotate_credential, "will get a new credential at its agent's next heartbeat"),
    "revoke": (services.revoke_credential, "credential revoked: its agent is cut off until it joins again"),
}


def admin_context(host):
    return {"host": host, "is_admin": True,
            "has_credential": HostCredential.objects.live().filter(host=host).exists()}


@require_http_methods(["GET", "POST"])
@viewer_required
def add_host(request):
    """GET: the form (admins only). POST: the host and its one-time join command, shown once."""
    if not access.is_admin(request.user):
        raise PermissionDenied("only an admin may add hosts")
    form = AddHostForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            host, token = services.add_host(request.user, form.cleaned_data["name"], origin=Origin.web(request),
                                            minutes=form.cleaned_data["minutes"])
        except AccessDenied as exc:
            raise PermissionDenied(exc.message) from None
        except InvalidRequest as exc:
            form.add_error("name", exc.message)
        else:
            return render(request, "hosts/joined.html", {"host": host, "command": services.hosts.join_command(token),
                                                         "minutes": form.cleaned_data["minutes"] or 60})
    return render(request, "hosts/add.html", {"form": form}, status=422 if form.errors else 200)


@require_POST
@viewer_required
def join_token(request, name):
    host = get_host_for_viewer(request, name)
    try:
        token = services.new_join_token(request.user, host, origin=Origin.web(request))
    except AccessDenied as exc:
        raise PermissionDenied(exc.message) from None
    return render(request, "hosts/joined.html", {"host": host, "command": services.hosts.join_command(token),
                                                 "minutes": 60, "again": True})


@require_POST
@viewer_required
def host_action(request, name, action):
    host = get_host_for_viewer(request, name)
    change, said = ACTIONS[action]
    try:
        host = change(request.user, host, origin=Origin.web(request))
    except AccessDenied as exc:
        raise PermissionDenied(exc.message) from None
    except InvalidRequest as exc:
        if request.htmx:
            return notify(render(request, PART, admin_context(host), status=422), "error", exc.message)
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
        host.refresh_from_db()
        return notify(render(request, PART, admin_context(host)), "success", text)
    messages.success(request, text)
    return redirect("host", host.name)
