"""Admin actions on hosts: add one (and its join token), rotate or revoke its credential, drain, enable, remove.
Each is audited; only an admin may do them."""
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .. import names
from ..agents import broker
from ..errors import InvalidRequest
from ..models import Host, HostCredential, Job, JoinToken
from . import access, audit
from .actions import checked


def join_command(token):
    """The one command to run on the new host."""
    return f"cryo-agent --url {settings.CRYO_PUBLIC_URL} --join {token}"


def _lifetime(minutes):
    minutes = settings.CRYO_JOIN_TOKEN_MINUTES if minutes is None else minutes
    if not isinstance(minutes, int) or not 1 <= minutes <= 7 * 24 * 60:
        raise InvalidRequest("a join token lives between 1 minute and 7 days")
    return timedelta(minutes=minutes)


def add_host(actor, name, *, origin, minutes=None):
    """A new host (or a removed one back) and a one-time join token for its agent. Returns (host, token)."""
    access.require_admin(actor, "host.add", origin, host=str(name)[:63])
    checked(names.HOST, name)
    lifetime = _lifetime(minutes)
    with transaction.atomic():
        host = Host.all_objects.select_for_update().filter(name=name).first()
        if host is not None and host.removed_at is None:
            raise InvalidRequest(f"host {name} already exists; to let its agent join again, make a new join token "
                                 f"(`cryo host token {name}`)")
        if host is None:
            host = Host.objects.create(name=name, status=Host.Status.OFFLINE,
                                       status_reason="waiting for its agent to join")
        else:
            Host.all_objects.filter(pk=host.pk).update(removed_at=None, status=Host.Status.OFFLINE, joined_at=None,
                                                       status_reason="waiting for its agent to join", worker_id="")
            host.refresh_from_db()
        row, token = JoinToken.issue(host, created_by_name=audit.actor_name(actor), lifetime=lifetime)
        audit.record(actor=actor, action="host.add", outcome="succeeded", origin=origin, host=host,
                     details={"join_token_expires": row.expires_at.isoformat()})
    return host, token


def new_join_token(actor, host, *, origin, minutes=None):
    """A fresh join token (the old unused ones stop working): for an agent that lost its credential."""
    access.require_admin(actor, "host.join_token", origin, host=host)
    lifetime = _lifetime(minutes)
    with transaction.atomic():
        row, token = JoinToken.issue(host, created_by_name=audit.actor_name(actor), lifetime=lifetime)
        audit.record(actor=actor, action="host.join_token", outcome="succeeded", origin=origin, host=host,
                     details={"expires": row.expires_at.isoformat()})
    return token


def rotate_credential(actor, host, *, origin):
    """The agent gets a new credential at its next heartbeat; the old one stops working once the new one is used."""
    access.require_admin(actor, "host.rotate", origin, host=host)
    if not HostCredential.objects.live().filter(host=host).exists():
        raise InvalidRequest(f"host {host.name} has no credential to rotate; its agent has not joined")
    with transaction.atomic():
        Host.objects.filter(pk=host.pk).update(rotate_requested_at=timezone.now())
        audit.record(actor=actor, action="host.rotate", outcome="succeeded", origin=origin, host=host)
    return host


def revoke_credential(actor, host, *, origin):
    """Cut the host's agent off at once: its credential, its join tokens and its broker user."""
    access.require_admin(actor, "host.revoke", origin, host=host)
    _revoke(actor, host, origin, "host.revoke")
    return host


def _revoke(actor, host, origin, action, **changes):
    now = timezone.now()
    with transaction.atomic():
        revoked = HostCredential.objects.filter(host=host, revoked_at__isnull=True).update(revoked_at=now)
        JoinToken.objects.filter(host=host, used_at__isnull=True, revoked_at__isnull=True).update(revoked_at=now)
        Host.all_objects.filter(pk=host.pk).update(
            worker_id="", consumer_ok=False, status=Host.Status.OFFLINE, rotate_requested_at=None,
            status_reason="its credential was revoked by an admin", **changes)
        audit.record(actor=actor, action=action, outcome="succeeded", origin=origin, host=host,
                     details={"credentials_revoked": revoked})
        transaction.on_commit(lambda: broker.remove(host.name))


def _set(actor, host, origin, action, **fields):
    access.require_admin(actor, action, origin, host=host)
    with transaction.atomic():
        Host.objects.filter(pk=host.pk).update(**fields)
        audit.record(actor=actor, action=action, outcome="succeeded", origin=origin, host=host, details=fields)
    host.refresh_from_db()
    return host


def drain_host(actor, host, *, origin):
    return _set(actor, host, origin, "host.drain", drained=True)


def enable_host(actor, host, *, origin):
    return _set(actor, host, origin, "host.enable", drained=False)


def remove_host(actor, host, *, origin):
    """Take a host out of Cryo: its credential stops working at once; its history stays."""
    access.require_admin(actor, "host.remove", origin, host=host)
    busy = Job.objects.filter(state__in=Job.ENQUEUED_STATES).filter(host=host).count() + \
        Job.objects.filter(state__in=Job.ENQUEUED_STATES, target_host=host).exclude(host=host).count()
    if busy:
        raise InvalidRequest(f"host {host.name} has {busy} job(s) queued or running; wait for them first")
    _revoke(actor, host, origin, "host.remove", removed_at=timezone.now())
    return host
