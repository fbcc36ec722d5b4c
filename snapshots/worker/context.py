import threading
from dataclasses import dataclass, field

from django.conf import settings

from ..engine import Engine


@dataclass
class WorkerContext:
    """The one host this worker process serves. Each thread gets its own engine client."""

    host_id: int
    host_name: str
    docker_url: str
    worker_id: str
    _local: threading.local = field(default_factory=threading.local, repr=False)

    @property
    def engine(self):
        engine = getattr(self._local, "engine", None)
        if engine is None:
            engine = Engine(self.docker_url, long_timeout=settings.CRYO_ENGINE_TIMEOUT)
            self._local.engine = engine
        return engine

    def host(self):
        from ..models import Host

        return Host.all_objects.get(pk=self.host_id)


_current = None


def set_context(ctx):
    global _current
    _current = ctx


def current_context():
    if _current is None:
        raise RuntimeError("this process is not a Cryo worker: start one with `manage.py cryo worker --host NAME`")
    return _current
