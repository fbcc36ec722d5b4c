"""Real-service benchmark: Cryo's checkpoint (exit) and in-place restore jobs of real services, beside the engine's
own `checkpoint create` + `start --checkpoint` of the same kind of container in the same run.

Services (the images of tests/integration/test_real_services.py, built by tests/harness): cryo-redis:1 holding
20,000 keys (written through its socket), and cryo-pingpong:1 (a TCP connection between two processes inside the
container). Each round checks what the tests check: Redis answers with every key and the same run_id; the pingpong
connection goes on, never made again. One round of each runs first as a warm-up and is not counted.

Needs root and deploy/provision-host.sh. Starts one Docker daemon ($CRYO_BENCH_DAEMON_PREFIX-svc), the broker, the
dashboard, the control process and an agent (see bench/_fleet.py), on a SQLite database under var/bench/.
Rounds per service: $CRYO_BENCH_SERVICE_REPEATS (default 5).
"""
import os
import time

from bench._fleet import bench_user, engine_checkpoint_restore, fleet, inventory_row, median, setup_django, timed_job

REPEATS = int(os.environ.get("CRYO_BENCH_SERVICE_REPEATS", "5"))
KEYS = 20_000
SERVICES = ("redis", "pingpong")


def start_service(daemon, kind):
    """A service container, ready: Redis filled with KEYS keys, pingpong past its first ticks."""
    from tests.harness import engine as h

    if kind == "redis":
        container = daemon.run_redis()
        if h.fill_redis(container, 1, KEYS) != KEYS:
            raise RuntimeError(f"redis in {container.name} did not take {KEYS} keys")
    else:
        container = daemon.run_pingpong()
        log = h.wait_for_pingpong(container, 3)
        if log.broken or len(log.connects) != 1:
            raise RuntimeError(f"pingpong in {container.name} did not start: {log}")
    return container


def identity(container, kind):
    """What a restore must keep: Redis' run_id (new at every start), pingpong's one connection (id, client port)."""
    from tests.harness import engine as h

    return h.redis_info(container)["run_id"] if kind == "redis" else h.pingpong_log(container).connects


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
            raise RuntimeError(f"the connection in {container.name} did not survive: {log.broken or log.connects}")


def engine_baseline(daemon, kind):
    """The engine's own checkpoint (exit) and restore of the service, through the agent's engine adapter."""
    container = start_service(daemon, kind)
    try:
        before = identity(container, kind)
        out = engine_checkpoint_restore(daemon, container)
        check_service(container, kind, before)
        return out
    finally:
        container.remove(force=True)


def cryo_jobs(daemon, host, actor, kind):
    """Cryo's checkpoint (exit) job then restore job of the same kind of container."""
    from snapshots import services
    from snapshots.models import Host

    host = Host.objects.get(pk=host.pk)  # as it is now (heartbeats, facts)
    origin = services.Origin(source="bench")
    container = start_service(daemon, kind)
    try:
        before = identity(container, kind)
        row = inventory_row(host, container)
        checkpoint_job, checkpoint_wall = timed_job(
            lambda: services.checkpoint(actor, row, name="bench", origin=origin))
        row = inventory_row(host, container, state="exited")
        checkpoint = row.checkpoints.get(name="bench", status="present")
        time.sleep(0.5)  # a person's pause between the two requests
        restore_job, restore_wall = timed_job(lambda: services.restore(actor, checkpoint, origin=origin))
        check_service(container, kind, before)
        return {"checkpoint_s": checkpoint_job.result["checkpoint_seconds"],
                "restore_s": restore_job.result["restore_seconds"],
                "checkpoint_job_wall_s": checkpoint_wall, "restore_job_wall_s": restore_wall,
                "size_bytes": checkpoint_job.result.get("size_bytes")}
    finally:
        container.remove(force=True)


def run():
    setup_django("real_services")
    actor = bench_user()
    rows = []
    with fleet() as hosts:
        daemon = hosts.docker("svc")
        host = hosts.add("bench-svc", daemon)
        for kind in SERVICES:  # warm-up, not counted: the images' first runs, first connections
            engine_baseline(daemon, kind)
            cryo_jobs(daemon, host, actor, kind)
        for kind in SERVICES:
            bases, jobs = [], []
            for _ in range(REPEATS):  # alternate, so both see the same machine state
                bases.append(engine_baseline(daemon, kind))
                jobs.append(cryo_jobs(daemon, host, actor, kind))
            row = {"service": kind, "runs": REPEATS,
                   "engine": {k: median(b[k] for b in bases) for k in ("checkpoint_s", "restore_s")},
                   "engine_restore_retries": sum(b["restore_retries"] for b in bases),
                   "cryo": {k: median(j[k] for j in jobs) for k in jobs[0]}}
            rows.append(row)
            print(f"{kind} x{REPEATS}: engine {row['engine']}, cryo {row['cryo']}", flush=True)
    return {"name": "real_services", "rows": rows}


def markdown(result):
    lines = [
        "Seconds, medians of the runs (after a warm-up round of each). Engine: `checkpoint create` (exit) then",
        "`start --checkpoint` through the agent's engine adapter, no job. Cryo: the checkpoint phase and the restore",
        "phase of a checkpoint job (exit) and a restore job of the same kind of container, run by a real agent;",
        "wall: from the request to the job's end, seen by a client polling the database every 50 ms. redis: 20,000",
        "keys; pingpong: one TCP connection inside the container. Every round checked the service came back (same",
        "Redis run_id and every key; the same connection). Engine restore retries: restores refused at the first",
        "attempt with Docker 20.10's \"content … already exists\" race right after a checkpoint (the retry's time is",
        "what is shown; the agent retries the same way).",
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
