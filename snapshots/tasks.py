from celery import shared_task

from . import lifecycle


@shared_task(name="cryo.run_job", acks_late=True, ignore_result=True)
def run_job(job_id, step="run"):
    """Every job runs through this one task; the lifecycle wrapper owns claim, outcome and audit.

    Only host workers execute it; the web tier only sends it, and never loads the Docker SDK.
    """
    from .worker.context import current_context

    lifecycle.execute(job_id, step, current_context())
