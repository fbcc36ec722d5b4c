import getpass
import uuid
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Origin:
    """Where a request came from, carried into the job and every audit row about it.

    `request_id` is always Cryo's own; `proxy_request_id` is the id a trusted proxy gave the request, if any.
    """

    source: str
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    proxy_request_id: str = ""

    @classmethod
    def cli(cls):
        try:
            who = getpass.getuser()
        except (KeyError, OSError):
            who = "unknown"
        return cls(source=f"cli:{who}")

    @classmethod
    def web(cls, request):
        """The web request's origin. The address and ids are set by dashboard.middleware.RequestIdMiddleware;
        a request that did not pass it gets the socket's address and a fresh id, never a client's header."""
        address = getattr(request, "client_address", None) or request.META.get("REMOTE_ADDR", "") or "web"
        request_id = getattr(request, "request_id", "") or uuid.uuid4().hex
        return cls(source=address, request_id=request_id,
                   proxy_request_id=getattr(request, "proxy_request_id", "") or "")

    @classmethod
    def system(cls, what="worker"):
        return cls(source=f"system:{what}")
