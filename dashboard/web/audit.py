from django.db import transaction
from django.views.decorators.http import require_GET, require_POST

from django.db.models import Q

from snapshots.models import AuditEvent, Host, Job
from snapshots.services import Origin, access
from snapshots.services import audit as audit_trail

from . import exports
from .access import viewer_required
from .forms import AuditFilterForm
from .paging import keyset_page
from .render import render_page

KNOWN_ACTIONS = [kind for kind, _label in Job.Kind.choices]


def _events(data, user):
    """The rows the filters ask for, among those the person may see: with CRYO_TEAM_SCOPED_VISIBILITY, rows about
    hosts they may see and their own rows (admins see all)."""
    form = AuditFilterForm(data)
    events = AuditEvent.objects.filter(**form.filters())
    ids = access.visible_host_ids(user)
    if ids is not None:
        names = list(Host.all_objects.filter(pk__in=ids).values_list("name", flat=True))
        events = events.filter(Q(host_name__in=names) | Q(target_host_name__in=names) | Q(actor_id=user.pk))
    return form, events


@require_GET
@viewer_required
def audit(request):
    form, events = _events(request.GET, request.user)
    page = keyset_page(events, time_field="at", before=request.GET.get("before", ""),
                       after=request.GET.get("after", ""))
    export_filters = [(name, value) for name, value in request.GET.items() if name in form.fields and value]
    context = {"form": form, "page": page, "known_actions": KNOWN_ACTIONS, "export_filters": export_filters}
    return render_page(request, "audit/list.html", context, parts={"audit-table": "audit/_table.html"})


@require_POST
@viewer_required
def audit_export(request, fmt):
    """A POST (a GET never writes, and an export writes its own audit row); the filters come as form fields."""
    form, events = _events(request.POST, request.user)
    events = events.order_by("-at", "-id")
    with transaction.atomic():
        exported = audit_trail.record(
            actor=request.user, action="audit.export", outcome="succeeded", origin=Origin.web(request),
            details={"format": fmt, "filters": {k: str(v) for k, v in form.filters().items()}},
        )
    events = events.exclude(pk=exported.pk)
    return exports.audit_csv(request, events) if fmt == "csv" else exports.audit_json(request, events)
