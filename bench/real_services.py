"""Real-service benchmark: Cryo's checkpoint (exit) and in-place restore jobs of real services, beside the
engine's own `checkpoint create` + `start --checkpoint` of the same kind of container.

Services: cryo-redis:1 holding 20,000 keys (written through its socket), and cryo-pingpong:1 (a TCP
connection between two processes inside the container). Each round checks what the tests check: Redis
answers with every key and the same run_id; the pingpong connection goes on, never made again.

Needs root and a provisioned machine (deploy/provision-host.sh); starts one daemon
($CRYO_BENCH_DAEMON_PREFIX-svc, default cryo-bench-svc), a worker process, and a SQLite database under
var/bench/; the broker is $CRYO_BROKER_URL (default redis://127.0.0.1:6379/13).
"""
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench"
REPEATS = int(os.environ.get("CRYO_BENCH_SERVICE_REPEATS", "5"))
KEYS = 20_000
sys.path.insert(0, str(ROOT))


def _setup_django():
    VAR.mkdir(parents=True, exist_ok=True)
    db = VAR / "real_services.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    os.environ.update({
        "DATABASE_URL": f"sqlite:///{db}", "CRYO_SECRET_KEY": "bench", "CRYO_VAR_DIR": str(VAR),
        "CRYO_HEARTBEAT_INTERVAL": "1", "CRYO_HEARTBEAT_GRACE": "10", "DJANGO_SETTINGS_MODULE": "dashboard.settings",
    })
    os.environ.setdefault("CRYO_BROKER_URL", "redis://127.0.0.1:6379/13")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


def start_service(daemon, kind):
    """A service container, ready: Redis filled with KEYS keys, pingpong past its first ticks."""
    from tests.harness import engine as h

    if kind == "redis":
        container = daemon.run_redis()
        assert h.fill_redis(container, 1, KEYS) == KEYS
    else:
        container = daemon.run_pingpong()
        h.wait_for_pingpong(container, 3)
    return container


def check_service(container, kind, before):
    """The restored service is the same process and answers; raises when not."""
    from tests.harness import engine as h

    if kind == "redis":
        h.wait_answers(lambda: h.redis_cli(container, "PING") == "PONG", container.name)
        if h.redis_info(container)["run_id"] != before or h.redis_intact(container, 1, KEYS) != KEYS:
            raise RuntimeError(f"redis in {container.name} lost its state")
    else:
        log = h.wait_for_pingpong(container, h.pingpong_log(container).last_tick + 2)
        if log.broken or log.connects != before:
            raise RuntimeError(f"the connection in {container.name} did not survive: {log.broken}")


def identity(container, kind):
    from tests.harness import engine as h

    return h.redis_info(container)["run_id"] if kind == "redis" else h.pingpong_log(container).connects


def engine_baseline(daemon, kind):
    """The engine's own checkpoint (exit) and restore of the service, through Cryo's engine adapter."""
    from snapshots.engine import Engine

    container = start_service(daemon, kind)
    try:
        before = identity(container, kind)
        engine = Engine(daemon.url, long_timeout=900)
        t0 = time.monotonic()
        engine.checkpoint_create(container.id, "bench", exit=True)
        checkpoint = time.monotonic() - t0
        _wait(lambda: engine.inspect(container.id)["State"]["Status"] == "exited", 30, "exit")
        restore, retries = timed_restore(engine, container.id)
        check_service(container, kind, before)
        return {"checkpoint_s": round(checkpoint, 3), "restore_s": round(restore, 3), "restore_retries": retries}
    finally:
        container.remove(force=True)


def timed_restore(engine, container_id):
    """(seconds of the restore that succeeded, failed attempts before it).

    Docker 20.10 refuses a restore started within about a tenth of a second of the checkpoint with
    "failed to upload checkpoint to containerd: commit failed: content sha256:…: already exists" (the
    checkpoint's tar is still in containerd's content store); a retry a moment later goes through.
    """
    from snapshots import errors

    for attempt in range(20):
        t0 = time.monotonic()
        try:
            engine.start(container_id, checkpoint="bench")
            return time.monotonic() - t0, attempt
        except errors.EngineError as exc:
            if "already exists" not in str(exc) or attempt == 19:
                raise
            time.sleep(0.1)


