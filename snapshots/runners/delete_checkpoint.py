from django.utils import timezone

from ..models import Checkpoint
from .base import refresh_container, step_host_id  # noqa: F401


def run_step(run, step):
    job, engine = run.job, run.engine
    container = job.container
    present = job.checkpoint_name in engine.checkpoints(container.engine_id)
    if present:
        with run.phase("delete"):
            engine.checkpoint_delete(container.engine_id, job.checkpoint_name)
    Checkpoint.objects.filter(container=container, name=job.checkpoint_name).exclude(status="deleted").update(
        status=Checkpoint.Status.DELETED, deleted_at=timezone.now()
    )
    return {"was_on_engine": present}


def after(run):
    refresh_container(run)
