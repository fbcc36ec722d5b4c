"""The control process's periodic work, and the only place the fleet is reconciled (never on a read, never on a host).

Every tick: which hosts' agents are connected to the broker, jobs whose agent stopped renewing their lease,
steps waiting for a host that went away, queued jobs past their expiry, messages to send again, and schedules
whose time came (snapshots.scheduling).
"""
import logging
import time

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .agents import broker
from .jobs import outbox, transitions
from .models import Host, HostCredential, Job
from .scheduling import retention, runner

log = logging.getLogger(__name__)


_rounds = {"last": None, "amnesty_until": 0.0}


def tick(now=None):
    """One round. After a gap in the rounds themselves (this process restarted, or the database was out of reach),
    hosts get one grace period to report before any of their jobs is judged lost: their silence was not theirs."""
    now = now or timezone.now()
    clock = time.monotonic()
    last = _rounds["last"]
    if last is None or clock - last > settings.CRYO_HEARTBEAT_GRACE:
        _rounds["amnesty_until"] = clock + settings.CRYO_HEARTBEAT_GRACE
    counts = {"consumers": refresh_consumers()}
    if clock >= _rounds["amnesty_until"]:
        counts["lapsed"] = lapse_leases(now)
        counts["stranded"] = strand_waiting(now)
        counts["expired"] = transitions.expire_queued(now)
    counts["resent"] = outbox.resend_waiting(now, queue_length=_queue_length)
    counts["scheduled"] = runner.run_due(now)
    if clock - _rounds.get("pruned", float("-inf")) >= settings.CRYO_RETENTION_INTERVAL:
        counts["pruned"] = retention.prune(now)
        _rounds["pruned"] = clock
    _rounds["last"] = time.monotonic()
    return counts


def run_rounds(stop):
    """The control process's reconciliation loop: a round every CRYO_CONTROL_INTERVAL seconds until `stop` is set.
    It needs the database, not the broker, so that a broker that is down or frozen is itself noticed."""
    from django.db import close_old_connections

    while not stop.is_set():
        close_old_connections()
        try:
            tick()
        except Exception:
            log.exception("a control round failed; the next one tries again")
        finally:
            close_old_connections()
        stop.wait(settings.CRYO_CONTROL_INTERVAL)


def _queue_length(queue):
    try:
        return broker.queue_length(queue)
    except Exception:
        return 1  # cannot tell: assume the message is still there rather than flood the queue


_unanswered = 0  # rounds in a row whose look at the broker's connections got no answer
_unseen = {}  # host name: rounds in a row in which its agent's consumer was not among the broker's connections
STRIKES = 2


def refresh_consumers():
    """A host is online only while its agent's consumer holds a broker connection (as the broker itself sees it).

    A host goes offline once its consumer is missing from two looks in a row, or once the broker did not answer two
    looks in a row (down or frozen): a consumer that reconnects, or one slow answer, changes nothing."""
    global _unanswered
    try:
        connected = broker.connected_users()
        _unanswered = 0
    except Exception as exc:
        _unanswered += 1
        log.warning("cannot list the broker's connections: %s", exc)
        if _unanswered < STRIKES:
            return 0
        connected = None
    changed = 0
    for host in Host.objects.only("pk", "name", "consumer_ok"):
        if connected is not None and broker.username(host.name) in connected:
            _unseen.pop(host.name, None)
            ok = True
        else:
            _unseen[host.name] = _unseen.get(host.name, 0) + 1
            ok = host.consumer_ok and (connected is not None and _unseen[host.name] < STRIKES)
        if ok != host.consumer_ok:
            log.info("host %s: its agent's consumer is %s the broker", host.name,
                     "connected to" if ok else "not connected to")
            changed += Host.objects.filter(pk=host.pk).update(consumer_ok=ok)
    return changed


def lapse_leases(now):
    """Running steps whose holder stopped renewing: the agent died, hung, or was restarted."""
    count = 0
    lapsed = Job.objects.filter(state=Job.State.RUNNING, lease_until__lt=now).exclude(claimed_by="").select_related(
        "step_host")
    for job in lapsed:
        host = job.step_host
        if host.is_lost(now):
            what = f"stopped responding while the job was running ({host.lost_reason()})"
        elif host.worker_id != job.claimed_by:
            what = "restarted while the job was running"
        else:
            what = "stopped renewing the job's lease (it no longer reports holding it)"
        count += transitions.resolve_lost(job.pk, f"the agent of host {host.name} {what}", claimed_by=job.claimed_by)
    return count


def strand_waiting(now):
    """A step handed to a host whose agent is gone will not be taken: its kind decides (a migration rolls back)."""
    count = 0
    waiting = Job.objects.filter(state=Job.State.RUNNING, claimed_by="").select_related("step_host")
    for job in waiting:
        host = job.step_host
        if host.is_lost(now):
            reason = (f"the agent of host {host.name} is not running ({host.effective_reason}), so the job could "
                      "not continue there")
        elif job.expires_at and job.expires_at < now:
            reason = f"no agent of host {host.name} took step {job.step} of the job before its expiry"
        else:
            continue
        count += transitions.resolve_lost(job.pk, reason, claimed_by="")
    return count


def ensure_broker_users():
    """Re-create every live host's broker user (after a broker restart that lost them)."""
    for credential in HostCredential.objects.live().filter(pending=False).select_related("host"):
        try:
            broker.ensure(credential.host, credential)
        except Exception as exc:
            log.warning("cannot set up the broker user of %s: %s", credential.host.name, exc)
            return


def remove_broker_user_on_commit(host_name):
    transaction.on_commit(lambda: broker.remove(host_name))
