from ..errors import CheckpointNotFound, ContainerRunning
from ..models import Checkpoint
from .base import inspect_running, refresh_container, step_host_id  # noqa: F401


def run_step(run, step):
    job, engine, host = run.job, run.engine, run.ctx.host()
    container = job.container
    _info, running = inspect_running(engine, container)
    if running:
        raise ContainerRunning(
            f"container {container.name} on {host.name} is running; stop it before restoring it in place, "
            "or restore the checkpoint as a copy (clone)"
        )
    if job.checkpoint_name not in engine.checkpoints(container.engine_id):
        Checkpoint.objects.filter(container=container, name=job.checkpoint_name, status="present").update(
            status=Checkpoint.Status.MISSING
        )
        raise CheckpointNotFound(
            f"checkpoint {job.checkpoint_name!r} no longer exists on the engine of {host.name} for container "
            f"{container.name}; it is now marked missing"
        )
    with run.phase("restore"):
        engine.start(container.engine_id, checkpoint=job.checkpoint_name)
    return {"restore_seconds": run.phase_seconds("restore")}


def after(run):
    refresh_container(run)
