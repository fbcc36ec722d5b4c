"""Where a Podman host's runners differ from a Docker host's: a checkpoint restored into a NEW container.

Docker restores a checkpoint into a container Cryo creates beforehand with the source's configuration (its files
placed in that container's checkpoint directory). Podman instead imports its own checkpoint archive, which carries
the container's configuration and its file-system changes, and creates the container from it. So the clone on the
same host and the target's import step (clone and migrate) import; every other step (checkpoint, restore in place,
export, the source's archive upload, rollback, cleanup) is the Docker runners' own, through the Podman adapter.
"""
import shutil

from .. import paths, transfer
from .copies import CloneRunner, MigrateRunner
from .simple import RUNNERS as SIMPLE_RUNNERS


def _target_name(ctx, derive):
    name = ctx.param("name") or ctx.container_name()
    if not ctx.param("name") and (derive == "clone" or transfer.name_taken(ctx.engine, name)):
        name = transfer.derived_name(ctx.container_name(), derive)
    return name


def import_and_restore(ctx, *, derive):
    """The target's step on Podman: the image (from the store if missing), then the checkpoint archive, verified
    against the digest the dashboard recorded, imported by Podman as a new container and restored."""
    engine, p = ctx.engine, ctx.order["params"]
    staged = paths.staging_dir(ctx.engine_root, ctx.job_id)
    try:
        with ctx.phase("import"):
            found = transfer.ensure_image(ctx, p.get("image"), p.get("image_id"), p.get("image_archive"))
            if p.get("image") and found != p.get("image"):
                engine.tag_image(found, p["image"])
            name = _target_name(ctx, derive)
        with ctx.phase("transfer"):
            transfer.receive_checkpoint(ctx, p["checkpoint_archive"], staged / "checkpoint")
        with ctx.phase("restore"):
            new_id = import_or_undo(engine, staged / "checkpoint", name)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    return {"target_container": name, "target_container_id": new_id}


def import_or_undo(engine, source, name):
    """Import; if the import made a container and then failed to restore it, that container goes again (never one
    that had the name before)."""
    existed = transfer.name_taken(engine, name)
    try:
        return engine.import_checkpoint(source, name=name)
    except BaseException:
        if not existed:
            transfer.remove_quietly(engine, name)
        raise


class PodmanCloneRunner(CloneRunner):
    def run(self, step, order, ctx):
        if step == "import":
            return import_and_restore(ctx, derive="clone")
        return super().run(step, order, ctx)

    def clone_here(self, ctx):
        engine, container_id, checkpoint_name = ctx.engine, ctx.container_id(), ctx.checkpoint_name()
        name = ctx.param("name") or transfer.derived_name(ctx.container_name(), "clone")
        source = paths.checkpoint_dir(ctx.engine_root, container_id, checkpoint_name)
        with ctx.phase("restore"):  # nothing to create beforehand: Podman's import creates the container
            new_id = import_or_undo(engine, source, name)
        return {"target_container": name, "target_container_id": new_id}


class PodmanMigrateRunner(MigrateRunner):
    def step_import(self, ctx):
        return import_and_restore(ctx, derive="migrated")


RUNNERS = [*SIMPLE_RUNNERS, PodmanCloneRunner(), PodmanMigrateRunner()]
