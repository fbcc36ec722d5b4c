"""Requesting jobs and following them. A waiting client long-polls one job: the answer comes as soon as the job
changes, so a CLI learns of the end within a few tens of milliseconds instead of a polling period."""
import time

from django.http import HttpResponse
from django.urls import reverse

from ninja import Status

from snapshots import services
from snapshots.models import Job
from snapshots.serializers import job_dict, job_version
from snapshots.services import access, resolve

from .api import api, origin
from .schemas import JobIn

WAIT_MAX = 25  # seconds one long poll may hold a server thread
WAIT_POLL = 0.03


def _container(data, user):
    return resolve.container(resolve.host(data.host, user), data.container or "")


def _checkpoint(data, user, usable=True):
    return resolve.checkpoint(_container(data, user), data.checkpoint or "", usable=usable)


def _to(data, user):
    return resolve.host(data.to, user) if data.to else None


# The one table from a job kind to its action; the CLI sends the same fields.
REQUESTS = {
    "checkpoint": lambda u, d, o: services.checkpoint(u, _container(d, u), name=d.name,
                                                      leave_running=d.leave_running, origin=o),
    "restore": lambda u, d, o: services.restore(u, _checkpoint(d, u), origin=o),
    "delete_checkpoint": lambda u, d, o: services.delete_checkpoint(u, _checkpoint(d, u, usable=False), origin=o),
    "export": lambda u, d, o: services.export(u, _checkpoint(d, u), origin=o),
    "clone": lambda u, d, o: services.clone(u, _checkpoint(d, u), to=_to(d, u), name=d.name, origin=o),
    "migrate": lambda u, d, o: services.migrate(u, _container(d, u), to=_to(d, u), keep_source=d.keep_source,
                                                name=d.name, origin=o),
    "sync": lambda u, d, o: services.sync(u, resolve.host(d.host, u), origin=o),
}


def _jobs():
    return Job.objects.select_related("host", "target_host")


@api.get("/jobs", url_name="api-jobs")
def jobs(request, host: str | None = None, state: str | None = None, limit: int = 50):
    found = access.visible(request.user, _jobs().order_by("-created_at"), "host", "target_host")
    if host:
        found = found.filter(host=resolve.host(host, request.user))
    if state:
        found = found.filter(state=state)
    return [job_dict(j) for j in found[: max(1, min(limit, 500))]]


@api.post("/jobs", response={202: dict}, url_name="api-job-request")
def request_job(request, payload: JobIn, response: HttpResponse):
    job = REQUESTS[payload.kind](request.user, payload, origin(request))
    response["Location"] = reverse("api-v1:api-job", args=[str(job.id)])
    return Status(202, job_dict(_jobs().get(pk=job.pk)))


@api.get("/jobs/{job_id}", url_name="api-job")
def job(request, job_id: str, wait: float = 0, seen: str = ""):
    """One job (an id or a unique prefix). With `wait`, answer when the job differs from `seen`, or after `wait` s."""
    found = resolve.job(job_id, request.user)
    deadline = time.monotonic() + max(0.0, min(wait, WAIT_MAX))
    while not found.is_terminal and job_version(found) == seen and time.monotonic() < deadline:
        time.sleep(WAIT_POLL)
        found = _jobs().get(pk=found.pk)
    return job_dict(found)
