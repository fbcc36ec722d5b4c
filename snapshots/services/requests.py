"""Request functions: validate, check access and host readiness, then hand over to dispatch.submit."""
import re

from django.core.exceptions import ValidationError
from django.utils import timezone

from ..errors import InvalidRequest
from ..models import Job
from ..models.checkpoint import CHECKPOINT_NAME_MAX, validate_checkpoint_name
from . import access, lookup
from .dispatch import submit


def suggest_checkpoint_name(container_name, now=None):
    """`<container>-YYYYMMDD-HHMMSS`, cut to fit Docker's rule."""
    stamp = (now or timezone.now()).strftime("%Y%m%d-%H%M%S")
    base = re.sub(r"[^a-zA-Z0-9_.-]", "-", container_name).lstrip("_.-") or "checkpoint"
    return f"{base[: CHECKPOINT_NAME_MAX - len(stamp) - 1]}-{stamp}"


def _checked_name(name):
    try:
        validate_checkpoint_name(name)
    except ValidationError as exc:
        raise InvalidRequest(exc.messages[0]) from None
    return name


def _ready(host):
    refusal = host.refusal()
    if refusal:
        raise InvalidRequest(refusal)


def _operate_on(actor, kind, origin, host_name, container_ref, checkpoint_name=None):
    """The prologue every container action shares: host, access (audited when denied), container, checkpoint."""
    host = lookup.get_host(host_name)
    access.require_operate(actor, kind, origin, host, container_name=str(container_ref),
                           checkpoint_name=checkpoint_name or "")
    container = lookup.get_container(host, container_ref)
    if checkpoint_name is None:
        return host, container, None
    return host, container, lookup.get_checkpoint(container, _checked_name(checkpoint_name))


def request_checkpoint(actor, host_name, container_ref, *, name=None, leave_running=False, origin):
    host, container, _ = _operate_on(actor, Job.Kind.CHECKPOINT, origin, host_name, container_ref)
    name = _checked_name(name or suggest_checkpoint_name(container.name))
    if container.checkpoints.filter(name=name).exclude(status="deleted").exists():
        raise InvalidRequest(
            f"container {container.name} on {host.name} already has a checkpoint named {name!r}; choose another name"
        )
    if container.state and not container.is_running:
        raise InvalidRequest(
            f"container {container.name} on {host.name} is not running (state: {container.state}); "
            "only a running container can be checkpointed"
        )
    _ready(host)
    return submit(
        actor=actor, kind=Job.Kind.CHECKPOINT, host=host, origin=origin, container=container,
        checkpoint_name=name, params={"leave_running": bool(leave_running)},
    )


def request_restore(actor, host_name, container_ref, checkpoint_name, *, origin):
    host, container, checkpoint = _operate_on(actor, Job.Kind.RESTORE, origin, host_name, container_ref,
                                              checkpoint_name)
    if container.is_running:
        raise InvalidRequest(
            f"container {container.name} on {host.name} is running; stop it before restoring it in place, "
            "or restore the checkpoint as a copy (clone)"
        )
    _ready(host)
    return submit(
        actor=actor, kind=Job.Kind.RESTORE, host=host, origin=origin, container=container,
        checkpoint_name=checkpoint.name,
    )


def request_delete_checkpoint(actor, host_name, container_ref, checkpoint_name, *, origin):
    host, container, checkpoint = _operate_on(actor, Job.Kind.DELETE_CHECKPOINT, origin, host_name, container_ref,
                                              checkpoint_name)
    if host.drained or host.effective_status == host.Status.OFFLINE:
        _ready(host)
    return submit(
        actor=actor, kind=Job.Kind.DELETE_CHECKPOINT, host=host, origin=origin, container=container,
        checkpoint_name=checkpoint.name,
    )


def request_sync(actor, host_name, *, origin):
    host = lookup.get_host(host_name)
    access.require_operate(actor, Job.Kind.SYNC, origin, host)
    if host.effective_status == host.Status.OFFLINE:
        raise InvalidRequest(host.refusal() or f"host {host.name} is offline")
    return submit(actor=actor, kind=Job.Kind.SYNC, host=host, origin=origin)


def _target(host, to_name):
    return host if not to_name or to_name == host.name else lookup.get_host(to_name)


def _refuse_on_errors(checks, what):
    errors = [c.message for c in checks if not c.ok]
    if errors:
        raise InvalidRequest(f"{what} refused: " + "; ".join(errors))


def request_export(actor, host_name, container_ref, checkpoint_name, *, origin):
    host, container, checkpoint = _operate_on(actor, Job.Kind.EXPORT, origin, host_name, container_ref,
                                              checkpoint_name)
    _ready(host)
    return submit(actor=actor, kind=Job.Kind.EXPORT, host=host, origin=origin, container=container,
                  checkpoint_name=checkpoint.name)


def _checked_container_name(name):
    if name and (len(name) > 200 or not CONTAINER_NAME_RE.match(name)):
        raise InvalidRequest(f"{name!r} is not a valid container name: use [a-zA-Z0-9][a-zA-Z0-9_.-]+")
    return name or ""


CONTAINER_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")


def request_clone(actor, host_name, container_ref, checkpoint_name, *, to=None, name=None, origin):
    """Restore a checkpoint as a new container, on the same host or another."""
    from .preflight import migration_preflight

    host = lookup.get_host(host_name)
    target = _target(host, to)
    where = {"container_name": str(container_ref), "checkpoint_name": checkpoint_name, "target_host": target}
    access.require_operate(actor, Job.Kind.CLONE, origin, host, **where)
    access.require_operate(actor, Job.Kind.CLONE, origin, target, **where)
    container = lookup.get_container(host, container_ref)
    checkpoint = lookup.get_checkpoint(container, _checked_name(checkpoint_name))
    name = _checked_container_name(name)
    _refuse_on_errors(migration_preflight(container, target), "clone")
    return submit(actor=actor, kind=Job.Kind.CLONE, host=host, target_host=target, origin=origin,
                  container=container, checkpoint_name=checkpoint.name, params={"name": name, "to": target.name})


def request_migrate(actor, host_name, container_ref, *, to, keep_source=False, name=None, origin):
    """Checkpoint on the source, restore on the target, then remove (or keep) the source."""
    from .preflight import migration_preflight

    host = lookup.get_host(host_name)
    target = lookup.get_host(to) if to else None
    if target is None or target.pk == host.pk:
        raise InvalidRequest("a migration needs a target host other than the source (--to HOST)")
    where = {"container_name": str(container_ref), "target_host": target}
    access.require_operate(actor, Job.Kind.MIGRATE, origin, host, **where)
    access.require_operate(actor, Job.Kind.MIGRATE, origin, target, **where)
    container = lookup.get_container(host, container_ref)
    if not container.is_running:
        raise InvalidRequest(f"container {container.name} on {host.name} is not running (state: {container.state}); "
                             "only a running container can be migrated")
    name = _checked_container_name(name)
    _refuse_on_errors(migration_preflight(container, target), "migration")
    checkpoint_name = suggest_checkpoint_name(f"{container.name}-migrate")
    return submit(actor=actor, kind=Job.Kind.MIGRATE, host=host, target_host=target, origin=origin,
                  container=container, checkpoint_name=checkpoint_name,
                  params={"keep_source": bool(keep_source), "name": name, "to": target.name})
