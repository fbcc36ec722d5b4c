"""A worker enrolls its host: creates or updates the Host row and claims it as the one live worker."""
import hashlib
import hmac
import os
import socket

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ..errors import InvalidRequest
from ..models import Host
from ..models.host import validate_host_name
from . import facts as engine_facts


class EnrollmentRefused(InvalidRequest):
    pass


def check_token(token):
    """The worker must present the enrollment token an admin created (`cryo enrollment-token`)."""
    from ..models import EnrollmentToken

    expected = EnrollmentToken.current_hash()
    if not expected:
        raise EnrollmentRefused(
            "no enrollment token exists yet: an admin creates one with `python manage.py cryo enrollment-token`"
        )
    given = hashlib.sha256((token or "").encode()).hexdigest()
    if not token or not hmac.compare_digest(given, expected):
        raise EnrollmentRefused(
            "the enrollment token is missing or wrong: pass --token or set CRYO_ENROLLMENT_TOKEN to the token "
            "printed by `python manage.py cryo enrollment-token`"
        )


def worker_identity():
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(4).hex()}"


def _pid_alive(worker_id):
    hostname, _, rest = worker_id.partition(":")
    pid = rest.partition(":")[0]
    if hostname != socket.gethostname() or not pid.isdigit():
        return None  # cannot tell from here
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def enroll(name, engine, worker_id, token):
    """Register this worker for host `name`; refuses when another live worker already serves it."""
    try:
        validate_host_name(name)
    except ValidationError as exc:
        raise EnrollmentRefused(exc.messages[0]) from None
    check_token(token)
    found = engine_facts.engine_facts(engine)
    with transaction.atomic():
        host = Host.all_objects.select_for_update().filter(name=name).first()
        if host is not None and host.worker_id and host.worker_id != worker_id and not host.is_lost():
            alive = _pid_alive(host.worker_id)
            if alive is not False:
                raise EnrollmentRefused(
                    f"host {name} already has a live worker ({host.worker_id}, last heartbeat "
                    f"{host.last_seen:%H:%M:%S} UTC); one host is served by exactly one worker"
                )
        if host is None:
            host = Host(name=name)
            host.full_clean(exclude=["operator_groups"])
        host.removed_at = None  # a worker presenting the token brings a removed host back
        return apply_facts(host, found, engine.url, worker_id)


def apply_facts(host, found, docker_url, worker_id):
    status = found.pop("status", None)
    reason = found.pop("status_reason", "")
    for key, value in found.items():
        setattr(host, key, value)
    if status is None:
        status, reason = engine_facts.status_of(host)
    host.status, host.status_reason = status, reason
    host.docker_url = docker_url
    host.worker_id = worker_id
    host.worker_hostname = socket.gethostname()
    host.last_seen = timezone.now()
    host.save()
    return host
