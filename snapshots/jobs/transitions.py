"""Every change of a Job's state happens here, and nowhere else.

A job is a row first: it is created with its "requested" audit row in one transaction, and its message goes to
the broker only once that commits. The message names the job and nothing more; the agent that receives it asks
the dashboard for its work (`claim`), and the dashboard answers only the agent of the host that runs the job's
current step, only while that step waits for it. Each claim, phase, hand-off and outcome is a conditional update
on (job, step, holder), so a redelivered, replayed or misrouted message, or a late report from an agent that lost
the job, changes nothing.
"""
import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .. import events
from ..errors import Busy
from ..models import Container, Job
from ..services import audit
from . import limits, outbox
from .kinds import kind_of
from .outcomes import Done, Failed, Next, RolledBack

log = logging.getLogger(__name__)
PHASE_NAME_MAX = 32


class Refused(Exception):
    """An agent's request about a job that it may not make (now). The worker API answers with `status`."""

    status = 409

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class NotFound(Refused):
    status = 404


class NotYours(Refused):
    """The job's current step belongs to another host: worth an audit row, someone may be forging."""

    status = 403


class Stale(Refused):
    """The step is over, taken by another agent process, or the job finished."""

    status = 409


def _changed(job):
    """Pages and notifications hear of the change once it is committed."""
    transaction.on_commit(lambda: events.job_changed(job))


def _lease():
    return timedelta(seconds=settings.CRYO_JOB_LEASE)


def _expiry():
    return timezone.now() + timedelta(seconds=settings.CRYO_JOB_QUEUE_EXPIRY)


def _load(job_id, *, lock=False):
    qs = Job.objects.select_related("host", "target_host", "step_host", "container")
    if lock:
        qs = qs.select_for_update(of=("self",))
    return qs.filter(pk=job_id).first()


# -- requested -----------------------------------------------------------------------------------
def create(*, actor, kind, host, origin, container=None, checkpoint_name="", params=None, target_host=None,
           audit_details=None, actor_label=None):
    """The job row and its "requested" audit row in one transaction; the message goes out on commit.
    `actor_label` names a requester acting for the actor (a schedule), on the job and its audit rows."""
    now = timezone.now()
    try:
        return _create(now, actor=actor, kind=kind, host=host, origin=origin, container=container,
                       checkpoint_name=checkpoint_name, params=params, target_host=target_host,
                       audit_details=audit_details, actor_label=actor_label)
    except Busy as exc:  # OverLimit too
        with transaction.atomic():  # the refusal is on record, like the request would have been
            audit.record(actor=actor, actor_label=actor_label, action=kind, outcome="refused", origin=origin,
                         host=host,
                         container_name=container.name if container else "", checkpoint_name=checkpoint_name,
                         target_host=target_host, details={"reason": exc.message})
        raise


def _create(now, *, actor, kind, host, origin, container, checkpoint_name, params, target_host, audit_details,
            actor_label):
    with transaction.atomic():
        if container is not None:
            # Serialize requests on one container (row lock on PostgreSQL; SQLite's write lock does the same).
            Container.objects.select_for_update().filter(pk=container.pk).exists()
            in_flight = (Job.objects.filter(container=container, state__in=Job.ENQUEUED_STATES)
                         .order_by("created_at").first())
            if in_flight is not None:
                message = (
                    f"container {container.name} on {container.host.name} already has a job in flight: "
                    f"{in_flight.get_kind_display().lower()} job {in_flight.short_id} ({in_flight.state}, requested by "
                    f"{in_flight.requested_by_name or 'system'}); wait for it to finish"
                )
                raise Busy(message)
        limits.check(actor=actor, kind=kind, host=host, target_host=target_host, container=container)
        job = Job(
            kind=kind, host=host, target_host=target_host, container=container,
            container_name=container.name if container else "", checkpoint_name=checkpoint_name,
            params=dict(params or {}), requested_by=actor if actor is not None and actor.pk else None,
            requested_by_name=(actor_label or audit.actor_name(actor))[:150], source=origin.source,
            request_id=origin.request_id,
            created_at=now, expires_at=_expiry(), sent_at=now, send_count=1,
        )
        kind_obj = kind_of(job)
        job.step = kind_obj.first_step(job)
        job.step_host = kind_obj.host_for(job, job.step)
        job.save()
        audit.record(
            actor=actor, actor_label=actor_label, action=kind, outcome="requested", origin=origin, host=host,
            container_name=job.container_name, checkpoint_name=checkpoint_name, job=job,
            target_host=target_host, details=audit_details or params or {},
        )
        outbox.send_on_commit(job)
        _changed(job)
    return job


