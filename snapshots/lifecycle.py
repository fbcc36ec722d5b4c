"""The one lifecycle every job goes through on a worker: claim, run, record the outcome.

A job is claimed with a conditional update (queued -> running), so a redelivered task never
performs an operation twice; whatever a runner raises ends as a failed job with a message for
people; and a job whose worker vanished is failed by `snapshots.reconcile` in bounded time.
"""
import logging
import time
import traceback
from contextlib import contextmanager
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from . import events
from .errors import CryoError
from .models import Job
from .services import audit

log = logging.getLogger(__name__)


class Run:
    """What a runner gets: the job, the worker's context, and a way to time its phases."""

    def __init__(self, job, ctx):
        self.job = job
        self.ctx = ctx
        self.engine = ctx.engine

    @contextmanager
    def phase(self, name):
        started = timezone.now()
        t0 = time.monotonic()
        self.job.phase = name
        entry = {"name": name, "host": self.ctx.host_name, "started": started.isoformat(), "seconds": None}
        self.job.phases = [*self.job.phases, entry]
        Job.objects.filter(pk=self.job.pk).update(phase=name, phases=self.job.phases)
        transaction.on_commit(lambda: events.job_changed(self.job))
        try:
            yield entry
        finally:
            entry["seconds"] = round(time.monotonic() - t0, 3)
            Job.objects.filter(pk=self.job.pk).update(phases=self.job.phases)

    def record_phase(self, entry, *, before=None):
        """Add a phase timed elsewhere (by another host's worker), placed before the named phase."""
        phases = list(self.job.phases)
        index = next((i for i, p in enumerate(phases) if p["name"] == before), len(phases))
        phases.insert(index, entry)
        self.job.phases = phases
        Job.objects.filter(pk=self.job.pk).update(phases=phases)

    def phase_seconds(self, name):
        return next((p["seconds"] for p in reversed(self.job.phases) if p["name"] == name), None)


def _load(job_id):
    return Job.objects.select_related("host", "target_host", "container", "requested_by").filter(pk=job_id).first()


def execute(job_id, step, ctx):
    """Run one step of a job on this worker. Steps other than "run" are hand-offs between hosts."""
    from .runners import get_runner

    job = _load(job_id)
    if job is None:
        log.warning("job %s does not exist (deleted?); nothing to do", job_id)
        return
    runner = get_runner(job.kind)
    host_id = runner.step_host_id(job, step)
    if host_id != ctx.host_id:
        log.error("job %s step %s belongs to another host's worker; this worker (%s) does not run it",
                  job_id, step, ctx.host_name)
        return
    now = timezone.now()
    if step == "run":
        if job.state == Job.State.QUEUED and job.expires_at and now > job.expires_at:
            waited = int((now - job.created_at).total_seconds())
            fail_unstarted(job.pk, f"expired: the job waited {waited} s in the queue of host {job.host.name}, longer "
                                   "than its expiry; it was not run late. Request it again if it is still wanted")
            return
        claimed = Job.objects.filter(pk=job.pk, state=Job.State.QUEUED).update(
            state=Job.State.RUNNING, started_at=now, claimed_by=ctx.worker_id, phase="starting"
        )
    else:
        claimed = Job.objects.filter(pk=job.pk, state=Job.State.RUNNING, stage=f"await:{step}").update(
            stage=step, claimed_by=ctx.worker_id
        )
    if not claimed:
        job.refresh_from_db()
        log.info("job %s step %s already taken (state %s, stage %s); not running it again",
                 job_id, step, job.state, job.stage)
        return
    job.refresh_from_db()
    run = Run(job, ctx)
    try:
        result = runner.run_step(run, step)
    except CryoError as exc:
        log.info("job %s failed: %s", job_id, exc)
        finish(run, Job.State.FAILED, error=exc.message, result=getattr(exc, "result", None))
    except Exception as exc:
        log.exception("job %s crashed", job_id)
        finish(run, Job.State.FAILED, error=f"internal error in Cryo's worker: {exc!r}",
               result={"traceback": traceback.format_exc()[-4000:]})
    else:
        if result is HANDED_OFF:
            return
        finish(run, Job.State.SUCCEEDED, result=result or {})
    finally:
        runner.after(run)


HANDED_OFF = object()


def hand_off(run, step, host, **params):
    """Pass a running job to the worker of `host` for its next step; the message is sent on commit."""
    from django.conf import settings

    from .services.dispatch import send

    job = run.job
    job.params = {**job.params, **params}
    expires = timezone.now() + timedelta(seconds=settings.CRYO_JOB_QUEUE_EXPIRY)
    with transaction.atomic():
        updated = Job.objects.filter(pk=job.pk, state=Job.State.RUNNING, claimed_by=run.ctx.worker_id).update(
            stage=f"await:{step}", params=job.params, phases=job.phases, phase=f"waiting for {host.name}",
        )
        if updated:
            transaction.on_commit(lambda: send(job.id, host.queue, expires, step=step))
            transaction.on_commit(lambda: events.job_changed(job))
    return HANDED_OFF


def finish(run, state, *, error="", result=None):
    job = run.job
    now = timezone.now()
    started = job.started_at or now
    merged = {**(job.result or {}), **(result or {})}
    with transaction.atomic():
        updated = Job.objects.filter(pk=job.pk, claimed_by=run.ctx.worker_id).exclude(
            state=Job.State.SUCCEEDED
        ).update(
            state=state, finished_at=now, duration_ms=int((now - started).total_seconds() * 1000),
            error=error, result=merged, phase="", phases=job.phases, stage="",
        )
        if updated:
            job.state, job.error, job.result, job.finished_at = state, error, merged, now
            audit.record_job_outcome(job, state, {"error": error} if error else _summary(merged))
            transaction.on_commit(lambda: events.job_changed(job))
    return updated


def _summary(result):
    return {k: v for k, v in result.items() if k != "traceback" and not isinstance(v, (dict, list))}


def fail_unstarted(job_id, message):
    """Fail a job that never started (broker down, expired in the queue)."""
    with transaction.atomic():
        updated = Job.objects.filter(pk=job_id, state=Job.State.QUEUED).update(
            state=Job.State.FAILED, finished_at=timezone.now(), error=message
        )
        if updated:
            job = _load(job_id)
            audit.record_job_outcome(job, Job.State.FAILED, {"error": message})
            transaction.on_commit(lambda: events.job_changed(job))
    return updated


def fail_running(job, message, *, claimed_by):
    """Fail a running job whose worker is gone (the reconciler's verdict)."""
    with transaction.atomic():
        updated = Job.objects.filter(pk=job.pk, state=Job.State.RUNNING, claimed_by=claimed_by).update(
            state=Job.State.FAILED, finished_at=timezone.now(), error=message, phase="", stage="",
            duration_ms=int((timezone.now() - (job.started_at or timezone.now())).total_seconds() * 1000),
        )
        if updated:
            audit.record_job_outcome(job, Job.State.FAILED, {"error": message, "reconciled": True})
            transaction.on_commit(lambda: events.job_changed(job))
    return updated
