"""What the fleet and cli_wait benchmarks share: a PostgreSQL database and a Redis broker of their own, the dashboard
served as in production (gunicorn with uvicorn's worker class) with its control process, and simulated hosts.

A simulated host is the real agent (snapshots.host.agent.Agent: its worker API client, its join, hello, heartbeats,
its kombu consumer of its own queue with the broker user the dashboard gives it, its job loop and reports) with a
stand-in engine: one running container, checkpoints that take a set time and leave a directory, no Docker. Many run
as threads of one process.
"""
import base64
import os
import platform
import secrets
import threading
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PROTECTED_DATABASES = {"postgres", "test", "template0", "template1"}


# -- services ------------------------------------------------------------------------------------
def setup(name, database_url, broker_port):
    """A fresh database (dropped and created) and the environment of the dashboard side; Django set up on it."""
    var = ROOT / "var" / "bench" / name
    var.mkdir(parents=True, exist_ok=True)
    (var / "staticfiles").mkdir(exist_ok=True)
    recreate_database(database_url)
    password = secrets.token_hex(16)
    os.environ.update({
        "DATABASE_URL": database_url, "CRYO_SECRET_KEY": secrets.token_hex(32),
        "CRYO_STORE_KEK": base64.b64encode(os.urandom(32)).decode(), "CRYO_VAR_DIR": str(var),
        "CRYO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver", "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "CRYO_LOG_LEVEL": "WARNING", "CRYO_BROKER_URL": f"redis://:{password}@127.0.0.1:{broker_port}/0",
    })
    for stale in ("CRYO_EVENTS_URL", "CRYO_AGENT_BROKER_URL"):
        os.environ.pop(stale, None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return var


def _database_name(database_url):
    name = urlsplit(database_url).path.lstrip("/")
    if not name or name in PROTECTED_DATABASES or name.startswith("test"):
        raise SystemExit(f"refusing to drop and create the database {name!r}: name one of the benchmark's own")
    return name


def _maintenance(database_url):
    import psycopg

    parts = urlsplit(database_url)
    return psycopg.connect(host=parts.hostname or "127.0.0.1", port=parts.port or 5432, user=parts.username or
                           "postgres", password=parts.password, dbname="postgres", autocommit=True)


def recreate_database(database_url):
    name = _database_name(database_url)
    with _maintenance(database_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(database_url):
    from django.db import connections

    connections.close_all()
    name = _database_name(database_url)
    with _maintenance(database_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_version():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("select version()")
        return cursor.fetchone()[0].split(",")[0]


def start_services(workers=2):
    """The broker, the dashboard (gunicorn, uvicorn worker class) and the control process; returns them."""
    from django.conf import settings

    from tests.harness.processes import Broker, Control, Dashboard

    broker = Broker(settings.CELERY_BROKER_URL).start()
    web = Dashboard(workers=workers, asgi=True).start()
    control = Control().start()
    return broker, web, control


def admin_token(username="bench-fleet-admin"):
    """An admin and a personal API token for it (what the CLI and API clients use)."""
    from django.contrib.auth.models import User

    from snapshots.models import ApiToken

    user = User.objects.filter(username=username).first() or User.objects.create_superuser(username, "", None)
    return user, ApiToken.issue(user, "bench")[1]


def add_host(user, name):
    """An admin adds a host by name, as `cryo host add` does: the host row and a one-time join token."""
    from snapshots.services.hosts import add_host as add
    from snapshots.services.origin import Origin

    _host, token = add(user, name, origin=Origin(source="127.0.0.1"))
    return token


# -- CPU of the dashboard side (from /proc) -------------------------------------------------------
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid):
    """(command, parent pid, session id, own CPU s, reaped children's CPU s) of a process, or None."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()
    return (raw[raw.index("(") + 1:raw.rindex(")")], int(fields[1]), int(fields[3]),
            (int(fields[11]) + int(fields[12])) / CLOCK_TICKS, (int(fields[13]) + int(fields[14])) / CLOCK_TICKS)


class CpuMeter:
    """CPU seconds, between two readings, of: the dashboard side (the given sessions), this process (the simulated
    hosts and the clients), the PostgreSQL server (postmaster, its live children, and the children it reaped: a
    backend that ends within the window is counted through the postmaster), and the whole machine."""

    def __init__(self, session_ids):
        self.session_ids = set(session_ids)

    def read(self):
        stats = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                found = _stat(entry)
                if found:
                    stats[int(entry)] = found
        dashboard = sum(s[3] for s in stats.values() if s[2] in self.session_ids)
        masters = [pid for pid, s in stats.items() if s[0] == "postgres" and stats.get(s[1], ("",))[0] != "postgres"]
        postgres = sum(stats[m][3] + stats[m][4] for m in masters)
        postgres += sum(s[3] for s in stats.values() if s[1] in masters)
        own = sum(os.times()[:2])
        with open("/proc/stat") as fh:
            values = [int(v) for v in fh.readline().split()[1:]]
        busy = (sum(values) - values[3] - values[4]) / CLOCK_TICKS
        return {"dashboard": dashboard, "bench_process": own, "postgres": postgres, "machine": busy,
                "at": time.perf_counter()}

    @staticmethod
    def percent(before, after):
        """Each as a percentage of one core over the interval."""
        wall = after["at"] - before["at"]
        return {k: round(100 * (after[k] - before[k]) / wall, 1) for k in before if k != "at"}


# -- PostgreSQL connections ---------------------------------------------------------------------
class ConnectionSampler:
    """Samples the connections to the benchmark's database (pg_stat_activity) on a thread of its own."""

    def __init__(self, database_url, every=0.2):
        self.url, self.every = database_url, every
        self.samples = []
        self.stop_event = threading.Event()
        self.thread = None

    def start(self):
        self.samples = []
        self.stop_event.clear()
        self.thread = threading.Thread(target=self._run, name="pg-sampler", daemon=True)
        self.thread.start()
        return self

    def _run(self):
        import psycopg

        parts = urlsplit(self.url)
        with psycopg.connect(host=parts.hostname, port=parts.port or 5432, user=parts.username or "postgres",
                             password=parts.password, dbname=parts.path.lstrip("/"), autocommit=True) as conn:
            while not self.stop_event.is_set():
                row = conn.execute(
                    "select count(*), count(*) filter (where state = 'active') from pg_stat_activity "
                    "where datname = current_database() and pid <> pg_backend_pid()").fetchone()
                self.samples.append(row)
                self.stop_event.wait(self.every)

    def stop(self):
        self.stop_event.set()
        if self.thread:
            self.thread.join(5)
        counts = [s[0] for s in self.samples] or [0]
        active = [s[1] for s in self.samples] or [0]
        return {"samples": len(self.samples), "max": max(counts), "mean": round(sum(counts) / len(counts), 1),
                "max_active": max(active)}


# -- simulated hosts ---------------------------------------------------------------------------
ENGINE_FACTS = {"cpu_model": "stand-in", "cpu_flags": "", "criu_ok": True, "criu_version": "4.1",
                "criu_message": "", "criu_sockets_ok": True, "criu_sockets_message": ""}


class StandInEngine:
    """What the agent asks of an engine, for one running container; checkpoints are directories it leaves."""

    kind = "docker"

    def __init__(self, host_name, root):
        self.url = f"unix:///run/stand-in/{host_name}.sock"
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.container_id = secrets.token_hex(32)
        self.image_id = "sha256:" + secrets.token_hex(32)
        self.created = time.time()

    def info(self):
        return {"ServerVersion": "27.5.1", "ExperimentalBuild": True, "KernelVersion": platform.release(),
                "OperatingSystem": "stand-in engine", "NCPU": 2, "MemTotal": 4 << 30,
                "DockerRootDir": str(self.root), "ContainersRunning": 1}

    def version(self):
        return {"ApiVersion": "1.47", "Experimental": True}

    def containers(self):
        return [{"Id": self.container_id}]

    def inspect(self, engine_id):
        return {"Id": self.container_id, "Name": "/app", "Image": self.image_id, "Created": self.created,
                "Config": {"Image": "nginx:1.27", "Cmd": ["nginx", "-g", "daemon off;"], "Labels": {}},
                "HostConfig": {"NetworkMode": "bridge"}, "State": {"Status": "running", "Pid": 0}, "Mounts": []}

    def images(self):
        return [{"Id": self.image_id, "RepoTags": ["nginx:1.27"]}]

    def close(self):
        pass


def _standin_runner(seconds):
    from snapshots.host import paths
    from snapshots.host.runners.base import Runner

    class StandInCheckpoint(Runner):
        """A checkpoint that takes `seconds` and leaves its directory (so the next inventory lists it)."""

        kind = "checkpoint"

        def run(self, step, order, ctx):
            container_id, name = ctx.container_id(), ctx.checkpoint_name()
            with ctx.phase("checkpoint") as timed:
                time.sleep(seconds)
                folder = paths.checkpoint_dir(ctx.engine_root, container_id, name)
                folder.mkdir(parents=True, exist_ok=True)
                (folder / "inventory.img").write_bytes(b"\0" * 4096)
            return {"checkpoint_seconds": timed.seconds, "size_bytes": 4096}

    return StandInCheckpoint()


class Record:
    """What the simulated hosts saw, shared by all of them (times are time.perf_counter())."""

    def __init__(self):
        self.lock = threading.Lock()
        self.messages = []  # (host name, job id, when): every job message a host's consumer took
        self.claimed = {}  # job id -> when the claim was answered
        self.finished = {}  # job id -> when the finish was answered
        self.refused_claims = defaultdict(int)  # status -> count
        self.heartbeats = []  # (when, seconds) of each answered heartbeat
        self.unreachable = defaultdict(int)  # kind of request -> requests that got no answer (connection faults)

    def add(self, attribute, value):
        with self.lock:
            getattr(self, attribute).append(value)


def simulated_agent_class():
    from snapshots.host import facts
    from snapshots.host.agent import Agent
    from snapshots.host.client import ApiError, Client, Unreachable

    class TimedClient(Client):
        """The agent's own worker API client, noting when claims, finishes and heartbeats were answered."""

        def __init__(self, url, record):
            super().__init__(url)
            self.record = record

        def post(self, path, json=None, **kwargs):
            started = time.perf_counter()
            try:
                answer = super().post(path, json, **kwargs)
            except ApiError as exc:
                if path.endswith("/claim"):
                    with self.record.lock:
                        self.record.refused_claims[exc.status] += 1
                raise
            except Unreachable:
                with self.record.lock:
                    self.record.unreachable[_kind(path)] += 1
                raise
            done = time.perf_counter()
            if path == "/heartbeat":
                self.record.add("heartbeats", (done, done - started))
            elif path.endswith("/claim"):
                self.record.claimed[path.split("/")[2]] = done
            elif path.endswith("/finish"):
                self.record.finished[path.split("/")[2]] = done
            return answer

    class SimulatedAgent(Agent):
        """The real agent of one host, with a stand-in engine instead of Docker."""

        def __init__(self, url, host_name, state_dir, record, *, job_seconds=0.2, concurrency=2):
            super().__init__(url, state_dir=state_dir, concurrency=concurrency, verify=False)
            self.host_name = host_name
            self.client = TimedClient(url, record)
            self.record = record
            self.standin = StandInEngine(host_name, Path(state_dir) / "engine")
            self.runners = {"checkpoint": _standin_runner(job_seconds)}
            self.agent_id = f"{host_name}:{os.getpid()}:{os.urandom(3).hex()}"
            self.thread = None

        def engine(self, timeout=30):
            return self.standin

        def facts(self, engine=None):
            return {**ENGINE_FACTS, **facts.engine_facts(self.standin)}

        def _events(self):
            self.stop_event.wait()  # the stand-in changes only through jobs: no engine events to follow

        def run_job(self, job_id):
            self.record.add("messages", (self.host_name, job_id, time.perf_counter()))
            return super().run_job(job_id)

        def launch(self, join_token):
            """Join, say hello, send the first inventory; then serve on a thread of its own."""
            self.start(join_token=join_token)
            self.send_inventory(self.standin)
            self.thread = threading.Thread(target=self._serve, name=f"agent-{self.host_name}", daemon=True)
            self.thread.start()
            return self

        def _serve(self):
            try:
                self.serve()
            except Exception as exc:
                print(f"agent of {self.host_name} stopped: {exc}", flush=True)

    return SimulatedAgent


def _kind(path):
    """"/jobs/<id>/claim" -> "claim", "/heartbeat" -> "heartbeat"."""
    return path.rstrip("/").rsplit("/", 1)[-1] if path.startswith("/jobs/") else path.strip("/").split("/")[0]


def wait_online(names, timeout=300):
    """Until the dashboard shows every named host online (heartbeat seen, consumer connected to the broker)."""
    from django.db import connection

    from snapshots.models import Host

    deadline = time.monotonic() + timeout
    while True:
        hosts = list(Host.objects.filter(name__in=names))
        offline = [h.name for h in hosts if h.effective_status != Host.Status.ONLINE]
        if len(hosts) == len(names) and not offline:
            connection.close()
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(offline)} hosts still not online after {timeout} s, e.g. {offline[:5]}")
        time.sleep(0.5)


def percentile(values, q):
    """The q-th percentile (0-100) by linear interpolation; None without values."""
    values = sorted(values)
    if not values:
        return None
    k = (len(values) - 1) * q / 100
    low = int(k)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (k - low)


def ms(value):
    return None if value is None else round(value * 1000, 1)
