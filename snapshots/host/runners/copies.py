"""Clone (a checkpoint restored as a new container, here or on another host) and migrate (a running container moved
to another host). Steps, and the host that runs each (the dashboard sends each step to its host):

  clone    run     source: same host: create + copy (checkpoint and the container's own files) + restore;
                   other host: image, the container's files (paused meanwhile) and the archive into the store
           import  target: image, create, transfer (files into the new container's layer, checkpoint; verified),
                   restore
  migrate  run     source: image into the store (before the freeze), checkpoint with exit, hand on, then the
                   container's own files and the checkpoint archive into the store
           import  target: as for a clone
           rollback source: restore the source from its checkpoint after a failed import
           cleanup source: remove the source once the target runs it
"""
import shutil
import time

from ...errors import ContainerNotRunning, CryoError
from .. import criu_calls, inventory, paths, transfer
from .base import HANDED_OFF, Runner, StepFailed
from .simple import running


def _source_facts(ctx, info):
    return {"source_config": inventory.from_inspect(info)["config"], "image": info["Config"]["Image"],
            "image_id": info["Image"]}


def _upload_image(ctx, info):
    upload = ctx.param("image_upload")
    if upload:  # the target lacks the image: it goes into the store once, before anything stops
        with ctx.phase("image"):
            transfer.upload_image(ctx, upload, info["Config"]["Image"], info["Image"])


def import_and_restore(ctx, *, derive):
    """The target's step: image, new container, checkpoint files (verified), restore. Undone on failure."""
    engine, p = ctx.engine, ctx.order["params"]
    checkpoint_name = ctx.checkpoint_name()
    staged = paths.staging_dir(ctx.engine_root, ctx.job_id)
    new_id = None
    try:
        with ctx.phase("import"):
            image = transfer.ensure_image(ctx, p.get("image"), p.get("image_id"), p.get("image_archive"))
            name = p.get("name") or ctx.container_name()
            if not p.get("name") and (derive == "clone" or transfer.name_taken(engine, name)):
                name = transfer.derived_name(ctx.container_name(), derive)
            new_id = transfer.create_like(engine, p.get("source_config") or {}, image, name)
        with ctx.phase("transfer"):
            if p.get("rootfs_archive"):
                transfer.receive_files(ctx, p["rootfs_archive"], new_id)
            transfer.receive_checkpoint(ctx, p["checkpoint_archive"], staged / "checkpoint")
            transfer.place_checkpoint(ctx.engine_root, new_id, checkpoint_name, staged / "checkpoint")
        with ctx.phase("restore"):
            criu_calls.restore(engine, ctx.engine_root, new_id, checkpoint_name)
    except BaseException:
        if new_id:
            transfer.remove_quietly(engine, new_id)
        raise
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    return {"target_container": name, "target_container_id": new_id}


class CloneRunner(Runner):
    kind = "clone"
    steps = ("run", "import")

    def run(self, step, order, ctx):
        if step == "import":
            return import_and_restore(ctx, derive="clone")
        if not ctx.param("elsewhere"):
            return self.clone_here(ctx)
        container_id, checkpoint_name = ctx.container_id(), ctx.checkpoint_name()
        info = ctx.engine.inspect(container_id)
        _upload_image(ctx, info)
        ctx.hand_off(_source_facts(ctx, info))  # the target starts while the archives are being written
        if ctx.param("rootfs_upload"):
            transfer.upload_files(ctx, ctx.param("rootfs_upload"), info)
        if ctx.param("checkpoint_upload"):  # else the store already holds this checkpoint
            transfer.upload_checkpoint(ctx, ctx.param("checkpoint_upload"), container_id, checkpoint_name)
        return HANDED_OFF

    def clone_here(self, ctx):
        engine, container_id, checkpoint_name = ctx.engine, ctx.container_id(), ctx.checkpoint_name()
        info = engine.inspect(container_id)
        name = ctx.param("name") or transfer.derived_name(ctx.container_name(), "clone")
        new_id = None
        try:
            with ctx.phase("import"):
                new_id = transfer.create_like(engine, inventory.from_inspect(info)["config"], info["Config"]["Image"],
                                              name)
                transfer.copy_files(engine, ctx.engine_root, info, new_id)
                transfer.copy_local_checkpoint(ctx.engine_root, container_id, new_id, checkpoint_name)
            with ctx.phase("restore"):
                criu_calls.restore(engine, ctx.engine_root, new_id, checkpoint_name)
        except BaseException:
            if new_id:
                transfer.remove_quietly(engine, new_id)
            raise
        return {"target_container": name, "target_container_id": new_id}


