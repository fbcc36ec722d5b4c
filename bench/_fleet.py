"""What the engine benchmarks share: a SQLite database of their own under var/bench/, the fleet they drive (a broker,
the dashboard served by gunicorn, the control process, engines named after $CRYO_BENCH_DAEMON_PREFIX and a real
`cryo-agent` per host, all through tests/harness), jobs waited for, the engine's own checkpoint and restore, and the
checks that a restored process went on.

Environment: $CRYO_BENCH_DAEMON_PREFIX (default cryo-bench) names the Docker daemons (PREFIX-a, PREFIX-b, ...) and
Podman services (PREFIX-podman-a, ...); $CRYO_BENCH_BROKER_URL (default redis://:cryo-bench@127.0.0.1:6393/0) is the
broker, started on that port unless one answers there already.
"""
import base64
import contextlib
import os
import shutil
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench"
PREFIX = os.environ.get("CRYO_BENCH_DAEMON_PREFIX", "cryo-bench")
BROKER_URL = os.environ.get("CRYO_BENCH_BROKER_URL", "redis://:cryo-bench@127.0.0.1:6393/0")


def setup_django(name):
    """Django on a fresh SQLite file var/bench/<name>.sqlite3, migrated; heartbeats as production sets them."""
    VAR.mkdir(parents=True, exist_ok=True)
    db = VAR / f"{name}.sqlite3"
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    # The production heartbeat grace (30 s): with 1 GiB checkpoints on two cores a heartbeat can be late by 10 s.
    os.environ.update({
        "DATABASE_URL": f"sqlite:///{db}", "CRYO_SECRET_KEY": "bench",
        "CRYO_STORE_KEK": base64.b64encode(os.urandom(32)).decode(), "CRYO_VAR_DIR": str(VAR),
        "CRYO_HEARTBEAT_INTERVAL": "1", "CRYO_HEARTBEAT_GRACE": "30", "CRYO_SYNC_INTERVAL": "5",
        "CRYO_BROKER_URL": BROKER_URL, "DJANGO_SETTINGS_MODULE": "dashboard.settings",
    })
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def bench_user():
    from django.contrib.auth.models import User

    return User.objects.create_superuser("bench", "bench@example.test", "bench-password")


def wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


def median(values):
    return round(statistics.median(list(values)), 3)


class Fleet:
    """The broker, the dashboard, the control process, the engines and an agent per engine host; `stop` ends what
    was started, agents first, engines last."""

    def __init__(self):
        self.broker = self.dashboard = self.control = None
        self.agents, self.stops = [], []

    def start(self):
        from urllib.parse import urlsplit

        from tests.harness.processes import Broker, Control, Dashboard, port_open

        url = os.environ["CRYO_BROKER_URL"]
        if not port_open(urlsplit(url).port):
            self.broker = Broker(url).start()
        self.dashboard = Dashboard().start()
        self.control = Control().start()
        return self

    def docker(self, suffix):
        """A Docker daemon of the benchmark's own, PREFIX-<suffix>, with the counter image built."""
        from tests.harness import engine

        name = f"{PREFIX}-{suffix}"
        self.stops.append(lambda: engine.stop_daemon(name))
        return engine.start_daemon(name)

    def podman(self, suffix):
        """A Podman service of the benchmark's own, PREFIX-podman-<suffix>."""
        from tests.harness import podman

        name = f"{PREFIX}-podman-{suffix}"
        self.stops.append(lambda: podman.stop_podman(name))
        return podman.start_podman(name)

    def add(self, host_name, engine, kind="docker"):
        """The host's row, a join token, and its agent started with it; the host once it is online."""
        from snapshots.models import Host, JoinToken
        from tests.harness.processes import Agent

        host = Host.all_objects.filter(name=host_name).first() or Host.objects.create(name=host_name)
        _row, token = JoinToken.issue(host, created_by_name="bench")
        agent = Agent(host_name, engine.url, self.dashboard.url, engine=kind)
        shutil.rmtree(agent.state_dir, ignore_errors=True)
        agent.join_token = token
        self.agents.append(agent.start())
        return wait(lambda: Host.objects.filter(name=host_name, status="online").exclude(worker_id="").first(), 90,
                    f"host {host_name} online")

    def stop(self):
        for process in [*self.agents, self.control, self.dashboard, self.broker]:
            if process is not None:
                process.stop()
        for stop in reversed(self.stops):
            stop()


@contextlib.contextmanager
def fleet():
    running = Fleet()
    try:
        yield running.start()
    finally:
        running.stop()


def inventory_row(host, container, state="running"):
    from snapshots.models import Container

    return wait(lambda: Container.objects.filter(host=host, engine_id=container.id, state=state).first(), 60,
                f"{container.name} {state} in the inventory of {host.name}")


def wait_job(job, timeout=1800):
    from snapshots.models import Job

    return wait(lambda: Job.objects.filter(pk=job.pk, state__in=("succeeded", "failed")).first(), timeout,
                f"job {job.pk}")


def ok(job):
    if job.state != "succeeded":
        raise RuntimeError(f"{job.kind} job failed: {job.error}")
    return job


def timed_job(request):
    """(the finished job, seconds from the request to its end as a client polling every 50 ms sees it)."""
    t0 = time.monotonic()
    job = ok(wait_job(request()))
    return job, round(time.monotonic() - t0, 3)


def check_continues(container, frozen_at, seed):
    """The restored counter goes on from where it was frozen, with its memory, not started again."""
    from tests.harness.engine import counter_log, wait_for_ticks

    log = wait_for_ticks(container, frozen_at + 2, timeout=60)
    if seed not in log.seeds or not log.all_memory_ok or len(log.seeds) != 1:
        raise RuntimeError(f"{container.name} did not continue its process: {counter_log(container)}")


def engine_checkpoint_restore(daemon, container, name="bench"):
    """The engine's own `checkpoint create` (exit) then `start --checkpoint`, through the agent's engine adapter and
    no job: {checkpoint_s, restore_s, restore_retries}.

    Docker 20.10 refuses a restore started within about a tenth of a second of the checkpoint with "failed to upload
    checkpoint to containerd: commit failed: content sha256:…: already exists"; as the agent does, the restore is
    tried again a moment later. The time shown is that of the attempt that went through; the retries are counted.
    """
    from snapshots import errors
    from snapshots.host.criu_calls import RACE
    from snapshots.host.engine import Engine

    engine = Engine(daemon.url, long_timeout=1800)
    try:
        t0 = time.monotonic()
        engine.checkpoint_create(container.id, name, exit=True)
        checkpoint = time.monotonic() - t0
        wait(lambda: engine.inspect(container.id)["State"]["Status"] == "exited", 60, f"{container.name} exited")
        for attempt in range(20):
            t0 = time.monotonic()
            try:
                engine.start(container.id, checkpoint=name)
            except errors.EngineError as exc:
                if RACE not in str(exc) or attempt == 19:
                    raise
                time.sleep(0.1)
                continue
            return {"checkpoint_s": round(checkpoint, 3), "restore_s": round(time.monotonic() - t0, 3),
                    "restore_retries": attempt}
    finally:
        engine.close()
