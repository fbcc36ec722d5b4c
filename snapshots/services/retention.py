"""Making and deleting retention policies, with the same rights as schedules (a fleet-wide one is an admin's).
Every change is audited, and a refusal too. `draft` builds an unsaved policy, for a preview before saving."""
from django.db import transaction
from django.utils import timezone

from ..errors import InvalidRequest
from ..models import RetentionPolicy, Selector
from . import audit
from .schedules import check_label, require_change

AGE_MAX = 10 * 366 * 86400


def describe(policy):
    return {
        "id": policy.pk, "selector": policy.selector,
        "host": (policy.container.host.name if policy.container_id else
                 policy.host.name if policy.host_id else None),
        "container": policy.container.name if policy.container_id else None, "label": policy.label,
        "keep_last": policy.keep_last, "max_age_seconds": policy.max_age_seconds,
        "max_total_bytes": policy.max_total_bytes, "rules": policy.rules(), "created_by": policy.created_by_name,
        "created_at": policy.created_at,
    }


def draft(actor, *, selector, container=None, host=None, label="", keep_last=None, max_age_seconds=None,
          max_total_bytes=None):
    """An unsaved, checked policy (nothing is written: a preview may use it)."""
    if selector not in Selector.values:
        raise InvalidRequest(f"unknown selector {selector!r}: one of {', '.join(Selector.values)}")
    if selector == Selector.CONTAINER and container is None:
        raise InvalidRequest("a container's retention policy needs a container")
    if selector == Selector.LABEL and host is None:
        raise InvalidRequest("a label retention policy needs a host")
    if keep_last is None and not max_age_seconds and not max_total_bytes:
        raise InvalidRequest("a retention policy needs at least one rule: keep the last N, a maximum age, or a "
                             "maximum total size")
    if keep_last is not None and not 0 <= keep_last <= 100_000:
        raise InvalidRequest("keep the last N: N is from 0 to 100000")
    if max_age_seconds is not None and not 60 <= max_age_seconds <= AGE_MAX:
        raise InvalidRequest("a maximum age is from 1 minute to 10 years")
    if max_total_bytes is not None and max_total_bytes < 1:
        raise InvalidRequest("a maximum total size is more than 0 bytes")
    return RetentionPolicy(
        selector=selector, container=container if selector == Selector.CONTAINER else None,
        host=host if selector == Selector.LABEL else None,
        label=check_label(label) if selector == Selector.LABEL else "", keep_last=keep_last,
        max_age_seconds=max_age_seconds or None, max_total_bytes=max_total_bytes or None,
        created_by=actor if actor is not None and actor.pk else None, created_by_name=audit.actor_name(actor),
        created_at=timezone.now())


def _host(policy):
    return policy.container.host if policy.container_id else policy.host


def create(actor, *, origin, **rules):
    selector = rules.get("selector")
    require_change(actor, "retention.create", origin, selector=selector, container=rules.get("container"),
             host=rules.get("host"))
    policy = draft(actor, **rules)
    with transaction.atomic():
        policy.save()
        audit.record(actor=actor, action="retention.create", outcome="succeeded", origin=origin, host=_host(policy),
                     container_name=policy.container.name if policy.container_id else "",
                     details={"retention": policy.pk, "what": str(policy)})
    return policy


def delete(actor, policy, *, origin):
    require_change(actor, "retention.delete", origin, selector=policy.selector, container=policy.container,
             host=policy.host)
    with transaction.atomic():
        audit.record(actor=actor, action="retention.delete", outcome="succeeded", origin=origin, host=_host(policy),
                     container_name=policy.container.name if policy.container_id else "",
                     details={"retention": policy.pk, "what": str(policy)})
        policy.delete()
