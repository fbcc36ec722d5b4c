from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from snapshots import services
from snapshots.errors import CryoError
from snapshots.models import HostCredential, Job
from snapshots.services import Origin, access

from . import charts, queries
from .access import can_operate, get_host_for_operator, get_host_for_viewer, viewer_required
from .paging import numbered_page
from .render import job_requested, refused, render_page, wants_part

PARTS = {"containers-table": "hosts/_containers.html"}


def _context(request, host):
    sort = request.GET.get("sort", "name")
    include_gone = request.GET.get("gone") == "1"
    page = numbered_page(queries.host_containers(host, sort=sort, include_gone=include_gone), request.GET.get("page"))
    return {
        "host": host, "page": page, "sort": sort, "include_gone": include_gone,
        "can_operate": can_operate(request, host),
        "is_admin": access.is_admin(request.user),
        "has_credential": HostCredential.objects.live().filter(host=host).exists(),
    }


@require_GET
@viewer_required
def host(request, name):
    host = get_host_for_viewer(request, name)
    context = _context(request, host)
    if not wants_part(request, PARTS):
        context["pictures"] = charts.host_pictures(host)
    return render_page(request, "hosts/page.html", context, parts=PARTS)


@require_POST
@viewer_required
def sync(request, name):
    host = get_host_for_operator(request, name, Job.Kind.SYNC)
    try:
        job = services.sync(request.user, host, origin=Origin.web(request))
    except CryoError as exc:
        return refused(request, exc.message, page="hosts/page.html", part="hosts/_sync.html",
                       context=_context(request, host))
    return job_requested(request, job, part="hosts/_sync.html", context={"host": host, "can_operate": True},
                         fallback=reverse("host", args=[host.name]))