# -- an agent at work ------------------------------------------------------------------------------
def claim(job_id, host, agent_id):
    """Give the current step of the job to this agent, with its work order. Idempotent for the same agent."""
    now = timezone.now()
    order = None
    with transaction.atomic():
        job = _load(job_id, lock=True)
        _check_owner(job, job_id, host)
        if job.claimed_by and job.claimed_by != agent_id:
            raise Stale(f"job {job.id} step {job.step} is already held by another agent process")
        if not job.claimed_by and job.state == Job.State.QUEUED and job.expires_at and job.expires_at < now:
            _expire(job, now)  # committed: the refusal below is raised after the transaction
        else:
            if not job.claimed_by:
                job.claimed_by = agent_id
                job.state = Job.State.RUNNING
                job.started_at = job.started_at or now
                job.lease_until = now + _lease()
                job.phase = "starting"
            order = kind_of(job).order(job, job.step)  # may prepare archives, noted in the job's params
            job.save(update_fields=["claimed_by", "state", "started_at", "lease_until", "phase", "params"])
            _changed(job)
    if order is None:
        raise Stale(f"job {job.id} expired in the queue before it started; it will not run late")
    return job, order


def report_phase(job_id, host, agent_id, step, name, *, seconds=None):
    """A phase started (seconds None) or ended on the host; times are the dashboard's, so hosts' clocks don't matter."""
    name = str(name)[:PHASE_NAME_MAX]
    with transaction.atomic():
        job = _held(job_id, host, agent_id, step, lock=True)
        phases = list(job.phases)
        now = timezone.now()
        if seconds is None:
            phases.append({"name": name, "host": host.name, "started": now.isoformat(), "seconds": None})
            job.phase = name
        else:
            open_entry = next((p for p in reversed(phases) if p["name"] == name and p.get("host") == host.name
                               and p.get("seconds") is None), None)
            if open_entry is None:
                started = now - timedelta(seconds=float(seconds))
                phases.append({"name": name, "host": host.name, "started": started.isoformat(), "seconds": None})
                open_entry = phases[-1]
            open_entry["seconds"] = round(float(seconds), 3)
        job.phases = phases
        job.lease_until = now + _lease()
        job.save(update_fields=["phases", "phase", "lease_until"])
        _changed(job)
    return job


def record_phase(job_id, entry):
    """A phase timed by the dashboard itself (a source host's upload after it handed the job on), placed by time."""
    with transaction.atomic():
        job = _load(job_id, lock=True)
        if job is None:
            return
        phases = sorted([*job.phases, entry], key=lambda p: p["started"])
        Job.objects.filter(pk=job.pk).update(phases=phases)


def complete(job_id, host, agent_id, step, result, *, early=False):
    """The step's work is done (or, `early`, far enough along for the next step to start). Returns the job.

    Saying the same thing twice (an agent retrying after a lost answer) changes nothing and is answered alike.
    """
    with transaction.atomic():
        job = _load(job_id, lock=True)
        said = {"step": step, "agent": agent_id, "host": host.name}
        if early and job is not None and job.params.get("handed_on") == said:
            return job
        job = _held(job_id, host, agent_id, step, lock=True)
        kind = kind_of(job)
        if early and step not in kind.early_handoff:
            raise Refused(f"step {step} of a {job.kind} job cannot hand the job on before it ends")
        if early:
            job.params["handed_on"] = said
        _advance(job, kind.done(job, step, result if isinstance(result, dict) else {}))
    return job


def fail(job_id, host, agent_id, step, error, result):
    with transaction.atomic():
        job = _held(job_id, host, agent_id, step, lock=True)
        error = str(error or "the host reported a failure without a reason")[:4000]
        _advance(job, kind_of(job).failed(job, step, error, result if isinstance(result, dict) else {}))
    return job


def renew(host, agent_id, job_ids):
    """The heartbeat's list of jobs the agent holds: their leases go on; returns the ids it still holds."""
    now = timezone.now()
    held = Job.objects.filter(pk__in=job_ids[:200], step_host=host, claimed_by=agent_id,
                              state=Job.State.RUNNING)
    held.update(lease_until=now + _lease())
    return [str(pk) for pk in held.values_list("pk", flat=True)]


def _check_owner(job, job_id, host):
    if job is None:
        raise NotFound(f"no job {job_id}")
    if job.step_host_id != host.pk:
        raise NotYours(f"job {job.id} (step {job.step}) does not belong to host {host.name}")
    if job.is_terminal:
        raise Stale(f"job {job.id} is already {job.state}")


def _held(job_id, host, agent_id, step, *, lock=False):
    job = _load(job_id, lock=lock)
    _check_owner(job, job_id, host)
    if job.step != step or job.claimed_by != agent_id:
        raise Stale(f"job {job.id} is at step {job.step}, not held by this agent for step {step}")
    return job


# -- where a step leads ----------------------------------------------------------------------------
def _advance(job, outcome):
    if isinstance(outcome, Next):
        _hand_off(job, outcome)
    elif isinstance(outcome, Done):
        _finish(job, Job.State.SUCCEEDED, result=outcome.result)
    elif isinstance(outcome, RolledBack):
        _finish(job, Job.State.FAILED, error=outcome.error, result={**outcome.result, "rolled_back": True})
    elif isinstance(outcome, Failed):
        _finish(job, Job.State.FAILED, error=outcome.error, result=outcome.result)
    else:
        raise TypeError(f"unknown outcome {outcome!r}")


