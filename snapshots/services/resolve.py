"""Turn what a person typed (CLI, API, a URL) into objects, once, with errors that say what exists."""
import uuid

from ..errors import InvalidRequest
from ..models import Checkpoint, Container, Host, Job
from .actions import checked
from .. import names
from . import access

ANYONE = object()  # resolve as the system does: every host


def host(name, viewer=ANYONE):
    """A host by name; for a viewer, only one they may see (CRYO_TEAM_SCOPED_VISIBILITY): others are unknown."""
    checked(names.HOST, name)
    hosts = Host.objects.all() if viewer is ANYONE else access.visible(viewer, Host.objects.all(), "pk")
    found = hosts.filter(name=name).first()
    if found is None:
        known = ", ".join(hosts.values_list("name", flat=True)[:20]) or "none yet"
        raise InvalidRequest(f"unknown host {name!r} (known hosts: {known})")
    return found


def container(on_host, ref):
    """A present container of the host, by name or by id (full or a unique prefix of at least 4 characters)."""
    ref = ref.strip().lstrip("/") if isinstance(ref, str) else ""
    if not ref:
        raise InvalidRequest("a container name or id is required")
    if len(ref) > 255:
        raise InvalidRequest("a container name or id has at most 255 characters")
    present = Container.objects.present().filter(host=on_host).select_related("host")
    by_name = present.filter(name=ref).first()
    if by_name:
        return by_name
    if len(ref) >= 4 and all(c in "0123456789abcdef" for c in ref.lower()):
        matches = list(present.filter(engine_id__startswith=ref.lower())[:2])
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise InvalidRequest(f"container id prefix {ref!r} matches several containers on {on_host.name}; give more")
    if Container.objects.filter(host=on_host, name=ref, gone_at__isnull=False).exists():
        raise InvalidRequest(
            f"container {ref!r} no longer exists on host {on_host.name} (it was removed from the engine)")
    raise InvalidRequest(f"no container {ref!r} on host {on_host.name}")


def checkpoint(of_container, name, *, usable=True):
    """A checkpoint a restore or a clone can use; with usable=False any the engine holds (to delete it)."""
    checked(names.CHECKPOINT, name)
    states = Checkpoint.USABLE if usable else (*Checkpoint.USABLE, Checkpoint.Status.INCOMPLETE)
    found = of_container.checkpoints.filter(name=name, status__in=states).select_related(
        "container__host").first()
    if found is None:
        incomplete = of_container.checkpoints.filter(name=name, status=Checkpoint.Status.INCOMPLETE).exists()
        if incomplete:
            raise InvalidRequest(f"checkpoint {name!r} of container {of_container.name} is incomplete on the engine "
                                 "(its dump was cut off): it cannot be restored; delete it to free its name")
        known = ", ".join(of_container.checkpoints.filter(status__in=Checkpoint.USABLE)
                          .values_list("name", flat=True)[:10])
        hint = f" (its checkpoints: {known})" if known else " (it has no checkpoints)"
        raise InvalidRequest(f"no checkpoint {name!r} of container {of_container.name} on "
                             f"{of_container.host.name}{hint}")
    return found


def job(ref, viewer=ANYONE):
    """A job by its id or a unique prefix of at least 4 characters (for a viewer, one of a host they may see)."""
    ref = ref.strip().lower() if isinstance(ref, str) else ""
    if len(ref) < 4 or len(ref) > 36 or any(c not in "0123456789abcdef-" for c in ref):
        raise InvalidRequest(f"{ref!r} is not a job id (or a prefix of one, at least 4 characters)")
    if len(ref) == 36:
        try:
            uuid.UUID(ref)
        except ValueError:
            raise InvalidRequest(f"{ref!r} is not a job id") from None
    jobs = Job.objects.all() if viewer is ANYONE else access.visible(viewer, Job.objects.all(), "host", "target_host")
    rows = list(jobs.filter(id__startswith=ref).select_related("host", "target_host")[:2]) if len(ref) < 36 \
        else list(jobs.filter(pk=ref).select_related("host", "target_host"))
    if not rows:
        raise InvalidRequest(f"no job with id {ref!r}")
    if len(rows) > 1:
        raise InvalidRequest(f"job id {ref!r} is ambiguous; give more of it")
    return rows[0]
