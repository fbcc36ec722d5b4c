"""Errors a person can act on. Every message is written to be shown as it is."""


class CryoError(Exception):
    """Base of all errors Cryo shows to people."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self):
        return self.message


class InvalidRequest(CryoError):
    """Refused before any job exists: a bad name, an unknown host, container or checkpoint."""


class AccessDenied(CryoError):
    """The actor may not do this; the attempt is audited as denied."""


class Busy(CryoError):
    """Another operation on the same container is still in flight."""


class OverLimit(Busy):
    """A limit on jobs in flight or checkpoints kept would be passed (snapshots.jobs.limits): busy, for longer."""


class Throttled(CryoError):
    """Too many refused requests in a short time from one person or address (dashboard.refusals)."""


class EngineError(CryoError):
    """The Docker engine refused or failed an operation."""


class EngineUnreachable(EngineError):
    def __init__(self, url, detail=""):
        text = f"cannot reach Docker at {url}"
        super().__init__(f"{text}: {detail}" if detail else text)
        self.url = url


class EngineTimeout(EngineError):
    pass


class NotExperimental(EngineError):
    def __init__(self, detail=""):
        super().__init__(
            "the Docker daemon is not running in experimental mode, which checkpoints need: "
            'set "experimental": true in /etc/docker/daemon.json (or start dockerd --experimental)'
            + (f" [{detail}]" if detail else "")
        )


class CriuFailed(EngineError):
    def __init__(self, engine_message):
        super().__init__(f"CRIU failed: {engine_message}")
        self.engine_message = engine_message


class ContainerNotFound(EngineError):
    pass


class ContainerNotRunning(EngineError):
    pass


class ContainerRunning(EngineError):
    pass


class CheckpointExists(EngineError):
    pass


class CheckpointNotFound(EngineError):
    pass


class ArchiveRejected(CryoError):
    """A checkpoint archive failed verification; nothing was extracted from it."""


class AuditUnavailable(CryoError):
    """The audit row of an action cannot be written (or streamed, when that is required): the action is refused."""


def http_status(exc):
    """The one mapping from what went wrong to an HTTP status (API, worker API and pages alike)."""
    for kind, status in ((AccessDenied, 403), (OverLimit, 429), (Throttled, 429), (Busy, 409), (InvalidRequest, 400),
                         (AuditUnavailable, 503)):
        if isinstance(exc, kind):
            return status
    return 400