def _hand_off(job, outcome):
    now = timezone.now()
    kind = kind_of(job)
    host = kind.host_for(job, outcome.step)
    job.params = {**job.params, **outcome.params}
    job.step, job.step_host, job.claimed_by, job.lease_until = outcome.step, host, "", None
    job.phase = outcome.phase or f"waiting for {host.name}"
    job.sent_at, job.send_count, job.expires_at = now, 1, _expiry()
    job.save(update_fields=["params", "step", "step_host", "claimed_by", "lease_until", "phase", "sent_at",
                            "send_count", "expires_at"])
    outbox.send_on_commit(job)
    _changed(job)


def _finish(job, state, *, error="", result=None):
    now = timezone.now()
    started = job.started_at or now
    job.state, job.error, job.finished_at = state, error, now
    job.result = {**(job.result or {}), **(result or {})}
    job.duration_ms = int((now - started).total_seconds() * 1000) if job.started_at else None
    job.phase, job.claimed_by, job.lease_until = "", "", None
    job.phases = [p if p.get("seconds") is not None else {**p, "seconds": None, "unfinished": True}
                  for p in job.phases]
    job.save(update_fields=["state", "error", "finished_at", "result", "duration_ms", "phase", "claimed_by",
                            "lease_until", "phases"])
    details = {"error": error} if error else _summary(job.result)
    audit.record_job_outcome(job, state, details)
    _changed(job)
    transaction.on_commit(lambda: _discard_transit(job.pk))


def _discard_transit(job_id):
    """A finished job's transit archives (a migration's checkpoint, a move's files) leave the store."""
    from .. import store
    from ..models import Archive

    store.discard(Archive.objects.filter(job_id=job_id, keep=False).exclude(state=Archive.State.DELETED),
                  job=Job.objects.filter(pk=job_id).first(), reason="transit archive of a finished job")


def _summary(result):
    return {k: v for k, v in (result or {}).items() if not isinstance(v, (dict, list))}


# -- the control process's verdicts ----------------------------------------------------------------
def _expire(job, now):
    waited = int((now - job.created_at).total_seconds())
    _finish(job, Job.State.FAILED, error=(
        f"expired: no agent of host {job.step_host.name} took the job within {waited} s; it will not run late. "
        "Check the host's agent, then request it again"))


def expire_queued(now=None):
    """Queued jobs nobody started before their expiry fail; they never run late."""
    now = now or timezone.now()
    count = 0
    for job_id in Job.objects.filter(state=Job.State.QUEUED, expires_at__lt=now).values_list("pk", flat=True):
        with transaction.atomic():
            job = _load(job_id, lock=True)
            if job and job.state == Job.State.QUEUED and not job.claimed_by:
                _expire(job, now)
                count += 1
    return count


def resolve_lost(job_id, reason, *, claimed_by=None):
    """The step's host went away or its agent stopped renewing the lease: the kind decides what that means."""
    with transaction.atomic():
        job = _load(job_id, lock=True)
        if job is None or job.is_terminal or (claimed_by is not None and job.claimed_by != claimed_by):
            return False
        log.warning("job %s step %s lost: %s", job.id, job.step, reason)
        _advance(job, kind_of(job).lost(job, job.step, reason))
    return True


def correct(job_id_or_job, why, result):
    """A job that failed without its outcome did in fact succeed on the engine: it says so, and is audited."""
    with transaction.atomic():
        job = _load(getattr(job_id_or_job, "pk", job_id_or_job), lock=True)
        if job is None or job.state != Job.State.FAILED or not job.result.get("unresolved"):
            return 0
        job.result = {**job.result, **result, "unresolved": False,
                      "corrected": {"was": job.error, "because": why, "at": timezone.now().isoformat()}}
        job.state, job.error = Job.State.SUCCEEDED, ""
        job.save(update_fields=["state", "error", "result"])
        audit.record_job_outcome(job, Job.State.SUCCEEDED, {"corrected": why})
        _changed(job)
    return 1


def annotate(job_id_or_job, what):
    """A failed job learns what the engine shows since (the container's state, whether its state was saved)."""
    with transaction.atomic():
        job = _load(getattr(job_id_or_job, "pk", job_id_or_job), lock=True)
        if job is None or job.state != Job.State.FAILED or not job.result.get("unresolved"):
            return 0
        job.error = f"{job.error}\nThen: {what}."
        job.result = {**job.result, "unresolved": False, "observed": what}
        job.save(update_fields=["error", "result"])
        _changed(job)
    return 1


def mark_sent(job_id):
    Job.objects.filter(pk=job_id).update(sent_at=timezone.now())
