"""Clone (restore a checkpoint as a new container, here or on another host) and migrate (move a container).

Steps and the worker that runs each:
  run       source host: [migrate: checkpoint with exit], then same host: create + copy + restore;
            other host: export the checkpoint (and image) into the store and hand off to the target
  import    target host: transfer (stream from the store, verify) + import (image, container) + restore
  rollback  source host: restore the source from its checkpoint after a failed migration
  cleanup   source host: remove the source after a successful migration (unless it is kept)
"""
import shutil
from datetime import datetime

from ..engine import directory_size
from ..errors import ContainerNotRunning, CryoError
from ..lifecycle import hand_off
from ..models import Checkpoint, Host
from ..worker import inventory
from .. import store
from . import transfer
from .base import inspect_running, refresh_container
from .checkpoint import engine_facts


def step_host_id(job, step):
    return job.target_host_id if step == "import" else job.host_id


def run_step(run, step):
    return {"run": _run, "import": _import, "rollback": _rollback, "cleanup": _cleanup}[step](run)


# -- source host -----------------------------------------------------------------------------
def _run(run):
    job, engine, host = run.job, run.engine, run.ctx.host()
    source, target = job.container, job.target_host
    info, running = inspect_running(engine, source)
    params = {"source_config": inventory.fields_from_inspect(info)["config"], "image": info["Config"]["Image"],
              "image_id": info["Image"]}
    elsewhere = target.pk != host.pk
    if elsewhere:  # the image goes into the store once (by id), before the freeze: it costs no downtime
        with run.phase("image"):
            params["image_archive"] = transfer.export_image(engine, params["image"], params["image_id"])
    if job.kind == "migrate":
        if not running:
            raise ContainerNotRunning(f"container {source.name} on {host.name} is not running; nothing to migrate")
        with run.phase("checkpoint"):
            engine.checkpoint_create(source.engine_id, job.checkpoint_name, exit=True)
        Checkpoint.objects.create(
            container=source, name=job.checkpoint_name, exit=True, engine_facts=engine_facts(host),
            size_bytes=directory_size(engine.checkpoint_dir(host.docker_root_dir, source.engine_id,
                                                            job.checkpoint_name)),
            created_by_id=job.requested_by_id, created_by_name=job.requested_by_name, job=job,
        )
    if not elsewhere:
        return _clone_here(run, host, source, params)
    target.refresh_from_db()
    if target.effective_status == Host.Status.OFFLINE or target.drained:
        return _give_up(run, CryoError(f"target host {target.name} went offline "
                                       f"({target.effective_reason or 'drained'})"))
    exported = transfer.existing_archive(source, job.checkpoint_name)
    if exported is None and store.can_follow():
        # The target starts reading the archive while it is being written: transfer overlaps export.
        name = store.checkpoint_archive_name(host.name, source.engine_id, job.checkpoint_name, job.id)
        handed = hand_off(run, "import", target, **params, archive=name, streaming=True)
        transfer.stream_export(engine, host, source, job.checkpoint_name, name)
        return handed
    try:
        with run.phase("export"):
            exported = exported or transfer.export_checkpoint(run, host, source, job.checkpoint_name)
    except CryoError as exc:
        return _give_up(run, exc)
    return hand_off(run, "import", target, **params, **exported)


def _give_up(run, exc):
    """A failure on the source side: a migration restores its source; a clone simply fails."""
    if run.job.kind == "migrate":
        return _rollback(run, failure=f"{exc}", failed_phase=run.job.phase)
    raise exc


def _clone_here(run, host, source, params):
    job, engine = run.job, run.engine
    name = job.params.get("name") or transfer.derived_name(source.name, "clone")
    new_id = None
    try:
        with run.phase("import"):
            new_id = transfer.create_like(engine, params["source_config"], params["image"], name)
            transfer.copy_local_checkpoint(engine, host, source.engine_id, new_id, job.checkpoint_name)
        with run.phase("restore"):
            engine.start(new_id, checkpoint=job.checkpoint_name)
    except CryoError:
        if new_id:
            transfer.remove_quietly(engine, new_id)
        raise
    inventory.sync_container(host, engine, new_id)
    return {"target_container": name, "target_container_id": new_id, "target_host": host.name}


