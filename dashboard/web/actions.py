"""Checkpoint, restore and delete from the browser: each view checks access, then calls one service."""
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from snapshots import services
from snapshots.errors import Busy, InvalidRequest
from snapshots.models import Job
from snapshots.services import Origin, resolve

from .access import get_container_for_operator, get_container_for_viewer, offer_only_to_operators, viewer_required
from .containers import page_context
from .forms import CheckpointForm, RestoreForm
from .render import job_requested, refused, render_page


def _done(request, job, container, context, part):
    return job_requested(request, job, part=part, context=context, fallback=reverse("container", args=[container.pk]))


@require_POST
@viewer_required
def checkpoint(request, pk):
    container = get_container_for_operator(request, pk, Job.Kind.CHECKPOINT)
    form = CheckpointForm(request.POST)
    part = "containers/_checkpoint_form.html"
    if form.is_valid():
        try:
            job = services.checkpoint(
                request.user, container, name=form.cleaned_data["name"],
                leave_running=form.cleaned_data["leave_running"], origin=Origin.web(request),
            )
        except (InvalidRequest, Busy) as exc:
            form.add_error(None, exc.message)
        else:
            return _done(request, job, container, page_context(request, container), part)
    error = " ".join(form.errors.get("__all__", [])) or "Check the checkpoint form."
    return refused(request, error, page="containers/page.html", part=part,
                   context=page_context(request, container, checkpoint_form=form))


@require_POST
@viewer_required
def restore(request, pk):
    container = get_container_for_operator(request, pk, Job.Kind.RESTORE, request.POST.get("checkpoint", ""))
    context = page_context(request, container)
    form = RestoreForm(request.POST, checkpoints=context["checkpoints"])
    part = "containers/_restore_form.html"
    if form.is_valid():
        try:
            job = services.restore(request.user, resolve.checkpoint(container, form.cleaned_data["checkpoint"]),
                                   origin=Origin.web(request))
        except (InvalidRequest, Busy) as exc:
            form.add_error(None, exc.message)
        else:
            return _done(request, job, container, context, part)
    error = " ".join(form.errors.get("__all__", [])) or "Choose a checkpoint to restore."
    context["restore_form"] = form
    return refused(request, error, page="containers/page.html", part=part, context=context)


@require_http_methods(["GET", "POST"])
@viewer_required
def delete_checkpoint(request, pk, name):
    """GET asks for confirmation, naming the checkpoint (only of those who may delete it); POST requests it."""
    part = "containers/_delete_confirm.html"
    if request.method == "GET":
        container = get_container_for_viewer(request, pk)
        offer_only_to_operators(request, container.host)
        context = {**page_context(request, container), "checkpoint_name": name, "error": ""}
        return render_page(request, "containers/delete.html", context, parts={"container-dialog": part})
    container = get_container_for_operator(request, pk, Job.Kind.DELETE_CHECKPOINT, name)
    context = {**page_context(request, container), "checkpoint_name": name, "error": ""}
    try:
        job = services.delete_checkpoint(request.user, resolve.checkpoint(container, name, usable=False),
                                         origin=Origin.web(request))
    except (InvalidRequest, Busy) as exc:
        context["error"] = exc.message
        return refused(request, exc.message, page="containers/delete.html", part=part, context=context)
    context["checkpoint_name"] = ""
    return _done(request, job, container, context, part)
