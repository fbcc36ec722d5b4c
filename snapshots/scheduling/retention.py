"""Which checkpoints a retention policy lets go, and the control process's pruning round.

A checkpoint goes when any rule says so: it is beyond the newest `keep_last`, older than `max_age_seconds`, or
would take the kept ones past `max_total_bytes` (the newest are kept first). Pinned checkpoints are never
pruned and count toward none of the rules. Pruning is an ordinary delete job per checkpoint, requested for the
policy's creator through the same action as a person's; a container takes one job at a time, so a round
requests at most one delete per container and the next rounds go on.
"""
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from ..errors import AccessDenied, Busy, InvalidRequest
from ..models import Checkpoint, Job, RetentionPolicy
from ..services.origin import Origin
from .runner import targets

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Doomed:
    checkpoint: object
    reasons: tuple

    @property
    def reason(self):
        return "; ".join(self.reasons)


def size_text(value):
    for unit, size in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if value >= size:
            return f"{value / size:g} {unit}"
    return f"{value} bytes"


def age_text(seconds):
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def describe_rules(policy):
    rules = []
    if policy.keep_last is not None:
        rules.append(f"keep the last {policy.keep_last}")
    if policy.max_age_seconds:
        rules.append(f"at most {age_text(policy.max_age_seconds)} old")
    if policy.max_total_bytes:
        rules.append(f"at most {size_text(policy.max_total_bytes)} in all")
    return ", ".join(rules) or "keep everything"


def select(checkpoints, *, keep_last=None, max_age_seconds=None, max_total_bytes=None, now=None):
    """The checkpoints (newest first in, oldest first out) that the rules let go, each with its reasons."""
    now = now or timezone.now()
    kept, total, doomed = 0, 0, []
    for checkpoint in sorted(checkpoints, key=lambda c: c.created_at, reverse=True):
        if checkpoint.pinned:
            continue
        size = checkpoint.size_bytes or 0
        reasons = []
        if keep_last is not None and kept >= keep_last:
            reasons.append(f"beyond the newest {keep_last}")
        if max_age_seconds and now - checkpoint.created_at > timedelta(seconds=max_age_seconds):
            reasons.append(f"older than {age_text(max_age_seconds)}")
        if max_total_bytes and total + size > max_total_bytes:
            reasons.append(f"past {size_text(max_total_bytes)} in all")
        if reasons:
            doomed.append(Doomed(checkpoint, tuple(reasons)))
        else:
            kept, total = kept + 1, total + size
    return list(reversed(doomed))


def prunable(container):
    """A container's checkpoints that a policy may delete: on the engine (complete or not)."""
    on_engine = (*Checkpoint.USABLE, Checkpoint.Status.INCOMPLETE)
    return list(container.checkpoints.filter(status__in=on_engine))


def preview(policy, now=None):
    """[(container, [Doomed, ...])] for every container the policy applies to (nothing is changed)."""
    found = []
    for container in targets(policy):
        if container is None:
            continue
        doomed = select(prunable(container), keep_last=policy.keep_last, max_age_seconds=policy.max_age_seconds,
                        max_total_bytes=policy.max_total_bytes, now=now)
        if doomed:
            found.append((container, doomed))
    return found


def may_prune(policy):
    """Whether the policy's creator may still act on what it covers (checked each round, quietly: a refused
    creator's policy would otherwise fill the audit log with a denial a round)."""
    from ..services import access

    user = policy.created_by
    if user is None or not user.is_active:
        return False
    if policy.selector == "fleet":
        return access.is_admin(user)
    host = policy.container.host if policy.container_id else policy.host
    return access.can_operate(user, host)


def prune(now=None):
    """One pruning round over every policy; returns the number of delete jobs requested."""
    from .. import services

    requested = 0
    for policy in RetentionPolicy.objects.select_related("container__host", "host", "created_by"):
        if not may_prune(policy):
            log.warning("retention %s does nothing: its creator %s may no longer act on what it covers", policy.pk,
                        policy.created_by_name)
            continue
        for container, doomed in preview(policy, now):
            if container.is_gone or Job.objects.filter(container=container, state__in=Job.ENQUEUED_STATES).exists():
                continue
            oldest = doomed[0]
            try:
                services.delete_checkpoint(
                    policy.created_by, oldest.checkpoint, origin=Origin.system(f"retention:{policy.pk}"),
                    actor_label=policy.actor_label,
                    audit_details={"retention": policy.pk, "reason": oldest.reason})
                requested += 1
            except (Busy, AccessDenied, InvalidRequest) as exc:  # on the audit record (or not due: host not ready)
                log.info("retention %s: %s", policy.pk, exc.message)
    return requested
