from django.utils import timezone

from .. import store
from ..models import Checkpoint
from .base import refresh_container, step_host_id  # noqa: F401


def run_step(run, step):
    job, engine = run.job, run.engine
    container = job.container
    present = job.checkpoint_name in engine.checkpoints(container.engine_id)
    if present:
        with run.phase("delete"):
            engine.checkpoint_delete(container.engine_id, job.checkpoint_name)
    live = Checkpoint.objects.filter(container=container, name=job.checkpoint_name).exclude(status="deleted")
    archives = [a for a in live.values_list("archive", flat=True) if a]
    for name in archives:
        store.delete(name)
    live.update(status=Checkpoint.Status.DELETED, deleted_at=timezone.now(), archive="")
    return {"was_on_engine": present, "archives_deleted": len(archives)}


def after(run):
    refresh_container(run)
