"""`cryo-agent`: serve one host. It holds the dashboard's URL and its own credential (kept 0600 in its state
directory), and learns everything else (its queue, its broker user, its timings) from the worker API."""
import logging
import os
import socket
import threading
import time
from pathlib import Path

from .. import names
from ..errors import CryoError, EngineTimeout, EngineUnreachable
from . import facts, inventory
from .client import ApiError, Client, CredentialRejected, Unreachable
from .consumer import QueueConsumer
from .engine import Engine
from .podman_engine import PodmanEngine
from .runners.base import HANDED_OFF, StepContext
from .runners.copies import RUNNERS as COPY_RUNNERS
from .runners.podman import RUNNERS as PODMAN_RUNNERS
from .runners.simple import RUNNERS as SIMPLE_RUNNERS

log = logging.getLogger(__name__)
VERSION = "1"
REVOKED_AFTER = 20  # seconds of refused heartbeats before the agent gives up
RUNNERS = {r.kind: r for r in [*SIMPLE_RUNNERS, *COPY_RUNNERS]}
ENGINES = {"docker": (Engine, RUNNERS), "podman": (PodmanEngine, {r.kind: r for r in PODMAN_RUNNERS})}
CONTAINER_EVENTS = {"create", "start", "die", "destroy", "rename", "pause", "unpause", "restore", "checkpoint",
                    "update", "kill", "stop"}


class AgentStopped(CryoError):
    """The agent cannot go on (its credential was revoked, another agent serves the host): it exits."""


