"""`cryo worker`: serve one Docker host: enroll it, keep it fresh, and run the jobs of its queue only."""
import logging
import socket
import threading

from django.conf import settings
from django.utils import timezone

from .. import reconcile as reconciliation
from ..engine import Engine
from ..errors import CryoError
from ..models import Host
from . import inventory, registration
from .context import WorkerContext, set_context
from .heartbeat import EventWatcher, Heartbeat

log = logging.getLogger(__name__)


def run_worker(host_name, *, docker_url=None, token=None, concurrency=2, loglevel="INFO", stdout=None):
    from dashboard.celery import app

    engine = Engine(docker_url, long_timeout=settings.CRYO_ENGINE_TIMEOUT)
    worker_id = registration.worker_identity()
    host = registration.enroll(host_name, engine, worker_id, token)
    ctx = WorkerContext(host_id=host.pk, host_name=host.name, docker_url=engine.url, worker_id=worker_id)
    set_context(ctx)
    reconciliation.reconcile()  # jobs an earlier worker of this host left running can never finish
    try:
        inventory.sync_all(host, engine)
    except CryoError as exc:
        log.warning("initial inventory of %s failed: %s", host.name, exc)
    say = stdout.write if stdout else print
    say(f"Cryo worker for host {host.name} ({engine.url}) on queue {host.queue}: {host.status}"
        + (f" ({host.status_reason})" if host.status_reason else ""))

    stop = threading.Event()
    Heartbeat(ctx, stop).start()
    EventWatcher(ctx, stop).start()
    try:
        app.worker_main([
            "worker",
            "--queues", host.queue,
            "--hostname", f"cryo-{host.name}@{socket.gethostname()}",
            "--pool", "threads",
            "--concurrency", str(concurrency),
            "--loglevel", loglevel,
            "--without-gossip",
            "--without-mingle",
            "--prefetch-multiplier", "1",
        ])
    finally:
        stop.set()
        Host.all_objects.filter(pk=ctx.host_id, worker_id=worker_id).update(
            status=Host.Status.OFFLINE, status_reason="its worker stopped", last_seen=timezone.now(), worker_id=""
        )

