from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET
from django_htmx.http import HttpResponseStopPolling, trigger_client_event

from . import queries
from .access import get_job_for_viewer, viewer_required
from .forms import JobFilterForm
from .paging import keyset_page, uuid_pk
from .render import JOBS_CHANGED, notify, render_page


@require_GET
@viewer_required
def jobs(request):
    form = JobFilterForm(request.GET, host_names=queries.visible_hosts(request.user).values_list("name", flat=True))
    page = keyset_page(
        queries.filtered_jobs(request.user, **form.filters()), time_field="created_at", pk_type=uuid_pk,
        before=request.GET.get("before", ""), after=request.GET.get("after", ""),
    )
    context = {"form": form, "page": page}
    return render_page(request, "jobs/list.html", context, parts={"jobs-table": "jobs/_table.html"})


@require_GET
@viewer_required
def job(request, job_id):
    """The job page; its live part polls every second while the job runs and gets 286 once it is over.
    Reading never writes: a job whose worker vanished is failed by reconciliation, not by whoever looks at it."""
    job = get_job_for_viewer(request, job_id)
    if request.htmx and request.htmx.target == "job-live" and job.is_terminal:
        return _finished(request, job, "jobs/_live.html")
    return render_page(request, "jobs/detail.html", {"job": job}, parts={"job-live": "jobs/_live.html"})


@require_GET
@viewer_required
def job_row(request, job_id):
    """One row of a job table, polled while the job runs; the last answer (286) tells the page it finished."""
    job = get_job_for_viewer(request, job_id)
    if not job.is_terminal:
        return render(request, "jobs/_row.html", {"job": job})
    return _finished(request, job, "jobs/_row.html")


def _finished(request, job, template):
    """The final rendering of a finished job, with status 286 so the poll stops, and events for the page."""
    response = HttpResponseStopPolling(render_to_string(template, {"job": job}, request))
    trigger_client_event(response, JOBS_CHANGED, {"job": str(job.id), "state": job.state})
    if job.requested_by_id != request.user.pk:
        return response
    if job.state == job.State.SUCCEEDED:
        return notify(response, "success", f"Succeeded: {job.describe()}")
    return notify(response, "error", f"Failed: {job.describe()}: {job.error}")
