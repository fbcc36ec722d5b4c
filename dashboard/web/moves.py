"""Clone and migrate from the browser. A migration shows its pre-flight checks first and runs on confirmation."""
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.views.decorators.http import require_POST

from snapshots import services
from snapshots.errors import AccessDenied, Busy, InvalidRequest
from snapshots.models import Host, Job
from snapshots.services import Origin, resolve

from . import queries
from .access import get_container_for_operator, viewer_required
from .containers import page_context
from .forms import CloneForm, MigrateForm
from .render import job_requested, refused, render_page

CLONE_PART = "containers/_clone_form.html"
MIGRATE_PART = "containers/_migrate_form.html"


def _done(request, job, container, context, part):
    return job_requested(request, job, part=part, context=context, fallback=reverse("container", args=[container.pk]))


@require_POST
@viewer_required
def clone(request, pk):
    container = get_container_for_operator(request, pk, Job.Kind.CLONE, request.POST.get("checkpoint", ""))
    context = page_context(request, container)
    # Any host is accepted here; the service decides whether this person may use it (403, audited).
    form = CloneForm(request.POST, checkpoints=context["checkpoints"], hosts=Host.objects.all(),
                     source=container.host)
    if form.is_valid():
        data = form.cleaned_data
        try:
            job = services.clone(request.user, resolve.checkpoint(container, data["checkpoint"]),
                                 to=Host.objects.get(name=data["to"]), name=data["name"] or None,
                                 origin=Origin.web(request))
        except AccessDenied as exc:
            raise PermissionDenied(exc.message) from None
        except (InvalidRequest, Busy) as exc:
            form.add_error(None, exc.message)
        else:
            return _done(request, job, container, context, CLONE_PART)
    context["clone_form"] = CloneForm(request.POST, checkpoints=context["checkpoints"], hosts=context["targets"],
                                      source=container.host)
    context["clone_form"]._errors = form.errors
    error = " ".join(form.errors.get("__all__", [])) or "Check the clone form."
    return refused(request, error, page="containers/page.html", part=CLONE_PART, context=context)


@require_POST
@viewer_required
def migrate(request, pk):
    """First post: the pre-flight checks for the chosen host. A second post for that same host: the migration."""
    container = get_container_for_operator(request, pk, Job.Kind.MIGRATE)
    context = page_context(request, container)
    form = MigrateForm(request.POST, hosts=Host.objects.all(), source=container.host)
    context["migrate_form"] = form
    if not form.is_valid():
        error = " ".join(e for errors in form.errors.values() for e in errors) or "Choose a target host."
        return refused(request, error, page="containers/page.html", part=MIGRATE_PART, context=context)
    data = form.cleaned_data
    if data["checked"] != data["to"]:
        target = Host.objects.get(name=data["to"])
        checks = services.migration_preflight(container, target)
        context.update(checks=checks, checks_ok=all(c.ok for c in checks), checked_target=target)
        return render_page(request, "containers/page.html", context, parts={"migrate-panel": MIGRATE_PART})
    try:
        job = services.migrate(request.user, container, to=Host.objects.get(name=data["to"]),
                               keep_source=data["keep_source"], origin=Origin.web(request))
    except AccessDenied as exc:
        raise PermissionDenied(exc.message) from None
    except (InvalidRequest, Busy) as exc:
        form.add_error(None, exc.message)
        return refused(request, exc.message, page="containers/page.html", part=MIGRATE_PART, context=context)
    context["migrate_form"] = MigrateForm(hosts=queries.operable_hosts(request.user), source=container.host)
    return _done(request, job, container, context, MIGRATE_PART)
