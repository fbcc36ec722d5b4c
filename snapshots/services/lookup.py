"""Find hosts, containers and checkpoints from what a person typed, with errors that say what exists."""
from django.core.exceptions import ValidationError

from ..errors import InvalidRequest
from ..models import Checkpoint, Container, Host
from ..models.host import validate_host_name


def get_host(name):
    try:
        validate_host_name(name)
    except ValidationError as exc:
        raise InvalidRequest(exc.messages[0]) from None
    host = Host.objects.filter(name=name).first()
    if host is None:
        known = ", ".join(Host.objects.values_list("name", flat=True)[:20]) or "none yet"
        raise InvalidRequest(f"unknown host {name!r} (known hosts: {known})")
    return host


def get_container(host, ref):
    """A present container of the host, by name or by id (full or a unique prefix of at least 4 characters)."""
    ref = (ref or "").strip().lstrip("/")
    if not ref:
        raise InvalidRequest("a container name or id is required")
    present = Container.objects.present().filter(host=host)
    by_name = present.filter(name=ref).first()
    if by_name:
        return by_name
    if len(ref) >= 4 and all(c in "0123456789abcdef" for c in ref.lower()):
        matches = list(present.filter(engine_id__startswith=ref.lower())[:2])
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise InvalidRequest(f"container id prefix {ref!r} matches several containers on {host.name}; give more")
    gone = Container.objects.filter(host=host, name=ref, gone_at__isnull=False).exists()
    if gone:
        raise InvalidRequest(f"container {ref!r} no longer exists on host {host.name} (it was removed from the engine)")
    raise InvalidRequest(f"no container {ref!r} on host {host.name}")


def get_checkpoint(container, name):
    checkpoint = container.checkpoints.filter(name=name, status=Checkpoint.Status.PRESENT).first()
    if checkpoint is None:
        known = ", ".join(
            container.checkpoints.filter(status=Checkpoint.Status.PRESENT).values_list("name", flat=True)[:10]
        )
        hint = f" (its checkpoints: {known})" if known else " (it has no checkpoints)"
        raise InvalidRequest(f"no checkpoint {name!r} of container {container.name} on {container.host.name}{hint}")
    return checkpoint
