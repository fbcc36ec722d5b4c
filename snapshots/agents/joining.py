"""A host's agent joins: it trades the one-time join token an admin gave it for the host's own credential."""
from django.db import transaction
from django.utils import timezone

from ..errors import CryoError
from ..models import Host, HostCredential, JoinToken
from ..models.credentials import digest
from ..services import audit
from ..services.origin import Origin
from . import broker


class JoinRefused(CryoError):
    pass


def agent_actor(host_name):
    """How an agent appears in the audit log."""
    return f"agent:{host_name}"


def join(token, *, source):
    """Exchange a join token for a new credential; returns (host, credential token). The token is spent."""
    now = timezone.now()
    origin = Origin(source=source)
    row = JoinToken.objects.select_related("host").filter(token_hash=digest(token)).first()
    if row is None:
        with transaction.atomic():
            audit.record(actor=None, actor_label="agent:unknown", action="host.join", outcome="denied",
                         origin=origin, details={"reason": "unknown join token"})
        raise JoinRefused("this join token is unknown: ask an admin for a new one (`cryo host token NAME`)")
    refusal = row.refusal(now)
    if refusal:
        with transaction.atomic():
            audit.record(actor=None, actor_label=agent_actor(row.host.name), action="host.join", outcome="denied",
                         origin=origin, host=row.host, details={"reason": refusal})
        raise JoinRefused(f"{refusal}: ask an admin for a new one (`cryo host token {row.host.name}`)")
    with transaction.atomic():
        spent = JoinToken.objects.filter(pk=row.pk, used_at__isnull=True).update(used_at=now)
        if not spent:
            raise JoinRefused("this join token was used a moment ago by another agent")
        host = Host.all_objects.select_for_update().get(pk=row.host_id)
        old = list(HostCredential.objects.filter(host=host, revoked_at__isnull=True))
        HostCredential.objects.filter(pk__in=[c.pk for c in old]).update(revoked_at=now)
        credential, secret = HostCredential.issue(host, created_by_name=row.created_by_name)
        host.joined_at = host.joined_at or now
        host.save(update_fields=["joined_at"])
        audit.record(actor=None, actor_label=agent_actor(host.name), action="host.join", outcome="succeeded",
                     origin=origin, host=host, details={"credential": credential.prefix,
                                                        "replaced": [c.prefix for c in old]})
    if old:
        broker.remove(host.name)  # the old credential's broker user goes with it
    return host, secret


def authenticate(token):
    """The live credential for a bearer token (promoting a pending one on its first use), or None."""
    credential = HostCredential.find(token)
    if credential is None:
        return None
    now = timezone.now()
    if credential.pending:
        with transaction.atomic():
            HostCredential.objects.filter(host=credential.host, revoked_at__isnull=True).exclude(
                pk=credential.pk).update(revoked_at=now)
            HostCredential.objects.filter(pk=credential.pk).update(pending=False, last_used_at=now)
            Host.all_objects.filter(pk=credential.host_id).update(rotate_requested_at=None)
            audit.record(actor=None, actor_label=agent_actor(credential.host.name), action="host.credential",
                         outcome="succeeded", host=credential.host,
                         details={"event": "rotated credential in use", "credential": credential.prefix})
        credential.pending = False
    elif credential.last_used_at is None or (now - credential.last_used_at).total_seconds() > 60:
        HostCredential.objects.filter(pk=credential.pk).update(last_used_at=now)
    return credential