def _rollback(run, failure=None, failed_phase=None):
    job, engine, host = run.job, run.engine, run.ctx.host()
    failure = failure or job.params.get("failure", "the target host failed")
    failed_phase = failed_phase or job.params.get("failed_phase", "")
    where = f" during {failed_phase}" if failed_phase else ""
    try:
        with run.phase("rollback"):
            engine.start(job.container.engine_id, checkpoint=job.checkpoint_name)
    except CryoError as exc:
        raise CryoError(
            f"migration to {job.target_host.name} failed{where}: {failure}. Restoring the source on {host.name} "
            f"also failed: {exc}. The source is stopped at checkpoint {job.checkpoint_name}; restore it with "
            f"`cryo restore {host.name} {job.container_name} {job.checkpoint_name}`"
        ) from exc
    error = CryoError(
        f"migration to {job.target_host.name} failed{where}: {failure}. The source container {job.container_name} "
        f"was restored on {host.name} from checkpoint {job.checkpoint_name} and is running again"
    )
    error.result = {"rolled_back": True, "downtime_seconds": downtime(job.phases, last="rollback")}
    raise error


def _cleanup(run):
    job, engine = run.job, run.engine
    with run.phase("cleanup"):
        transfer.remove_quietly(engine, job.container.engine_id)
    return {"source_removed": True, **_summary(job)}


# -- target host -----------------------------------------------------------------------------
def _import(run):
    job, engine, host = run.job, run.engine, run.ctx.host()
    p = job.params
    name = p.get("name") or job.container_name
    new_id = None
    staged = transfer.staging_dir(host, job)
    try:
        with run.phase("import"):  # while the source may still be writing the archive
            image = transfer.ensure_image(engine, p["image"], p["image_id"], p.get("image_archive"))
            if job.kind == "clone" or _name_taken(engine, name):
                name = p.get("name") or transfer.derived_name(job.container_name, job.kind == "clone" and "clone"
                                                               or "migrated")
            new_id = transfer.create_like(engine, p["source_config"], image, name)
        with run.phase("transfer"):
            if p.get("streaming"):
                done = transfer.stage_streaming(host, job, p["archive"])
                run.record_phase({"name": "export", "host": done["host"], "started": done["started"],
                                  "seconds": done["seconds"]}, before="import")
                job.params = p = {**p, "sha256": done["sha256"], "archive_size": done["archive_size"]}
            else:
                transfer.stage_from_store(host, job, p["archive"], p["sha256"])
            transfer.place_checkpoint(engine, host, new_id, job.checkpoint_name, staged)
        with run.phase("restore"):
            engine.start(new_id, checkpoint=job.checkpoint_name)
    except CryoError as exc:
        failed_phase = job.phase
        if new_id:
            transfer.remove_quietly(engine, new_id)
        shutil.rmtree(staged, ignore_errors=True)
        if job.kind == "migrate":
            return hand_off(run, "rollback", job.host, failure=f"{exc}", failed_phase=failed_phase)
        raise
    inventory.sync_container(host, engine, new_id)
    if job.kind == "migrate":  # the process lives on in the new container: its transit archive is done with
        store.delete(p["archive"])
        Checkpoint.objects.filter(archive=p["archive"]).update(archive="", archive_sha256="", archive_size=None)
    job.params = {**p, "target_container": name, "target_container_id": new_id}
    if job.kind == "migrate" and not p.get("keep_source"):
        return hand_off(run, "cleanup", job.host, target_container=name, target_container_id=new_id)
    return {"target_container": name, "target_container_id": new_id, "source_removed": False, **_summary(job)}


def _name_taken(engine, name):
    try:
        engine.inspect(name)
        return True
    except CryoError:
        return False


def _summary(job):
    return {
        "target_host": job.target_host.name,
        "target_container": job.params.get("target_container"),
        "archive_size": job.params.get("archive_size"),
        "phase_seconds": {p["name"]: p["seconds"] for p in job.phases},
        "downtime_seconds": downtime(job.phases) if job.kind == "migrate" else None,
    }


def downtime(phases, last="restore"):
    """Seconds from the start of the checkpoint (the service stops) to the end of the restore (it runs again)."""
    start = next((p for p in phases if p["name"] == "checkpoint"), None)
    end = next((p for p in reversed(phases) if p["name"] == last and p["seconds"] is not None), None)
    if not start or not end:
        return None
    began = datetime.fromisoformat(start["started"])
    ended = datetime.fromisoformat(end["started"])
    return round((ended - began).total_seconds() + end["seconds"], 3)


def after(run):
    if run.ctx.host_id == run.job.host_id:  # the source's row; the target's was synced after its restore
        refresh_container(run)