def cryo_jobs(daemon, host, actor, kind):
    """Cryo's checkpoint (exit) job then restore job of the same kind of container."""
    from snapshots import services
    from snapshots.models import Container, Job

    container = start_service(daemon, kind)
    try:
        before = identity(container, kind)
        row = _wait(lambda: Container.objects.filter(engine_id=container.id, state="running").first(), 60,
                    "inventory")
        origin = services.Origin(source="bench")
        done = []
        for request in (
            lambda: services.request_checkpoint(actor, host, row.name, name="bench", origin=origin),
            lambda: services.request_restore(actor, host, row.name, "bench", origin=origin),
        ):
            if done:  # a person's pause: a restore within ~0.1 s of the checkpoint hits the race above
                time.sleep(0.5)
            t0 = time.monotonic()
            job = request()
            job = _wait(lambda j=job: Job.objects.filter(pk=j.pk, state__in=["succeeded", "failed"]).first(), 900,
                        "job")
            if job.state != "succeeded":
                raise RuntimeError(f"{job.kind} of {kind} failed: {job.error}")
            done.append((job, time.monotonic() - t0))
        check_service(container, kind, before)
        (checkpoint, checkpoint_wall), (restore, restore_wall) = done
        return {"checkpoint_s": checkpoint.result["checkpoint_seconds"], "restore_s": restore.result["restore_seconds"],
                "checkpoint_job_wall_s": round(checkpoint_wall, 3), "restore_job_wall_s": round(restore_wall, 3),
                "size_bytes": checkpoint.result.get("size_bytes")}
    finally:
        container.remove(force=True)


def run():
    from tests.harness.engine import start_daemon, stop_daemon

    _setup_django()
    from django.contrib.auth.models import User

    from snapshots.models import EnrollmentToken, Host
    from tests.harness.workers import WorkerProcess

    token = "bench-token"
    EnrollmentToken.install(token)
    actor = User.objects.create_superuser("bench", "", "bench")
    name = f"{os.environ.get('CRYO_BENCH_DAEMON_PREFIX', 'cryo-bench')}-svc"
    daemon = start_daemon(name)
    worker = WorkerProcess("bench-svc", daemon.url, token).start()
    rows = []
    try:
        _wait(lambda: Host.objects.filter(name="bench-svc", status="online").exists(), 60, "host bench-svc")
        for kind in ("redis", "pingpong"):
            bases, jobs = [], []
            for _ in range(REPEATS):  # alternate, so both see the same machine state
                bases.append(engine_baseline(daemon, kind))
                jobs.append(cryo_jobs(daemon, "bench-svc", actor, kind))
            row = {"service": kind, "runs": REPEATS,
                   "engine": {k: median(b[k] for b in bases) for k in bases[0] if k != "restore_retries"},
                   "engine_restore_retries": sum(b["restore_retries"] for b in bases),
                   "cryo": {k: median(j[k] for j in jobs) for k in jobs[0]}}
            rows.append(row)
            print(f"{kind} x{REPEATS}: engine {row['engine']}, cryo {row['cryo']}", flush=True)
    finally:
        worker.stop()
        stop_daemon(name)
    return {"name": "real_services", "rows": rows}


def median(values):
    return round(statistics.median(list(values)), 3)


def markdown(result):
    lines = [
        "Seconds, medians of the runs. Engine: `checkpoint create` (exit) then `start --checkpoint` through",
        "Cryo's engine adapter, no job. Cryo: the checkpoint phase and the restore phase of a checkpoint job",
        "(exit) and a restore job of the same kind of container; wall: from the request to the job's end,",
        "seen by a client polling the database every 50 ms. redis: 20,000 keys; pingpong: one TCP connection",
        "inside the container. Engine restore retries: restores refused at the first attempt with Docker",
        "20.10's \"content … already exists\" race right after a checkpoint (the retry's time is what is shown).",
        "",
        "| service | runs | engine checkpoint | engine restore | cryo checkpoint | cryo restore | checkpoint job wall "
        "| restore job wall | checkpoint bytes | engine restore retries |",
        "|---|---|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        e, c = r["engine"], r["cryo"]
        lines.append(f"| {r['service']} | {r['runs']} | {e['checkpoint_s']} | {e['restore_s']} | {c['checkpoint_s']} "
                     f"| {c['restore_s']} | {c['checkpoint_job_wall_s']} | {c['restore_job_wall_s']} | "
                     f"{int(c['size_bytes'] or 0)} | {r['engine_restore_retries']} |")
    return "\n".join(lines)
