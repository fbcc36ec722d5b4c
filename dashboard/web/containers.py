from datetime import timedelta

from django.utils import timezone
from django.views.decorators.http import require_GET

from . import charts, queries
from .access import can_operate, get_container_for_viewer, viewer_required
from .forms import CheckpointForm, CloneForm, MigrateForm, RestoreForm
from .render import render_page, wants_part

PARTS = {
    "container-live": "containers/_live.html",
    "checkpoint-panel": "containers/_checkpoint_form.html",
    "restore-panel": "containers/_restore_form.html",
    "clone-panel": "containers/_clone_form.html",
    "migrate-panel": "containers/_migrate_form.html",
}
# After a job ends, the worker refreshes the container's row; the page keeps looking for that long.
SETTLE = timedelta(seconds=10)


def page_context(request, container, *, checkpoint_form=None, restore_form=None):
    """Everything the container page shows; action views reuse it to show a refused form in place."""
    data = queries.container_page(container)
    since = timezone.now() - SETTLE
    operable = queries.operable_hosts(request.user) if can_operate(request, container.host) else []
    from .schedules import container_context

    return {
        **container_context(request, container),
        "clone_form": CloneForm(checkpoints=data["checkpoints"], hosts=operable, source=container.host),
        "migrate_form": MigrateForm(hosts=operable, source=container.host),
        "targets": operable,
        "container": container,
        "host": container.host,
        "can_operate": can_operate(request, container.host),
        "checkpoint_form": checkpoint_form or CheckpointForm.suggested(container),
        "restore_form": restore_form or RestoreForm(checkpoints=data["checkpoints"]),
        "settling": any(job.finished_at and job.finished_at > since for job in data["jobs"]),
        **data,
    }


@require_GET
@viewer_required
def container(request, pk):
    container = get_container_for_viewer(request, pk)
    context = page_context(request, container)
    if not wants_part(request, PARTS):  # the pictures are not part of the live refresh
        context["pictures"] = charts.container_pictures(container)
    return render_page(request, "containers/page.html", context, parts=PARTS)
