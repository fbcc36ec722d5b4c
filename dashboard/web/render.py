"""One template per page; an htmx request aimed at one of the page's parts gets only that part, same context."""
from django.contrib import messages
from django.shortcuts import redirect, render
from django_htmx.http import trigger_client_event

JOBS_CHANGED = "cryo:jobs-changed"
NOTIFY = "cryo:notify"


def wants_part(request, parts):
    """The part template for an htmx request whose target is one of the page's parts, else None."""
    if not request.htmx or request.htmx.history_restore_request:
        return None
    return parts.get(request.htmx.target or "")


def render_page(request, template, context, *, parts=None, status=200):
    return render(request, wants_part(request, parts or {}) or template, context, status=status)


def notify(response, level, text):
    """A small notification in the browser (htmx); plain pages show Django messages instead."""
    return trigger_client_event(response, NOTIFY, {"level": level, "text": text})


def job_requested(request, job, *, part, context, fallback):
    """After a job was requested: htmx gets the fresh form part and a notice; plain HTML redirects (PRG)."""
    text = f"Requested: {job.describe()} (job {job.short_id})"
    if request.htmx:
        response = render(request, part, context)
        trigger_client_event(response, JOBS_CHANGED, {"job": str(job.id)})
        return notify(response, "success", text)
    messages.success(request, text)
    return redirect(fallback)


def refused(request, error, *, page, part, context):
    """A request the service refused (invalid or busy): the form again, with the reason inline (422)."""
    if request.htmx:
        return notify(render(request, part, context, status=422), "error", error)
    messages.error(request, error)
    return render(request, page, context, status=422)
