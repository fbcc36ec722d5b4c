"""Defaults shared by the runners: a single step on the job's own host, inventory refreshed afterwards."""
from ..worker import inventory


def step_host_id(job, step):
    return job.host_id


def refresh_container(run):
    """Bring the job's container row up to date with the engine, whatever happened."""
    job = run.job
    if job.container_id:
        try:
            inventory.sync_container(run.ctx.host(), run.engine, job.container.engine_id)
        except Exception:  # the job's outcome is already recorded; the periodic sync will catch up
            pass


def inspect_running(engine, container):
    info = engine.inspect(container.engine_id)
    return info, bool(info.get("State", {}).get("Running"))
