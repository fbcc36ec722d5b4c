"""The agent's consumer of its host's queue, with the broker user the dashboard gave it.

Messages are Celery task messages ("cryo.run_job" with one argument, a job id) published by the dashboard. A
message is acknowledged only after its job step was run and reported (late acknowledgement), so a message whose
agent died is delivered again; the dashboard's conditional claim makes that harmless. Acknowledgements happen on
the consumer's own thread: kombu's channels are not shared between threads.
"""
import logging
import queue
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

from kombu import Connection, Consumer, Exchange, Queue

from .. import names

log = logging.getLogger(__name__)
TASK = "cryo.run_job"


class QueueConsumer:
    def __init__(self, *, broker_url, queue_name, transport_options, concurrency, handle, refresh=None):
        self.broker_url = broker_url
        self.queue_name = queue_name
        self.transport_options = transport_options
        self.concurrency = concurrency
        self.handle = handle
        self.refresh = refresh  # asks the dashboard for the broker user again (after a broker restart lost it)
        self.pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="cryo-job")
        self.done = queue.Queue()
        self.busy = 0
        self.connected = threading.Event()
        self.stopping = threading.Event()
        self.restart = threading.Event()

    def reconfigure(self, *, broker_url, transport_options):
        """A new broker user (after a credential rotation): reconnect with it."""
        self.broker_url, self.transport_options = broker_url, transport_options
        self.restart.set()

    def run(self):
        """Consume until stop(); reconnect (with backoff) whenever the broker connection breaks."""
        delay = 0.5
        while not self.stopping.is_set():
            self.restart.clear()
            try:
                self._consume()
                delay = 0.5
            except Exception as exc:  # kombu and redis raise many kinds; all mean "connect again"
                self.connected.clear()
                log.warning("broker connection lost (%s: %s); reconnecting in %.1f s", exc.__class__.__name__, exc,
                            delay)
                if self.refresh is not None and _refused(exc):
                    try:
                        self.broker_url, self.transport_options = self.refresh()
                    except Exception as again:
                        log.warning("cannot get this host's broker user from the dashboard: %s", again)
                self.stopping.wait(delay)
                delay = min(delay * 2, 15)
        self.pool.shutdown(wait=True)

    def _consume(self):
        exchange = Exchange(self.queue_name, type="direct")
        target = Queue(self.queue_name, exchange, routing_key=self.queue_name)
        with Connection(self.broker_url, transport_options=self.transport_options, connect_timeout=5) as conn:
            conn.ensure_connection(max_retries=1)
            consumer = Consumer(conn.channel(), queues=[target], callbacks=[self._received], accept=["json"])
            consumer.qos(prefetch_count=self.concurrency)
            with consumer:
                self.connected.set()
                log.info("consuming %s", self.queue_name)
                while not self.stopping.is_set() and not self.restart.is_set():
                    self._ack_finished()
                    try:
                        conn.drain_events(timeout=0.5)
                    except socket.timeout:
                        pass
                # finish the jobs in hand and acknowledge them before the connection closes (a warm stop)
                while self.busy:
                    self._ack_finished(block=True)
            self.connected.clear()

    def _received(self, body, message):
        job_id = _job_id(message, body)
        if job_id is None:
            log.warning("dropped a message that is not a Cryo job message: %r", message.headers)
            message.ack()
            return
        self.busy += 1
        self.pool.submit(self._work, job_id, message)

    def _work(self, job_id, message):
        try:
            self.handle(job_id)
        except Exception:
            log.exception("job %s: unexpected error in the agent", job_id)
        finally:
            self.done.put(message)

    def _ack_finished(self, block=False):
        while True:
            try:
                message = self.done.get(block=block, timeout=0.5 if block else None)
            except queue.Empty:
                return
            self.busy -= 1
            try:
                message.ack()
            except Exception as exc:  # the connection broke: the broker delivers it again, the claim says no
                log.warning("could not acknowledge a message (%s); it may be delivered again", exc)
            block = False

    def stop(self):
        self.stopping.set()


def _refused(exc):
    """The broker does not know this host's user (it restarted without persistence) or refused its password."""
    text = f"{exc.__class__.__name__} {exc}".lower()
    return any(word in text for word in ("wrongpass", "noauth", "authentication", "invalid username-password",
                                          "noperm"))


def _job_id(message, body):
    """The one thing a message may carry: a job id. Everything else about the job comes from the dashboard."""
    if (message.headers or {}).get("task") != TASK:
        return None
    try:
        args = body[0] if isinstance(body, (list, tuple)) else body.get("args")
        job_id = args[0]
    except (IndexError, KeyError, TypeError, AttributeError):
        return None
    return job_id if names.UUID.is_valid(job_id) else None
