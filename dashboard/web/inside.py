"""Inside a checkpoint: what its host's agent read from its CRIU images when the checkpoint was made. Read-only:
the dashboard shows what was reported and never touches the engine."""
from django.http import Http404
from django.views.decorators.http import require_GET

from snapshots.serializers import contents_dict

from .access import get_container_for_viewer, viewer_required
from .render import render_page

@require_GET
@viewer_required
def inside(request, pk, name):
    container = get_container_for_viewer(request, pk)
    checkpoint = container.checkpoints.live().filter(name=name).first()
    if checkpoint is None:
        raise Http404(f"no checkpoint {name!r} of {container.name}")
    return render_page(request, "containers/inside.html", {
        "container": container, "host": container.host, "checkpoint": checkpoint, "held": contents_dict(checkpoint)})
