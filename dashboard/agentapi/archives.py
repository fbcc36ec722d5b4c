"""Archive bytes through the worker API: a host uploads what its job says it may write, once; a host downloads what
the current step of its job says it may read, following an upload that is still going on."""

import json
import time

from django.db import transaction
from django.http import JsonResponse, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from snapshots import store, store_keys
from snapshots.agents import joining
from snapshots.errors import ArchiveRejected
from snapshots.jobs import transitions
from snapshots.models import Archive, Job
from snapshots.services import audit

from ..web.streaming import streamed
from .api import origin


def _error(status, message):
    return JsonResponse({"error": message}, status=status)


def _host(request):
    if not hasattr(request, "_cryo_host"):
        credential = joining.authenticate(bearer(request.headers.get("Authorization")))
        request._cryo_host = credential.host if credential else None
    return request._cryo_host


def accept_upload(token, archive_id, read, size_hint=None):
    """Store an upload for the host whose credential `token` is: (status, answer). Shared by the WSGI view below
    and the ASGI route (dashboard/asgi.py) that streams request bodies, which Django's ASGI handler would not."""
    credential = joining.authenticate(token)
    if credential is None:
        return 401, {"error": "a valid host credential is required"}
    host = credential.host
    archive = Archive.objects.select_related("job", "writer").filter(pk=archive_id).first()
    if archive is None or archive.writer_id != host.pk:
        return (403 if archive else 404), {"error": "this host may not write that archive"}
    if archive.state != Archive.State.WRITING or archive.job is None or archive.job.is_terminal:
        return 409, {"error": f"archive {archive.id} is {archive.state}; it can be written only once, by its job"}
    started, t0 = timezone.now(), time.monotonic()
    try:
        archive = store.receive(archive, read, size_hint=size_hint)
    except store.StoreFull as exc:
        return 507, {"error": exc.message}
    except ArchiveRejected as exc:
        return 409, {"error": exc.message}
    except OSError as exc:
        return 507, {"error": f"the dashboard could not store the archive: {exc.strerror or exc}"}
    if archive.kind == Archive.Kind.CHECKPOINT and archive.job.kind in (Job.Kind.CLONE, Job.Kind.MIGRATE):
        # written after the source handed the job on: the dashboard times it, as the phase "export"
        transitions.record_phase(archive.job_id, {"name": "export", "host": host.name, "started": started.isoformat(),
                                                  "seconds": round(time.monotonic() - t0, 3)})
    return 200, {"archive": str(archive.id), "sha256": archive.sha256, "size": archive.size}


def size_hint(header):
    """The size the writer expects (bytes before compression: an upper bound), so a store too small says no first."""
    return int(header) if header and header.isdigit() and len(header) < 16 else None


def bearer(header):
    scheme, _, token = (header or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


@csrf_exempt
@require_http_methods(["PUT"])
def upload(request, archive_id):
    reader = request.read if request.META.get("CONTENT_LENGTH") else request.environ["wsgi.input"].read
    status, answer = accept_upload(bearer(request.headers.get("Authorization")), archive_id, reader,
                                   size_hint=size_hint(request.headers.get("X-Cryo-Size")))
    return JsonResponse(answer, status=status)


def _readable(request, job_id, archive_id):
    host = _host(request)
    if host is None:
        return None, _error(401, "a valid host credential is required")
    job = Job.objects.filter(pk=job_id).first()
    if job is None or job.step_host_id != host.pk or job.is_terminal or not job.claimed_by:
        return None, _error(403, "this host has no running step of that job")
    if str(archive_id) not in (job.params.get("reads") or []):
        return None, _error(403, "that job's current step does not read that archive")
    archive = Archive.objects.filter(pk=archive_id).first()
    if archive is None or archive.state in (Archive.State.DELETED,):
        return None, _error(404, "that archive is gone")
    return archive, None


@require_http_methods(["GET"])
def download(request, job_id, archive_id):
    archive, refusal = _readable(request, job_id, archive_id)
    if refusal:
        return refusal
    if archive.state == Archive.State.FAILED:
        return _error(409, f"the archive could not be written on the source host: {archive.error}")
    response = StreamingHttpResponse(streamed(request, store.follow(archive)), content_type="application/octet-stream")
    response["X-Cryo-Archive"] = str(archive.id)
    return response


@require_http_methods(["GET"])
def digest(request, job_id, archive_id):
    """The digest the dashboard recorded as the bytes arrived: the anchor a reader checks what it got against."""
    archive, refusal = _readable(request, job_id, archive_id)
    if refusal:
        return refusal
    archive.refresh_from_db()
    return JsonResponse({"archive": str(archive.id), "state": archive.state, "sha256": archive.sha256,
                         "size": archive.size, "unpacked_size": archive.unpacked_size, "error": archive.error,
                         "image_id": archive.image_id, "sealed": bool(archive.key_id)})


# -- data keys -------------------------------------------------------------------------------------
def _release(request, host, archive, job):
    """The archive's data key, to a host of its job while the job runs; every release is audited (the job named in
    the details: the job's own rows are its request and its outcome)."""
    try:
        key = store_keys.unwrap(archive)
    except store_keys.KeyUnavailable as exc:
        return _error(409, exc.message)
    with transaction.atomic():
        audit.record(actor=None, actor_label=joining.agent_actor(host.name), action="agent.archive_key",
                     outcome="succeeded", origin=origin(request), host=host,
                     container_name=job.container_name, checkpoint_name=job.checkpoint_name,
                     details={"archive": str(archive.id), "kind": archive.kind, "job": str(job.id)})
    response = JsonResponse({"archive": str(archive.id), "key": store_keys.encoded(key)})
    response["Cache-Control"] = "no-store"
    return response


def _key_refused(request, host, status, message):
    if host is not None:
        with transaction.atomic():
            audit.record(actor=None, actor_label=joining.agent_actor(host.name), action="agent.archive_key",
                         outcome="denied", origin=origin(request), host=host,
                         details={"reason": message, "path": request.path[:200]})
    return _error(status, message)


@require_http_methods(["GET"])
def write_key(request, archive_id):
    """The key its writer seals an archive with: only while the archive is being written and its job runs (the
    source of a move writes on after it handed the job to the target, as accept_upload lets it)."""
    host = _host(request)
    if host is None:
        return _error(401, "a valid host credential is required")
    archive = Archive.objects.select_related("job").filter(pk=archive_id).first()
    if archive is None or archive.writer_id != host.pk:
        return _key_refused(request, host, 403, "this host may not write that archive")
    job = archive.job
    if archive.state != Archive.State.WRITING or job is None or job.is_terminal:
        return _key_refused(request, host, 409, f"archive {archive.id} is {archive.state} and its job is not "
                                                "running; its key is released only while it is being written")
    return _release(request, host, archive, job)


@require_http_methods(["GET"])
def read_key(request, job_id, archive_id):
    """The key a reader opens an archive with: only to the host of the running step that reads it."""
    archive, refusal = _readable(request, job_id, archive_id)
    if refusal:
        return _key_refused(request, _host(request), refusal.status_code, json.loads(refusal.content)["error"])
    return _release(request, _host(request), archive, Job.objects.get(pk=job_id))


