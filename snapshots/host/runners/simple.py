"""The one-step kinds: checkpoint, restore, delete a checkpoint, sync the inventory, export to the store."""
from ...errors import CheckpointExists, CheckpointNotFound, ContainerRunning, ContainerNotRunning
from .. import archive, contents, criu_calls, paths, transfer
from .base import Runner, StepFailed


def running(engine, container_id):
    info = engine.inspect(container_id)
    return info, bool((info.get("State") or {}).get("Running"))


class CheckpointRunner(Runner):
    kind = "checkpoint"

    def run(self, step, order, ctx):
        engine, container_id, name = ctx.engine, ctx.container_id(), ctx.checkpoint_name()
        leave_running = bool(ctx.param("leave_running"))
        info, is_running = running(engine, container_id)
        if not is_running:
            raise ContainerNotRunning(
                f"container {ctx.container_name()} is not running (state: {info['State'].get('Status')}); "
                "only a running container can be checkpointed")
        if name in engine.checkpoints(container_id):
            raise CheckpointExists(f"container {ctx.container_name()} already has a checkpoint named {name!r} on "
                                   "the engine; choose another name")
        with ctx.phase("checkpoint") as timed:
            criu_calls.checkpoint(engine, ctx.engine_root, container_id, name, exit=not leave_running)
        folder = paths.checkpoint_dir(ctx.engine_root, container_id, name)
        size = paths.directory_size(folder)
        return {"checkpoint_seconds": timed.seconds, "size_bytes": size, "contents": contents.read(folder)}


class RestoreRunner(Runner):
    kind = "restore"

    def run(self, step, order, ctx):
        engine, container_id, name = ctx.engine, ctx.container_id(), ctx.checkpoint_name()
        _info, is_running = running(engine, container_id)
        if is_running:
            raise ContainerRunning(f"container {ctx.container_name()} is running; stop it before restoring it in "
                                   "place, or restore the checkpoint as a copy (clone)")
        if name not in engine.checkpoints(container_id):
            raise StepFailed(f"checkpoint {name!r} no longer exists on the engine for container "
                             f"{ctx.container_name()}; it is now marked missing", {"checkpoint_missing": True})
        with ctx.phase("restore") as timed:
            criu_calls.restore(engine, ctx.engine_root, container_id, name)
        return {"restore_seconds": timed.seconds}


class DeleteCheckpointRunner(Runner):
    kind = "delete_checkpoint"

    def run(self, step, order, ctx):
        engine, container_id, name = ctx.engine, ctx.container_id(), ctx.checkpoint_name()
        try:
            present = name in engine.checkpoints(container_id)
        except Exception:  # the container is gone: its checkpoints went with it
            present = False
        if present:
            with ctx.phase("delete"):
                try:
                    engine.checkpoint_delete(container_id, name)
                except CheckpointNotFound:
                    present = False
        return {"was_on_engine": present}


class SyncRunner(Runner):
    kind = "sync"

    def run(self, step, order, ctx):
        with ctx.phase("sync"):
            return ctx.agent.send_inventory(ctx.engine)


class ExportRunner(Runner):
    """Archive a checkpoint into the dashboard's store (nothing to do when the store already holds it)."""

    kind = "export"

    def run(self, step, order, ctx):
        upload = ctx.param("upload")
        if not upload:
            return {"reused": True}
        source = paths.checkpoint_dir(ctx.engine_root, ctx.container_id(), ctx.checkpoint_name())
        with ctx.phase("export"):
            answer = transfer.upload(ctx.client, upload, lambda out: archive.pack(source, out),
                                     size_hint=paths.directory_size(source))
        return {"archive_size": answer.get("size")}


RUNNERS = [CheckpointRunner(), RestoreRunner(), DeleteCheckpointRunner(), SyncRunner(), ExportRunner()]
