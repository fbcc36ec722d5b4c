"""Migration benchmark: Cryo's migration of a running container between two Docker daemons, phase by phase,
beside the engine's own `checkpoint create` + `start --checkpoint` on the same kind of container.

Needs root and a provisioned machine (deploy/provision-host.sh); starts two daemons (cryo-bench-a/b), a
worker process for each, Redis on loopback, and a SQLite database under var/bench/.
"""
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES_MIB = [int(s) for s in os.environ.get("CRYO_BENCH_MIGRATION_MIB", "16,256,1024").split(",")]
# Engine timings are noisy here (page cache, the other core): small sizes run several times, medians reported.
REPEATS = {16: 5, 256: 3}
VAR = ROOT / "var" / "bench"
sys.path.insert(0, str(ROOT))


def _setup_django():
    VAR.mkdir(parents=True, exist_ok=True)
    db = VAR / "migration.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    os.environ.update({
        "DATABASE_URL": f"sqlite:///{db}", "CRYO_SECRET_KEY": "bench", "CRYO_VAR_DIR": str(VAR),
        "CRYO_BROKER_URL": "redis://127.0.0.1:6379/13", "CRYO_HEARTBEAT_INTERVAL": "1",
        "CRYO_HEARTBEAT_GRACE": "10", "DJANGO_SETTINGS_MODULE": "dashboard.settings",
    })
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
        time.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")


def engine_baseline(daemon, mib):
    """The engine's own checkpoint (exit) and restore of a counter holding `mib` MiB."""
    from snapshots.engine import Engine

    container = daemon.run_counter(mib=mib, period_ms=500, name=f"bench-engine-{mib}")
    try:
        from tests.harness.engine import wait_for_ticks

        wait_for_ticks(container, 2, timeout=120)
        engine = Engine(daemon.url, long_timeout=900)
        t0 = time.monotonic()
        engine.checkpoint_create(container.id, "bench", exit=True)
        checkpoint = time.monotonic() - t0
        t0 = time.monotonic()
        engine.start(container.id, checkpoint="bench")
        restore = time.monotonic() - t0
        return {"checkpoint_s": round(checkpoint, 3), "restore_s": round(restore, 3),
                "total_s": round(checkpoint + restore, 3)}
    finally:
        container.remove(force=True)


def cryo_migration(daemon_a, daemon_b, actor, mib):
    from snapshots import services
    from snapshots.models import Container, Job

    container = daemon_a.run_counter(mib=mib, period_ms=500, name=f"bench-move-{mib}")
    from tests.harness.engine import wait_for_ticks

    wait_for_ticks(container, 2, timeout=120)
    _wait(lambda: Container.objects.filter(engine_id=container.id, state="running").exists(), 60, "inventory")
    origin = services.Origin(source="bench")
    t0 = time.monotonic()
    job = services.request_migrate(actor, "bench-a", container.name, to="bench-b", origin=origin)
    job = _wait(lambda: Job.objects.filter(pk=job.pk, state__in=["succeeded", "failed"]).first(), 1800, "migration")
    wall = time.monotonic() - t0
    if job.state != "succeeded":
        raise RuntimeError(f"migration of {mib} MiB failed: {job.error}")
    moved = daemon_b.client.containers.get(container.name)
    moved.remove(force=True)
    phases = {p["name"]: p["seconds"] for p in job.phases}
    return {"phases_s": phases, "downtime_s": job.result["downtime_seconds"], "job_wall_s": round(wall, 3),
            "archive_bytes": job.result.get("archive_size")}


def run():
    from tests.harness.engine import start_daemon, stop_daemon

    _setup_django()
    from django.contrib.auth.models import User

    from snapshots.models import EnrollmentToken, Host
    from tests.harness.workers import WorkerProcess

    token = "bench-token"
    EnrollmentToken.install(token)
    actor = User.objects.create_superuser("bench", "", "bench")
    daemons = {name: start_daemon(f"cryo-{name}") for name in ("bench-a", "bench-b")}
    workers = [WorkerProcess(name, d.url, token).start() for name, d in daemons.items()]
    rows = []
    try:
        for name in daemons:
            _wait(lambda n=name: Host.objects.filter(name=n, status="online").exists(), 60, f"host {name}")
        for mib in SIZES_MIB:
            bases, moves = [], []
            for _ in range(REPEATS.get(mib, 1)):  # alternate, so both see the same machine state
                bases.append(engine_baseline(daemons["bench-a"], mib))
                moves.append(cryo_migration(daemons["bench-a"], daemons["bench-b"], actor, mib))
            base = {k: median(b[k] for b in bases) for k in bases[0]}
            phases = {k: median(m["phases_s"].get(k, 0) for m in moves) for k in moves[0]["phases_s"]}
            move = {"phases_s": phases, "downtime_s": median(m["downtime_s"] for m in moves),
                    "archive_bytes": moves[0]["archive_bytes"], "runs": len(moves)}
            own = median(m["phases_s"]["checkpoint"] + m["phases_s"]["restore"] for m in moves)
            rows.append({"mib": mib, "engine": base, "cryo": move,
                         "downtime_ratio": round(move["downtime_s"] / base["total_s"], 3),
                         "overhead_s": round(move["downtime_s"] - own, 3),
                         "own_ratio": round(move["downtime_s"] / own, 3)})
            print(f"migration {mib} MiB x{len(moves)}: engine {base['total_s']} s, cryo downtime "
                  f"{move['downtime_s']} s (x{rows[-1]['downtime_ratio']}; x{rows[-1]['own_ratio']} of its own "
                  f"checkpoint+restore), phases {phases}", flush=True)
    finally:
        for w in workers:
            w.stop()
        for name in daemons:
            stop_daemon(f"cryo-{name}")
    return {"name": "migration", "target": "downtime within 1.3x of engine checkpoint + restore", "rows": rows}


def median(values):
    return round(statistics.median(list(values)), 3)


def markdown(result):
    lines = [
        "Seconds, medians of the runs. Engine: `checkpoint create` (exit) then `start --checkpoint` of the same",
        "kind of container on host A. Cryo: `cryo migrate` A -> B; downtime runs from the start of the checkpoint",
        "to the end of the restore on B. The target creates the container (import) and reads the archive",
        "(transfer) while the source is still writing it (export), so transfer includes waiting for the export.",
        "Ratio: downtime / engine total. Own ratio: downtime / (the migration's own checkpoint + restore), which",
        "cancels the engine's run-to-run noise.",
        "",
        "| MiB | runs | engine checkpoint | engine restore | engine total | cryo checkpoint | export | import | "
        "transfer | restore | cleanup | downtime | ratio | own ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        p = r["cryo"]["phases_s"]
        lines.append(
            f"| {r['mib']} | {r['cryo']['runs']} | {r['engine']['checkpoint_s']} | {r['engine']['restore_s']} | "
            f"{r['engine']['total_s']} | "
            + " | ".join(str(p.get(k, "-")) for k in ("checkpoint", "export", "import", "transfer", "restore",
                                                       "cleanup"))
            + f" | {r['cryo']['downtime_s']} | {r['downtime_ratio']} | {r['own_ratio']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    import json

    out = run()
    print(json.dumps(out, indent=2))
    print(markdown(out))
