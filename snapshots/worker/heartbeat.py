"""Background threads of a worker: heartbeat (facts, status, reconciliation, periodic sync) and engine events."""
import logging
import threading
import time

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from ..engine import Engine, host_facts
from ..errors import CryoError
from ..models import Host
from ..reconcile import reconcile
from . import facts as engine_facts
from . import inventory

log = logging.getLogger(__name__)

HOST_FACTS_EVERY = 600  # seconds between `criu check` runs


class Heartbeat(threading.Thread):
    def __init__(self, ctx, stop_event):
        super().__init__(name="cryo-heartbeat", daemon=True)
        self.ctx = ctx
        self.stop_event = stop_event
        self.engine = Engine(ctx.docker_url, long_timeout=settings.CRYO_ENGINE_TIMEOUT)
        self.last_sync = 0.0
        self.last_host_facts = time.monotonic()
        self.cached_host_facts = {}

    def run(self):
        while not self.stop_event.wait(settings.CRYO_HEARTBEAT_INTERVAL):
            try:
                self.beat()
            except Exception:
                log.exception("heartbeat failed; retrying")
            finally:
                close_old_connections()

    def beat(self):
        now = time.monotonic()
        if now - self.last_host_facts > HOST_FACTS_EVERY or not self.cached_host_facts:
            self.cached_host_facts = host_facts()
            self.last_host_facts = now
        found = {**self.cached_host_facts, **engine_facts.engine_facts(self.engine, with_host=False)}
        host = Host.all_objects.filter(pk=self.ctx.host_id).first()
        if host is None:  # wiped: take the name again under a new row
            host = Host.all_objects.filter(name=self.ctx.host_name).first() or Host(name=self.ctx.host_name)
        if host.removed_at:
            log.error("host %s was removed by an admin; this worker takes no part until it is restarted", host.name)
            return
        elif host.worker_id and host.worker_id != self.ctx.worker_id and not host.is_lost():
            log.error("another worker (%s) now serves host %s; this one stops taking part", host.worker_id, host.name)
            return
        from .registration import apply_facts

        host = apply_facts(host, found, self.ctx.docker_url, self.ctx.worker_id)
        self.ctx.host_id = host.pk
        reconcile()
        if host.status != Host.Status.DEGRADED or host.docker_version:
            if now - self.last_sync > settings.CRYO_SYNC_INTERVAL:
                self.last_sync = now
                try:
                    inventory.sync_all(host, self.engine)
                except CryoError as exc:
                    log.warning("inventory sync of %s failed: %s", host.name, exc)



class EventWatcher(threading.Thread):
    """Follow the engine's container events so the inventory changes within a second of the engine."""

    def __init__(self, ctx, stop_event):
        super().__init__(name="cryo-events", daemon=True)
        self.ctx = ctx
        self.stop_event = stop_event

    def run(self):
        while not self.stop_event.is_set():
            engine = Engine(self.ctx.docker_url, timeout=None)
            try:
                since = int(timezone.now().timestamp())
                for event in engine.events(since=since):
                    if self.stop_event.is_set():
                        return
                    engine_id = (event.get("Actor") or {}).get("ID") or event.get("id")
                    if engine_id and event.get("Action", "").split(":")[0] in {
                        "create", "start", "die", "destroy", "rename", "pause", "unpause", "restore", "checkpoint",
                        "update", "kill", "stop",
                    }:
                        try:
                            host = Host.objects.filter(pk=self.ctx.host_id).first()
                            if host is not None:
                                inventory.sync_container(host, Engine(self.ctx.docker_url), engine_id)
                        except Exception:
                            log.exception("cannot sync container %s after an event", engine_id[:12])
                        finally:
                            close_old_connections()
            except Exception as exc:
                log.debug("event stream of %s ended: %s", self.ctx.docker_url, exc)
            finally:
                engine.close()
            self.stop_event.wait(2)
