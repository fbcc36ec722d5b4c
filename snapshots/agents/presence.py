"""One live agent per host: its hello, its heartbeats, and what happens to the jobs of an agent that went away."""
import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..errors import CryoError
from ..jobs import transitions
from ..models import Host, HostCredential, Job
from . import broker, facts as host_facts

log = logging.getLogger(__name__)


class AgentConflict(CryoError):
    """Another agent process serves this host."""


def _take(host, agent_id, *, replaces=""):
    """Make agent_id the host's one agent, unless another live one serves it. Returns the previous agent id."""
    previous = host.worker_id
    if previous and previous != agent_id and not host.is_lost() and previous != replaces:
        raise AgentConflict(
            f"host {host.name} already has a live agent ({previous}, last heartbeat "
            f"{host.last_seen:%H:%M:%S} UTC); one host is served by exactly one agent"
        )
    return previous


def hello(credential, *, agent_id, agent_hostname="", version="", facts=None, replaces=""):
    """An agent starts: it becomes the host's agent and learns its queue, its broker user and its timings."""
    now = timezone.now()
    with transaction.atomic():
        host = Host.objects.select_for_update().get(pk=credential.host_id)
        previous = _take(host, agent_id, replaces=replaces)
        host_facts.apply(host, host_facts.clean(facts))
        host.worker_id, host.worker_hostname, host.agent_version = agent_id, agent_hostname[:255], version[:32]
        host.last_seen = now
        host.save()
    if previous and previous != agent_id:
        release(host, previous, "restarted while the job was running")
    broker.ensure(host, credential)
    return {
        "host": host.name, "queue": host.queue, "broker_url": broker.agent_url(host, credential),
        "transport_options": broker.transport_options(host.queue),
        "heartbeat_interval": settings.CRYO_HEARTBEAT_INTERVAL, "sync_interval": settings.CRYO_SYNC_INTERVAL,
        "status": host.status, "status_reason": host.status_reason,
    }


def heartbeat(credential, *, agent_id, facts=None, in_flight=()):
    """The agent is alive: refresh its facts and the leases of the jobs it holds. Returns what it should know."""
    now = timezone.now()
    with transaction.atomic():
        host = Host.objects.select_for_update().get(pk=credential.host_id)
        if host.worker_id != agent_id:
            previous = _take(host, agent_id)
            host.worker_id = agent_id
        else:
            previous = None
        if facts:
            host_facts.apply(host, host_facts.clean(facts))
        host.last_seen = now
        host.save()
        held = transitions.renew(host, agent_id, [j for j in in_flight if isinstance(j, str)])
    if previous and previous != agent_id:
        release(host, previous, "was replaced while the job was running")
    answer = {"held": held, "status": host.status, "status_reason": host.status_reason}
    if host.rotate_requested_at and not credential.pending:
        answer["credential"] = _rotated(host)
    return answer


def _rotated(host):
    """A new credential for the agent that holds the current one; the first one used takes over (and ends the
    others), so an answer lost on the way only means another one is handed out at the next heartbeat."""
    stale = timezone.now() - timedelta(minutes=10)
    with transaction.atomic():
        HostCredential.objects.filter(host=host, pending=True, revoked_at__isnull=True,
                                      created_at__lt=stale).update(revoked_at=timezone.now())
        _row, secret = HostCredential.issue(host, created_by_name="rotation", pending=True)
    return secret


def release(host, agent_id, what):
    """The jobs an agent process held when it went away: each kind decides what that means."""
    reason = f"the agent of host {host.name} {what}"
    for job_id in Job.objects.filter(step_host=host, claimed_by=agent_id, state=Job.State.RUNNING).values_list(
            "pk", flat=True):
        transitions.resolve_lost(job_id, reason, claimed_by=agent_id)


def goodbye(credential, *, agent_id):
    """A clean stop: the host goes offline at once instead of after the heartbeat grace."""
    Host.objects.filter(pk=credential.host_id, worker_id=agent_id).update(
        status=Host.Status.OFFLINE, status_reason="its agent stopped", worker_id="", consumer_ok=False)
