"""Stand-ins for the edges (engine, broker) in unit tests. The integration tier uses the real ones."""
from django.utils import timezone

from snapshots.models import Container, Host


def online_host(name="h1", **extra):
    fields = dict(status=Host.Status.ONLINE, last_seen=timezone.now(), experimental=True, criu_ok=True,
                  docker_version="20.10.24", worker_id="fake:1:abcd", consumer_ok=True)
    fields.update(extra)
    return Host.objects.create(name=name, **fields)


def running_container(host, name="web"):
    return Container.objects.create(host=host, engine_id=(name.encode().hex() * 64)[:64], name=name,
                                    state="running", image="cryo-counter:1")
