from django.db import transaction
from django.views.decorators.http import require_GET

from snapshots.models import AuditEvent, Job
from snapshots.services import Origin
from snapshots.services import audit as audit_trail

from . import exports
from .access import viewer_required
from .forms import AuditFilterForm
from .paging import keyset_page
from .render import render_page

KNOWN_ACTIONS = [kind for kind, _label in Job.Kind.choices]


def _events(request):
    form = AuditFilterForm(request.GET)
    return form, AuditEvent.objects.filter(**form.filters())


@require_GET
@viewer_required
def audit(request):
    form, events = _events(request)
    page = keyset_page(events, time_field="at", before=request.GET.get("before", ""),
                       after=request.GET.get("after", ""))
    context = {"form": form, "page": page, "known_actions": KNOWN_ACTIONS, "export_query": _filters_query(request)}
    return render_page(request, "audit/list.html", context, parts={"audit-table": "audit/_table.html"})


@require_GET
@viewer_required
def audit_export(request, fmt):
    form, events = _events(request)
    events = events.order_by("-at", "-id")
    with transaction.atomic():
        exported = audit_trail.record(
            actor=request.user, action="audit.export", outcome="succeeded", origin=Origin.web(request),
            details={"format": fmt, "filters": {k: str(v) for k, v in form.filters().items()}},
        )
    events = events.exclude(pk=exported.pk)
    return exports.audit_csv(request, events) if fmt == "csv" else exports.audit_json(request, events)


def _filters_query(request):
    query = request.GET.copy()
    for key in ("before", "after"):
        query.pop(key, None)
    return query.urlencode()
