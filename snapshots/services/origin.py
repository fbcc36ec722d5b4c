import getpass
import uuid
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Origin:
    """Where a request came from, carried into the job and every audit row about it."""

    source: str
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @classmethod
    def cli(cls):
        try:
            who = getpass.getuser()
        except (KeyError, OSError):
            who = "unknown"
        return cls(source=f"cli:{who}")

    @classmethod
    def web(cls, request):
        request_id = getattr(request, "request_id", "") or uuid.uuid4().hex
        return cls(source=request.META.get("REMOTE_ADDR", "") or "web", request_id=request_id)

    @classmethod
    def system(cls, what="worker"):
        return cls(source=f"system:{what}")