class State:
    """The agent's private state directory: its credential and the id of its last process."""

    def __init__(self, path):
        self.path = Path(path)

    def prepare(self):
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.path, 0o700)

    def _file(self, name):
        return self.path / name

    def read(self, name):
        try:
            return self._file(name).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return ""

    def write(self, name, value):
        """Write a private file whole: a temporary file (0600), then a rename."""
        final = self._file(name)
        tmp = final.with_name(f".{name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(value + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final)


def _previous_is_dead(agent_id):
    """Whether a previous agent process of this machine (by its id) is gone, so that a restart may take over."""
    hostname, _, rest = (agent_id or "").partition(":")
    pid = rest.partition(":")[0]
    if hostname != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return int(pid) == os.getpid()


class Agent:
    def __init__(self, url, *, state_dir, docker_url=None, concurrency=2, engine_timeout=900, verify=True,
                 engine_kind="docker"):
        self.client = Client(url, verify=verify)
        self.state = State(state_dir)
        self.docker_url = docker_url
        self.engine_class, self.runners = ENGINES[engine_kind]
        self.concurrency = concurrency
        self.engine_timeout = engine_timeout
        self.agent_id = f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"
        self.stop_event = threading.Event()
        self.in_flight = set()
        self.lock = threading.Lock()
        self.config = {}
        self.consumer = None
        self.fatal = None
        self._roots = {}
        self._machine = {}
        self._machine_at = 0.0

    # -- start ---------------------------------------------------------------------------------------
    def engine(self, timeout=30):
        return self.engine_class(self.docker_url, timeout=timeout, long_timeout=self.engine_timeout)

    def join(self, token):
        """Trade a one-time join token for this host's credential, kept private in the state directory."""
        self.state.prepare()
        answer = self.client.post("/join", {"token": token})
        self.state.write("credential", answer["credential"])
        log.info("joined as host %s; credential kept in %s", answer["host"], self.state.path / "credential")
        return answer["host"]

    def hello(self):
        previous = self.state.read("agent-id")
        answer = self.client.post("/hello", {
            "agent_id": self.agent_id, "hostname": socket.gethostname(), "version": VERSION,
            "replaces": previous if _previous_is_dead(previous) else "", "facts": self.facts(),
        })
        self.state.write("agent-id", self.agent_id)
        self.config = answer
        return answer

    def start(self, join_token=None):
        self.state.prepare()
        if join_token:
            self.join(join_token)
        credential = self.state.read("credential")
        if not credential:
            raise AgentStopped(f"no credential in {self.state.path}: start the agent once with --join TOKEN (an admin "
                               "makes one with `cryo host add NAME` or on the host's page)")
        self.client.use(credential)
        delay = 1
        while True:
            try:
                answer = self.hello()
                break
            except Unreachable as exc:
                log.warning("%s; trying again in %d s", exc, delay)
                if self.stop_event.wait(delay):
                    raise AgentStopped("stopped before the dashboard answered") from exc
                delay = min(delay * 2, 30)
            except CredentialRejected as exc:
                raise AgentStopped("this host's credential was refused (revoked, or the host was removed); an admin "
                                   "can make a new join token: `cryo host token NAME`") from exc
            except ApiError as exc:
                raise AgentStopped(exc.reason) from exc
        log.info("agent %s for host %s on queue %s: %s %s", self.agent_id, answer["host"], answer["queue"],
                 answer["status"], answer.get("status_reason") or "")
        self.consumer = QueueConsumer(broker_url=answer["broker_url"], queue_name=answer["queue"],
                                      transport_options=answer["transport_options"], concurrency=self.concurrency,
                                      handle=self.run_job, refresh=self._broker_user)
        return answer

    def serve(self):
        """Run until stopped: heartbeat and engine events on their own threads, the consumer on this one."""
        threads = [threading.Thread(target=self._heartbeats, name="cryo-heartbeat", daemon=True),
                   threading.Thread(target=self._inventories, name="cryo-inventory", daemon=True),
                   threading.Thread(target=self._events, name="cryo-events", daemon=True)]
        for thread in threads:
            thread.start()
        try:
            self.consumer.run()
        finally:
            self.stop_event.set()
            try:
                self.client.post("/goodbye", {"agent_id": self.agent_id}, timeout=5)
            except CryoError:
                pass
        if self.fatal:
            raise AgentStopped(self.fatal)

    def stop(self, reason=None):
        if reason and not self.fatal:
            self.fatal = reason
            log.error("%s", reason)
        self.stop_event.set()
        if self.consumer:
            self.consumer.stop()

    # -- facts, heartbeat, inventory ---------------------------------------------------------------
    def engine_root(self, engine):
        root = self._roots.get(engine.url)
        if not root:
            root = engine.info().get("DockerRootDir", "")
            if not root:
                raise CryoError("the engine did not say where it keeps its data (DockerRootDir)")
            self._roots[engine.url] = root
        return root

    def facts(self, engine=None):
        now = time.monotonic()
        if not self._machine or now - self._machine_at > facts.CRIU_CHECK_EVERY:
            self._machine, self._machine_at = facts.machine_facts(), now
        engine = engine or self.engine()
        found = {**self._machine, **facts.engine_facts(engine)}
        if found.get("docker_root_dir"):
            self._roots[engine.url] = found["docker_root_dir"]
        return found

    def _heartbeats(self):
        engine = self.engine()
        refused_since = None
        interval = self.config.get("heartbeat_interval", 5)
        while not self.stop_event.is_set():
            try:
                self.beat(engine)
                refused_since = None
            except CredentialRejected:
                # Every request is refused from now on; stop once that has lasted (not on one answer, which may
                # come from a dashboard whose database is being restored).
                refused_since = refused_since or time.monotonic()
                if time.monotonic() - refused_since > REVOKED_AFTER:
                    self.stop("this host's credential was revoked (or the host removed): the agent stops")
                    return
                log.warning("the dashboard refused this host's credential")
            except ApiError as exc:
                if exc.status == 409:
                    self.stop(f"the dashboard gave this host to another agent process: {exc.reason}")
                    return
                log.warning("heartbeat refused: %s", exc)
            except CryoError as exc:
                log.warning("heartbeat failed: %s", exc)
            except Exception:
                log.exception("heartbeat failed")
            self.stop_event.wait(interval)

    def _inventories(self):
        """The full listing, on a thread of its own: the engine can hold a listing for as long as it restores a
        container, and the heartbeats must not wait for it."""
        engine = self.engine()
        while not self.stop_event.is_set():
            try:
                self.send_inventory(engine)
            except CredentialRejected:
                pass  # the heartbeats decide what a refused credential means
            except CryoError as exc:
                log.warning("inventory not sent: %s", exc)
            except Exception:
                log.exception("inventory not sent")
            self.stop_event.wait(self.config.get("sync_interval", 60))

    def beat(self, engine):
        with self.lock:
            held = sorted(self.in_flight)
        answer = self.client.post("/heartbeat", {"agent_id": self.agent_id, "facts": self.facts(engine),
                                                 "in_flight": held}, timeout=10)
        if answer.get("credential"):
            self.rotate(answer["credential"])
        return answer

    def _broker_user(self):
        """Say hello again: the dashboard sets up this host's broker user anew and hands it over."""
        answer = self.hello()
        return answer["broker_url"], answer["transport_options"]

    def rotate(self, credential):
        """A new credential from the dashboard: keep it, use it, and reconnect with the broker user it brings."""
        self.state.write("credential", credential)
        self.client.use(credential)
        answer = self.hello()
        self.consumer.reconfigure(broker_url=answer["broker_url"], transport_options=answer["transport_options"])
        log.info("credential rotated")

    def send_inventory(self, engine):
        report = inventory.listing(engine, self.engine_root(engine))
        return self.client.post("/inventory", {"agent_id": self.agent_id, **report}, timeout=120)

    def send_container(self, engine, engine_id):
        item = inventory.one(engine, engine_id, self.engine_root(engine))
        payload = {"agent_id": self.agent_id, "gone": item is None, "container": item}
        self.client.post(f"/containers/{engine_id}", payload)

    def _events(self):
        """Follow the engine's container events, so the inventory changes within a second of the engine; after the
        stream breaks (the engine restarted), list everything again: events missed meanwhile are not lost."""
        first = True
        while not self.stop_event.is_set():
            engine = self.engine(timeout=None)
            try:
                since = int(time.time())
                stream = engine.events(since=since)
                if not first:
                    self.send_inventory(self.engine())
                first = False
                for event in stream:
                    if self.stop_event.is_set():
                        return
                    engine_id = (event.get("Actor") or {}).get("ID") or event.get("id")
                    if names.ENGINE_ID.is_valid(engine_id) and \
                            event.get("Action", "").split(":")[0] in CONTAINER_EVENTS:
                        try:
                            self.send_container(self.engine(), engine_id)
                        except CryoError as exc:
                            log.warning("cannot report container %s after an event: %s", engine_id[:12], exc)
            except Exception as exc:
                log.info("engine event stream ended (%s); listening again", exc)
            finally:
                engine.close()
            self.stop_event.wait(1)

    # -- jobs ------------------------------------------------------------------------------------------
    def report(self, job_id, what, payload, give_up_after=24 * 3600):
        return self.client.post_until_recorded(f"/jobs/{job_id}/{what}", payload, give_up_after=give_up_after)

    def run_job(self, job_id):
        with self.lock:
            if job_id in self.in_flight:
                return  # a second copy of a message for a job this process is running
            self.in_flight.add(job_id)
        engine = self.engine()
        try:
            self._run(job_id, engine)
        finally:
            engine.close()
            with self.lock:
                self.in_flight.discard(job_id)

    def _run(self, job_id, engine):
        try:
            order = self.client.post(f"/jobs/{job_id}/claim", {"agent_id": self.agent_id})
        except ApiError as exc:
            log.info("job %s: not for this agent now (%s)", job_id, exc.reason)
            return
        except Unreachable as exc:
            log.warning("job %s: cannot claim it now (%s); the dashboard sends it again", job_id, exc)
            return
        runner = self.runners.get(order.get("kind"))
        step = order.get("step")
        if runner is None or step not in runner.steps or order.get("job") != job_id:
            self.report(job_id, "finish", {"agent_id": self.agent_id, "step": str(step)[:16], "outcome": "failed",
                                           "error": f"this agent cannot run a {order.get('kind')!r} job's {step!r}"})
            return
        log.info("job %s: %s step %s", job_id, order["kind"], step)
        ctx = StepContext(agent=self, order=order, engine=engine)
        outcome = {"agent_id": self.agent_id, "step": step}
        try:
            result = runner.run(step, order, ctx)
        except CryoError as exc:
            if ctx.handed_off:
                log.warning("job %s: after the hand-off: %s", job_id, exc)
                return
            result = dict(getattr(exc, "result", {}) or {})
            if isinstance(exc, (EngineUnreachable, EngineTimeout)):
                result["engine_lost"] = True  # what the engine did is unknown: the next inventory settles it
            outcome.update(outcome="failed", error=exc.message, result=result)
        except Exception as exc:
            log.exception("job %s crashed", job_id)
            if ctx.handed_off:
                return
            outcome.update(outcome="failed", error=f"internal error in Cryo's agent: {exc!r}", result={})
        else:
            if result is HANDED_OFF:
                return
            outcome.update(outcome="succeeded", result=result or {})
        self._refresh(engine, order, outcome)
        try:
            self.report(job_id, "finish", outcome)
        except ApiError as exc:
            log.warning("job %s: the dashboard did not take the outcome: %s", job_id, exc.reason)

    def _refresh(self, engine, order, outcome):
        """Report the containers the step touched before its outcome, so the job's end and the inventory agree."""
        touched = [(outcome.get("result") or {}).get("target_container_id")]
        if order.get("step") != "import":  # an import's order names the source's container, on another host
            touched.append((order.get("container") or {}).get("id"))
        for engine_id in touched:
            if names.ENGINE_ID.is_valid(engine_id):
                try:
                    self.send_container(engine, engine_id)
                except CryoError:
                    pass  # the next event or full sync catches up
