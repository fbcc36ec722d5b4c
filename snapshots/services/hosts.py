"""Admin actions on hosts: drain (no new jobs), enable, remove. Each is audited."""
from django.db import transaction
from django.utils import timezone

from ..errors import InvalidRequest
from ..models import Host, Job
from . import access, audit, lookup


def _set(actor, host_name, origin, action, **fields):
    host = lookup.get_host(host_name)
    access.require_admin(actor, action, origin, host=host)
    with transaction.atomic():
        Host.objects.filter(pk=host.pk).update(**fields)
        audit.record(actor=actor, action=action, outcome="succeeded", origin=origin, host=host, details=fields)
    host.refresh_from_db()
    return host


def drain_host(actor, host_name, *, origin):
    return _set(actor, host_name, origin, "host.drain", drained=True)


def enable_host(actor, host_name, *, origin):
    return _set(actor, host_name, origin, "host.enable", drained=False)


def remove_host(actor, host_name, *, origin):
    """Take a host out of Cryo. Its history stays; its worker must be stopped first."""
    host = lookup.get_host(host_name)
    access.require_admin(actor, "host.remove", origin, host=host)
    if host.effective_status != Host.Status.OFFLINE:
        raise InvalidRequest(f"host {host.name} still has a running worker; stop it first, then remove the host")
    busy = Job.objects.filter(host=host, state__in=Job.ENQUEUED_STATES).count()
    if busy:
        raise InvalidRequest(f"host {host.name} has {busy} job(s) queued or running; wait for them first")
    with transaction.atomic():
        Host.all_objects.filter(pk=host.pk).update(removed_at=timezone.now(), worker_id="")
        audit.record(actor=actor, action="host.remove", outcome="succeeded", origin=origin, host=host)
    return host
