from ..worker import inventory
from .base import step_host_id  # noqa: F401


def run_step(run, step):
    with run.phase("sync"):
        counts = inventory.sync_all(run.ctx.host(), run.engine)
    return counts


def after(run):
    pass
