from django.db import transaction

from ..engine import directory_size
from ..errors import CheckpointExists, ContainerNotRunning
from ..models import Checkpoint
from .base import inspect_running, refresh_container, step_host_id  # noqa: F401


def run_step(run, step):
    job, engine, host = run.job, run.engine, run.ctx.host()
    container = job.container
    leave_running = bool(job.params.get("leave_running"))
    info, running = inspect_running(engine, container)
    if not running:
        raise ContainerNotRunning(
            f"container {container.name} on {host.name} is not running (state: {info['State'].get('Status')}); "
            "only a running container can be checkpointed"
        )
    if job.checkpoint_name in engine.checkpoints(container.engine_id):
        raise CheckpointExists(
            f"container {container.name} on {host.name} already has a checkpoint named {job.checkpoint_name!r} "
            "on the engine; choose another name"
        )
    with run.phase("checkpoint"):
        engine.checkpoint_create(container.engine_id, job.checkpoint_name, exit=not leave_running)
    size = directory_size(engine.checkpoint_dir(host.docker_root_dir, container.engine_id, job.checkpoint_name))
    facts = engine_facts(host)
    with transaction.atomic():
        Checkpoint.objects.filter(container=container, name=job.checkpoint_name).exclude(status="deleted").update(
            status=Checkpoint.Status.DELETED
        )
        Checkpoint.objects.create(
            container=container, name=job.checkpoint_name, exit=not leave_running, size_bytes=size,
            engine_facts=facts, created_by_id=job.requested_by_id, created_by_name=job.requested_by_name,
            job=job,
        )
    return {"checkpoint_seconds": run.phase_seconds("checkpoint"), "size_bytes": size, "exit": not leave_running}


def engine_facts(host):
    return {
        "docker_version": host.docker_version, "api_version": host.api_version, "kernel": host.kernel,
        "os": host.os, "criu_version": host.criu_version, "cpu_model": host.cpu_model,
    }


def after(run):
    refresh_container(run)
