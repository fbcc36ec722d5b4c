from django.views.decorators.http import require_GET

from . import queries
from .access import can_operate, get_container_for_viewer, viewer_required
from .forms import CheckpointForm, RestoreForm
from .render import render_page

PARTS = {"container-live": "containers/_live.html", "checkpoint-panel": "containers/_checkpoint_form.html"}


def page_context(request, container, *, checkpoint_form=None, restore_form=None):
    """Everything the container page shows; action views reuse it to show a refused form in place."""
    data = queries.container_page(container)
    operable = can_operate(request, container.host)
    return {
        "container": container,
        "host": container.host,
        "can_operate": operable,
        "checkpoint_form": checkpoint_form or CheckpointForm.suggested(container),
        "restore_form": restore_form or RestoreForm(checkpoints=data["checkpoints"]),
        "in_flight": any(not job.is_terminal for job in data["jobs"]),
        **data,
    }


@require_GET
@viewer_required
def container(request, pk):
    container = get_container_for_viewer(request, pk)
    return render_page(request, "containers/page.html", page_context(request, container), parts=PARTS)
