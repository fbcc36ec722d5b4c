"""A small JSON API for automation. Each view authenticates, then calls the same services as the web and CLI."""
from django.http import JsonResponse
from django.urls import reverse

from snapshots import services
from snapshots.models import Checkpoint, Job
from snapshots.reconcile import reconcile_job
from snapshots.serializers import checkpoint_dict, container_dict, host_dict, job_dict
from snapshots.services import lookup

from .auth import ApiError, api_view, body, origin


def _json(data, status=200, **headers):
    response = JsonResponse(data, status=status, safe=False, json_dumps_params={"default": str})
    for key, value in headers.items():
        response[key] = value
    return response


@api_view("GET")
def hosts(request):
    from snapshots.models import Host

    return _json([host_dict(h) for h in Host.objects.all()])


@api_view("GET")
def containers(request, host):
    found = lookup.get_host(host).containers.present().select_related("host").order_by("name")
    return _json([container_dict(c) for c in found])


@api_view("GET")
def checkpoints(request, host, container):
    found = lookup.get_container(lookup.get_host(host), container)
    return _json([checkpoint_dict(cp) for cp in found.checkpoints.exclude(status=Checkpoint.Status.DELETED)])


def _field(data, name, required=True):
    value = data.get(name)
    if required and (value is None or value == ""):
        raise ApiError(400, f"'{name}' is required")
    if value is not None and not isinstance(value, (str, bool)):
        raise ApiError(400, f"'{name}' must be a string or a boolean")
    return value


REQUESTS = {
    "checkpoint": lambda u, d, o: services.request_checkpoint(
        u, _field(d, "host"), _field(d, "container"), name=_field(d, "name", False),
        leave_running=bool(_field(d, "leave_running", False)), origin=o),
    "restore": lambda u, d, o: services.request_restore(
        u, _field(d, "host"), _field(d, "container"), _field(d, "checkpoint"), origin=o),
    "delete_checkpoint": lambda u, d, o: services.request_delete_checkpoint(
        u, _field(d, "host"), _field(d, "container"), _field(d, "checkpoint"), origin=o),
    "export": lambda u, d, o: services.request_export(
        u, _field(d, "host"), _field(d, "container"), _field(d, "checkpoint"), origin=o),
    "clone": lambda u, d, o: services.request_clone(
        u, _field(d, "host"), _field(d, "container"), _field(d, "checkpoint"), to=_field(d, "to", False),
        name=_field(d, "name", False), origin=o),
    "migrate": lambda u, d, o: services.request_migrate(
        u, _field(d, "host"), _field(d, "container"), to=_field(d, "to"),
        keep_source=bool(_field(d, "keep_source", False)), name=_field(d, "name", False), origin=o),
    "sync": lambda u, d, o: services.request_sync(u, _field(d, "host"), origin=o),
}


@api_view("GET", "POST")
def jobs(request):
    """POST {"kind": "checkpoint", "host": ..., "container": ...} requests a job (202); GET lists recent jobs."""
    if request.method == "GET":
        recent = Job.objects.select_related("host", "target_host").order_by("-created_at")[:100]
        return _json([job_dict(j) for j in recent])
    data = body(request)
    kind = data.get("kind")
    if kind not in REQUESTS:
        raise ApiError(400, f"'kind' must be one of: {', '.join(REQUESTS)}")
    job = REQUESTS[kind](request.user, data, origin(request))
    url = reverse("api-job", args=[job.id])
    return _json(job_dict(Job.objects.select_related("host", "target_host").get(pk=job.pk)), status=202,
                 Location=url)


@api_view("GET")
def job(request, job_id):
    found = Job.objects.select_related("host", "target_host").filter(pk=job_id).first()
    if found is None:
        raise ApiError(404, f"no job {job_id}")
    if not found.is_terminal and reconcile_job(found):
        found.refresh_from_db()
    return _json(job_dict(found))
