"""Tasks of the control process (queue cryo.control). Host agents consume their own queues, not this one."""
from celery import shared_task

from . import control


@shared_task(name="cryo.control.broker_users", ignore_result=True)
def broker_users():
    """Keep every live host's broker user in place (a broker restart without persistence loses them)."""
    control.ensure_broker_users()
