"""What a person can ask of Cryo. Each action takes objects (resolve strings first: snapshots.services.resolve),
checks the actor's role on every host involved (a refusal is audited), validates, and creates the job."""
import re

from django.db import transaction
from django.utils import timezone

from .. import names
from ..errors import InvalidRequest
from ..jobs import transitions
from ..models import Checkpoint, Job
from . import access, audit
from .preflight import migration_preflight


def suggest_checkpoint_name(container_name, now=None):
    """`<container>-YYYYMMDD-HHMMSS`, cut to fit Docker's rule."""
    stamp = (now or timezone.now()).strftime("%Y%m%d-%H%M%S")
    base = re.sub(r"[^a-zA-Z0-9_.-]", "-", container_name).lstrip("_.-") or "checkpoint"
    return f"{base[: names.CHECKPOINT.max_length - len(stamp) - 1]}-{stamp}"


def checked(rule, value):
    try:
        return rule.check(value)
    except names.InvalidName as exc:
        raise InvalidRequest(str(exc)) from None


def _ready(host):
    refusal = host.refusal()
    if refusal:
        raise InvalidRequest(refusal)


def _may_operate(actor, kind, origin, host, *, container=None, checkpoint_name="", target_host=None):
    access.require_operate(actor, kind, origin, host, container_name=container.name if container else "",
                           checkpoint_name=str(checkpoint_name)[:128], target_host=target_host)


def _refuse_on_errors(checks, what):
    errors = [c.message for c in checks if not c.ok]
    if errors:
        raise InvalidRequest(f"{what} refused: " + "; ".join(errors))


def checkpoint(actor, container, *, name=None, leave_running=False, origin, actor_label=None, audit_details=None):
    """`actor_label` and `audit_details` name a schedule acting for its creator (snapshots.scheduling.runner)."""
    host = container.host
    _may_operate(actor, Job.Kind.CHECKPOINT, origin, host, container=container, checkpoint_name=name or "")
    name = checked(names.CHECKPOINT, name or suggest_checkpoint_name(container.name))
    if container.checkpoints.live().filter(name=name).exists():
        raise InvalidRequest(
            f"container {container.name} on {host.name} already has a checkpoint named {name!r}; choose another name")
    if container.state and not container.is_running:
        raise InvalidRequest(f"container {container.name} on {host.name} is not running (state: {container.state}); "
                             "only a running container can be checkpointed")
    _ready(host)
    return transitions.create(actor=actor, kind=Job.Kind.CHECKPOINT, host=host, origin=origin, container=container,
                              checkpoint_name=name, params={"leave_running": bool(leave_running)},
                              actor_label=actor_label,
                              audit_details={"leave_running": bool(leave_running), **(audit_details or {})})


def restore(actor, checkpoint, *, origin):
    container, host = checkpoint.container, checkpoint.container.host
    _may_operate(actor, Job.Kind.RESTORE, origin, host, container=container, checkpoint_name=checkpoint.name)
    if container.is_running:
        raise InvalidRequest(f"container {container.name} on {host.name} is running; stop it before restoring it in "
                             "place, or restore the checkpoint as a copy (clone)")
    _ready(host)
    return transitions.create(actor=actor, kind=Job.Kind.RESTORE, host=host, origin=origin, container=container,
                              checkpoint_name=checkpoint.name)


def delete_checkpoint(actor, checkpoint, *, origin, actor_label=None, audit_details=None):
    """`actor_label` and `audit_details` name a retention policy acting for its creator."""
    container, host = checkpoint.container, checkpoint.container.host
    _may_operate(actor, Job.Kind.DELETE_CHECKPOINT, origin, host, container=container,
                 checkpoint_name=checkpoint.name)
    if host.drained or host.effective_status == host.Status.OFFLINE:
        _ready(host)
    return transitions.create(actor=actor, kind=Job.Kind.DELETE_CHECKPOINT, host=host, origin=origin,
                              container=container, checkpoint_name=checkpoint.name, actor_label=actor_label,
                              audit_details=audit_details)


def sync(actor, host, *, origin):
    access.require_operate(actor, Job.Kind.SYNC, origin, host)
    if host.effective_status == host.Status.OFFLINE:
        raise InvalidRequest(host.refusal() or f"host {host.name} is offline")
    return transitions.create(actor=actor, kind=Job.Kind.SYNC, host=host, origin=origin)


def export(actor, checkpoint, *, origin):
    container, host = checkpoint.container, checkpoint.container.host
    _may_operate(actor, Job.Kind.EXPORT, origin, host, container=container, checkpoint_name=checkpoint.name)
    _ready(host)
    return transitions.create(actor=actor, kind=Job.Kind.EXPORT, host=host, origin=origin, container=container,
                              checkpoint_name=checkpoint.name)


def clone(actor, checkpoint, *, to=None, name=None, origin):
    """Restore a checkpoint as a new container, on the same host or another."""
    container, host = checkpoint.container, checkpoint.container.host
    target = to or host
    for each in {host, target}:
        _may_operate(actor, Job.Kind.CLONE, origin, each, container=container, checkpoint_name=checkpoint.name,
                     target_host=target)
    name = checked(names.CONTAINER, name) if name else ""
    _refuse_on_errors(migration_preflight(container, target), "clone")
    return transitions.create(actor=actor, kind=Job.Kind.CLONE, host=host, target_host=target, origin=origin,
                              container=container, checkpoint_name=checkpoint.name,
                              params={"name": name, "to": target.name})


def migrate(actor, container, *, to, keep_source=False, name=None, origin):
    """Checkpoint on the source, restore on the target, then remove (or keep) the source."""
    host = container.host
    if to is None or to.pk == host.pk:
        raise InvalidRequest("a migration needs a target host other than the source (--to HOST)")
    for each in (host, to):
        _may_operate(actor, Job.Kind.MIGRATE, origin, each, container=container, target_host=to)
    if not container.is_running:
        raise InvalidRequest(f"container {container.name} on {host.name} is not running (state: {container.state}); "
                             "only a running container can be migrated")
    name = checked(names.CONTAINER, name) if name else ""
    _refuse_on_errors(migration_preflight(container, to), "migration")
    return transitions.create(actor=actor, kind=Job.Kind.MIGRATE, host=host, target_host=to, origin=origin,
                              container=container, checkpoint_name=suggest_checkpoint_name(f"{container.name}-migrate"),
                              params={"keep_source": bool(keep_source), "name": name, "to": to.name})


def pin_checkpoint(actor, checkpoint, *, pinned, origin):
    """A pinned checkpoint is never pruned by a retention policy."""
    container, host = checkpoint.container, checkpoint.container.host
    action = "checkpoint.pin" if pinned else "checkpoint.unpin"
    access.require_operate(actor, action, origin, host, container_name=container.name,
                           checkpoint_name=checkpoint.name)
    with transaction.atomic():
        Checkpoint.objects.filter(pk=checkpoint.pk).update(pinned=bool(pinned))
        checkpoint.pinned = bool(pinned)
        audit.record(actor=actor, action=action, outcome="succeeded", origin=origin, host=host,
                     container_name=container.name, checkpoint_name=checkpoint.name)
    return checkpoint
