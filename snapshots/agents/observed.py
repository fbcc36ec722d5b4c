"""Observed state wins: what an agent lists on its engine corrects what the dashboard believed.

- Checkpoints found on the engine that Cryo does not know are adopted: complete ones are shown as found (usable,
  with no creator), incomplete ones (a dump cut off by a dying engine) are marked so, can be deleted to free their
  name, and are never offered for a restore.
- A job that ended without its outcome (its agent or its engine went away, its lease lapsed) is settled from what
  the engine shows once its host reports again: a checkpoint that is there and complete, or a restored container
  that runs since the job started, turns the job into a success that says it was corrected; otherwise the job says
  what happened to the container (stopped or running, state saved or not).
"""
from datetime import datetime, timedelta, timezone as dt_timezone

from django.db import transaction
from django.utils import timezone

from ..jobs import transitions
from ..jobs.kinds import engine_facts
from ..models import Checkpoint, Container, Job

STILL_WRITING = 60  # seconds: an incomplete checkpoint changed more recently may still be being written


def sync_checkpoints(host, reported):
    """Bring the host's checkpoint rows in line with the engine's directories ({engine id: [entries]})."""
    if not isinstance(reported, dict):
        return
    containers = {c.engine_id: c for c in Container.objects.present().filter(host=host)}
    live = {}
    for row in Checkpoint.objects.live().filter(container__in=containers.values()):
        live.setdefault(row.container_id, {})[row.name] = row
    # a checkpoint a job is making right now is that job's to record
    busy = set(Job.objects.filter(container__in=containers.values(), state__in=Job.ENQUEUED_STATES)
               .exclude(checkpoint_name="").values_list("container_id", "checkpoint_name"))
    for engine_id, container in containers.items():
        entries = _entries(reported.get(engine_id))
        if entries is None:
            continue  # not listed this time: nothing to conclude
        rows = live.get(container.pk, {})
        for name, row in rows.items():
            entry = entries.get(name)
            if entry is None and row.status in (*Checkpoint.USABLE, Checkpoint.Status.INCOMPLETE):
                gone = Checkpoint.Status.DELETED if row.status == Checkpoint.Status.INCOMPLETE else \
                    Checkpoint.Status.MISSING
                Checkpoint.objects.filter(pk=row.pk).update(status=gone)
            elif entry is not None and row.status == Checkpoint.Status.INCOMPLETE and entry["complete"]:
                Checkpoint.objects.filter(pk=row.pk).update(status=Checkpoint.Status.FOUND)
        for name, entry in entries.items():
            if name not in rows and (container.pk, name) not in busy:
                Checkpoint.objects.create(
                    container=container, name=name, exit=False, size_bytes=entry["size"],
                    status=Checkpoint.Status.FOUND if entry["complete"] else Checkpoint.Status.INCOMPLETE,
                    engine_facts=engine_facts(host), created_by_name="",
                )


def _entries(items):
    if not isinstance(items, list):
        return None
    out = {}
    for item in items[:1000]:
        if isinstance(item, dict) and isinstance(item.get("name"), str) and len(item["name"]) <= 128:
            size = item.get("size") if isinstance(item.get("size"), int) and not isinstance(item.get("size"), bool) \
                else None
            quiet = item.get("quiet") if isinstance(item.get("quiet"), int) else 10**6
            out[item["name"]] = {"complete": item.get("complete") is True, "size": size, "quiet": quiet}
    return out


def settle_jobs(host, report):
    """Jobs of this host that ended without their outcome, settled from what the engine shows now."""
    since = timezone.now() - timedelta(days=1)
    unsettled = Job.objects.filter(host=host, state=Job.State.FAILED, finished_at__gte=since,
                                   result__unresolved=True).select_related("container", "host")
    if not unsettled.exists():
        return 0
    items = {i.get("id"): i for i in report.get("containers") or [] if isinstance(i, dict)}
    disks = report.get("checkpoints") if isinstance(report.get("checkpoints"), dict) else {}
    settled = 0
    for job in unsettled:
        container = job.container
        item = items.get(container.engine_id) if container else None
        entry = (_entries(disks.get(container.engine_id)) or {}).get(job.checkpoint_name) if container else None
        settled += _settle(job, item, entry)
    return settled


def _settle(job, item, entry):
    state = (item or {}).get("state") or "gone"
    where = f"the container is {state}"
    if job.kind == Job.Kind.CHECKPOINT and entry and entry["complete"]:
        with transaction.atomic():
            Checkpoint.objects.filter(container=job.container, name=job.checkpoint_name,
                                      status__in=(Checkpoint.Status.FOUND, Checkpoint.Status.INCOMPLETE)).update(
                status=Checkpoint.Status.PRESENT, created_by_id=job.requested_by_id,
                created_by_name=job.requested_by_name, job=job, exit=not job.params.get("leave_running"))
            return transitions.correct(job, f"its host now shows checkpoint {job.checkpoint_name} complete on the "
                                            f"engine ({where}): the checkpoint was made", {"size_bytes": entry["size"]})
    if job.kind == Job.Kind.RESTORE and state == "running" and _started_after(item, job.started_at):
        return transitions.correct(job, f"its host shows the container running since "
                                        f"{item.get('started')}, after the restore began: it was restored", {})
    if job.kind == Job.Kind.DELETE_CHECKPOINT and entry is None:
        with transaction.atomic():
            Checkpoint.objects.live().filter(container=job.container, name=job.checkpoint_name).update(
                status=Checkpoint.Status.DELETED, deleted_at=timezone.now())
            return transitions.correct(job, "the checkpoint is no longer on the engine: it was deleted", {})
    if job.kind == Job.Kind.CHECKPOINT:
        if entry and entry["quiet"] < STILL_WRITING:
            return 0  # the engine may still be writing it: the next report decides
        saved = "its state was not saved: the checkpoint on the engine is incomplete (delete it to free its name)" \
            if entry else "nothing was saved"
        return transitions.annotate(job, f"when its host reported again, {where}; {saved}")
    return transitions.annotate(job, f"when its host reported again, {where}")


def _started_after(item, moment):
    text = (item or {}).get("started") or ""
    try:
        started = datetime.fromisoformat(text[:26].rstrip("Z") if "." in text else text.rstrip("Z"))
    except ValueError:
        return False
    started = started if started.tzinfo else started.replace(tzinfo=dt_timezone.utc)
    return moment is not None and started >= moment - timedelta(seconds=1)