class MigrateRunner(Runner):
    kind = "migrate"
    steps = ("run", "import", "rollback", "cleanup")

    def run(self, step, order, ctx):
        return getattr(self, f"step_{step}")(ctx)

    def step_run(self, ctx):
        engine, container_id, checkpoint_name = ctx.engine, ctx.container_id(), ctx.checkpoint_name()
        info, is_running = running(engine, container_id)
        if not is_running:
            raise ContainerNotRunning(f"container {ctx.container_name()} is not running; nothing to migrate")
        _upload_image(ctx, info)
        with ctx.phase("checkpoint"):
            criu_calls.checkpoint(engine, ctx.engine_root, container_id, checkpoint_name, exit=True)
        size = paths.directory_size(paths.checkpoint_dir(ctx.engine_root, container_id, checkpoint_name))
        try:
            ctx.hand_off({**_source_facts(ctx, info), "size_bytes": size})
        except CryoError as exc:  # the job cannot go on: the service must not stay down
            self.restore_source(ctx, f"the dashboard did not take the hand-off ({exc})")
        # The container is stopped: its files are as the checkpoint left them. The target reads both as they come.
        if ctx.param("rootfs_upload"):
            transfer.upload_files(ctx, ctx.param("rootfs_upload"), engine.inspect(container_id))
        transfer.upload_checkpoint(ctx, ctx.param("checkpoint_upload"), container_id, checkpoint_name)
        return HANDED_OFF

    def restore_source(self, ctx, failure):
        try:
            self.step_rollback(ctx)
        except CryoError as exc:
            raise StepFailed(f"migration failed: {failure}. Restoring the source also failed: {exc}") from exc
        raise StepFailed(f"migration failed: {failure}. The source container {ctx.container_name()} was restored "
                         "from its checkpoint and is running again", {"rolled_back": True})

    def step_import(self, ctx):
        return import_and_restore(ctx, derive="migrated")

    def step_rollback(self, ctx):
        """Bring the source back: from its checkpoint if it was stopped by one; nothing to do if it still runs."""
        engine, container_id, name = ctx.engine, ctx.container_id(), ctx.checkpoint_name()
        found, is_running = self._settled(ctx, container_id, name)
        if is_running:
            return {"still_running": True}
        if found is None or not found["complete"]:
            raise StepFailed(f"the source container {ctx.container_name()} is stopped and its checkpoint {name} is "
                             f"{'incomplete' if found else 'not on the engine'}: its state was not saved. Start it "
                             "again (it starts afresh) or restore an older checkpoint")
        with ctx.phase("rollback"):
            criu_calls.restore(engine, ctx.engine_root, container_id, name)
        return {}

    @staticmethod
    def _settled(ctx, container_id, name, patience=None):
        """The checkpoint's files and whether the source runs, once the engine is done with a dump that was under
        way (an agent killed mid-checkpoint leaves the engine dumping; the dump then stops the container)."""
        deadline = time.monotonic() + (patience or ctx.agent.engine_timeout)
        while True:
            _info, is_running = running(ctx.engine, container_id)
            found = {c["name"]: c for c in paths.checkpoints_on_disk(ctx.engine_root, container_id)}.get(name)
            writing = found is not None and not found["complete"] and found["quiet"] < 10
            stopping = found is not None and found["complete"] and is_running and found["quiet"] < 30
            if not (writing or stopping) or time.monotonic() > deadline:
                return found, is_running
            time.sleep(0.5)

    def step_cleanup(self, ctx):
        with ctx.phase("cleanup"):
            transfer.remove_quietly(ctx.engine, ctx.container_id())
        return {}


RUNNERS = [CloneRunner(), MigrateRunner()]
