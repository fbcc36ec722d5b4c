"""The worker API (v1). Each request is authenticated with one host's credential and can only read or change what
belongs to that host, in the state the dashboard expects. Refusals that smell of forgery are audited."""
import logging

from django.db import transaction
from ninja import NinjaAPI, Status
from ninja.errors import AuthenticationError, ValidationError
from ninja.security import HttpBearer

from snapshots.agents import inventory, joining, presence
from snapshots.errors import CryoError
from snapshots.jobs import transitions
from snapshots.services import audit
from snapshots.services.origin import Origin

from . import schemas as s

log = logging.getLogger(__name__)


class HostCredentialAuth(HttpBearer):
    def authenticate(self, request, token):
        credential = joining.authenticate(token)
        if credential is None:
            return None
        request.host = credential.host
        return credential


api = NinjaAPI(title="Cryo worker API", version="1", urls_namespace="agent-v1", auth=HostCredentialAuth(),
               docs_url=None)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    return api.create_response(
        request, {"error": "a valid host credential is required (it was revoked, or the host was removed)"},
        status=401)


@api.exception_handler(ValidationError)
def _invalid(request, exc):
    first = exc.errors[0] if exc.errors else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "payload"))
    return api.create_response(request, {"error": f"'{where or 'request'}': {first.get('msg', 'invalid')}"}, status=400)


@api.exception_handler(transitions.Refused)
def _refused(request, exc):
    if isinstance(exc, transitions.NotYours):
        _audit_denied(request, exc.message)
    return api.create_response(request, {"error": exc.message}, status=exc.status)


@api.exception_handler(presence.AgentConflict)
def _conflict(request, exc):
    return api.create_response(request, {"error": exc.message}, status=409)


@api.exception_handler(CryoError)
def _cryo_error(request, exc):
    return api.create_response(request, {"error": exc.message}, status=400)


def origin(request):
    address = getattr(request, "client_address", None) or request.META.get("REMOTE_ADDR", "")
    return Origin(source=f"agent:{address}", request_id=getattr(request, "request_id", ""))


def _audit_denied(request, reason):
    host = getattr(request, "host", None)
    with transaction.atomic():
        audit.record(actor=None, actor_label=joining.agent_actor(host.name if host else "unknown"),
                     action=f"agent.{request.resolver_match.url_name}", outcome="denied", origin=origin(request),
                     host=host, details={"reason": reason, "path": request.path[:200]})


def _agent(request, agent_id):
    """Job and inventory reports come only from the host's current agent process."""
    if request.host.worker_id != agent_id:
        raise transitions.Stale("this agent process is not the host's current agent; say hello first")


# -- joining and presence ------------------------------------------------------------------------
@api.post("/join", auth=None, response={200: s.JoinOut, 400: s.Error}, url_name="join")
def join(request, payload: s.JoinIn):
    host, credential = joining.join(payload.token, source=origin(request).source)
    return {"host": host.name, "credential": credential}


@api.post("/hello", response={200: dict, 409: s.Error}, url_name="hello")
def hello(request, payload: s.HelloIn):
    return presence.hello(request.auth, agent_id=payload.agent_id, agent_hostname=payload.hostname,
                          version=payload.version, facts=payload.facts, replaces=payload.replaces)


@api.post("/heartbeat", response={200: dict, 409: s.Error}, url_name="heartbeat")
def heartbeat(request, payload: s.HeartbeatIn):
    return presence.heartbeat(request.auth, agent_id=payload.agent_id, facts=payload.facts,
                              in_flight=payload.in_flight)


@api.post("/goodbye", response={204: None}, url_name="goodbye")
def goodbye(request, payload: s.AgentIn):
    presence.goodbye(request.auth, agent_id=payload.agent_id)
    return Status(204, None)


@api.post("/inventory", response={200: dict, 409: s.Error}, url_name="inventory")
def full_inventory(request, payload: s.InventoryIn):
    _agent(request, payload.agent_id)
    return inventory.apply_full(request.host, payload.model_dump())


@api.post("/containers/{engine_id}", response={204: None, 409: s.Error}, url_name="container")
def one_container(request, engine_id: str, payload: s.ContainerIn):
    _agent(request, payload.agent_id)
    inventory.apply_one(request.host, engine_id, {"gone": True} if payload.gone else payload.container)
    return Status(204, None)


# -- jobs ------------------------------------------------------------------------------------------
def _state(job):
    return {"job": str(job.id), "state": job.state, "step": job.step,
            "step_host": job.step_host.name if job.step_host_id else None}


@api.post("/jobs/{job_id}/claim", response={200: dict, 403: s.Error, 404: s.Error, 409: s.Error},
          url_name="claim")
def claim(request, job_id: str, payload: s.AgentIn):
    _agent(request, payload.agent_id)
    _job, order = transitions.claim(_uuid(job_id), request.host, payload.agent_id)
    return order


@api.post("/jobs/{job_id}/phase", response={200: s.JobState, 403: s.Error, 404: s.Error, 409: s.Error},
          url_name="phase")
def phase(request, job_id: str, payload: s.PhaseIn):
    job = transitions.report_phase(_uuid(job_id), request.host, payload.agent_id, payload.step, payload.name,
                                   seconds=payload.seconds)
    return _state(job)


@api.post("/jobs/{job_id}/handoff", response={200: s.JobState, 403: s.Error, 404: s.Error, 409: s.Error},
          url_name="handoff")
def handoff(request, job_id: str, payload: s.StepIn):
    job = transitions.complete(_uuid(job_id), request.host, payload.agent_id, payload.step, payload.result,
                               early=True)
    return _state(job)


@api.post("/jobs/{job_id}/finish", response={200: s.JobState, 403: s.Error, 404: s.Error, 409: s.Error},
          url_name="finish")
def finish(request, job_id: str, payload: s.FinishIn):
    job_id = _uuid(job_id)
    if payload.outcome == "succeeded":
        job = transitions.complete(job_id, request.host, payload.agent_id, payload.step, payload.result)
    else:
        job = transitions.fail(job_id, request.host, payload.agent_id, payload.step, payload.error, payload.result)
    return _state(job)


def _uuid(value):
    import uuid

    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise transitions.NotFound(f"{str(value)[:40]!r} is not a job id") from None


