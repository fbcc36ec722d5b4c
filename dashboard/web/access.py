"""Access helpers for views. Every view starts with one of these, so who may see or do what reads in one place.

Reading is open to every signed-in person; acting is decided by snapshots.services.access (the same rules the
CLI obeys). A refused action (a POST) is audited as "denied" before the 403, exactly like a refusal in the
service layer; a page that only offers an action is refused without a row, since GET requests never write.
"""
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django_htmx.http import HttpResponseClientRedirect

from snapshots.errors import AccessDenied
from snapshots.models import Container, Host, Job
from snapshots.services import Origin, access


def viewer_required(view):
    """Signed-in people only; an htmx request from an expired session sends the whole page to the sign-in form."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            if request.htmx:
                return HttpResponseClientRedirect(redirect_to_login(request.get_full_path()).url)
            return redirect_to_login(request.get_full_path())
        if not access.can_view(request.user):
            raise PermissionDenied("your account may not use Cryo")
        return view(request, *args, **kwargs)

    return wrapped


def get_host_for_viewer(request, name):
    """A host the person may see (all of them, unless CRYO_TEAM_SCOPED_VISIBILITY); any other is not found."""
    return get_object_or_404(access.visible(request.user, Host.objects.all(), "pk"), name=name)


def get_container_for_viewer(request, pk):
    return get_object_or_404(access.visible(request.user, Container.objects.select_related("host")), pk=pk)


def get_job_for_viewer(request, job_id):
    jobs = access.visible(request.user, Job.objects.select_related("host", "target_host", "container"), "host",
                          "target_host")
    return get_object_or_404(jobs, pk=job_id)


def require_operate(request, host, action, **where):
    """Refuse (403, audited as denied) unless the person may act on the host."""
    try:
        access.require_operate(request.user, action, Origin.web(request), host, **where)
    except AccessDenied as exc:
        raise PermissionDenied(exc.message) from None


def offer_only_to_operators(request, host):
    """A page that only offers an action (a confirmation) is refused to those who may not take it, but not
    audited: a GET is not an attempt, and a GET never writes."""
    if not access.can_operate(request.user, host):
        raise PermissionDenied(f"{request.user.get_username()} may not act on host {host.name}")


def get_container_for_operator(request, pk, action, checkpoint_name=""):
    container = get_container_for_viewer(request, pk)
    require_operate(request, container.host, action, container_name=container.name, checkpoint_name=checkpoint_name)
    return container


def get_host_for_operator(request, name, action):
    host = get_host_for_viewer(request, name)
    require_operate(request, host, action)
    return host


def can_operate(request, host):
    return access.can_operate(request.user, host)
