from .base import refresh_container, step_host_id  # noqa: F401
from .transfer import export_checkpoint


def run_step(run, step):
    job = run.job
    with run.phase("export"):
        facts = export_checkpoint(run, run.ctx.host(), job.container, job.checkpoint_name)
    return facts


def after(run):
    pass
