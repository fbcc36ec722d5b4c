"""Stand-ins for the edges (engine, broker) in unit tests. The integration tier uses the real ones."""
from dataclasses import dataclass, field

from django.utils import timezone

from snapshots.models import Container, Host


class FakeEngine:
    url = "unix:///fake.sock"

    def __init__(self):
        self.calls = []
        self.running = True
        self.names = []
        self.fail_with = None

    def inspect(self, engine_id):
        self.calls.append(("inspect", engine_id))
        return {"State": {"Running": self.running, "Status": "running" if self.running else "exited"}}

    def checkpoints(self, engine_id):
        return list(self.names)

    def checkpoint_create(self, engine_id, name, *, exit):
        self.calls.append(("checkpoint_create", name, exit))
        if self.fail_with:
            raise self.fail_with
        self.names.append(name)

    def start(self, engine_id, *, checkpoint=None):
        self.calls.append(("start", checkpoint))

    def checkpoint_dir(self, root, engine_id, name):
        return "/nonexistent"


@dataclass
class FakeContext:
    host_id: int
    host_name: str
    worker_id: str = "fake:1:abcd"
    engine: FakeEngine = field(default_factory=FakeEngine)

    def host(self):
        return Host.objects.get(pk=self.host_id)


def online_host(name="h1", **extra):
    fields = dict(status=Host.Status.ONLINE, last_seen=timezone.now(), experimental=True, criu_ok=True,
                  docker_version="20.10.24", worker_id="fake:1:abcd")
    fields.update(extra)
    return Host.objects.create(name=name, **fields)


def running_container(host, name="web"):
    return Container.objects.create(host=host, engine_id=(name.encode().hex() * 64)[:64], name=name,
                                    state="running", image="cryo-counter:1")
