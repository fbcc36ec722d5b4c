"""Migration benchmark: Cryo's migration job of a running container between two Docker daemons, phase by phase,
beside the engine's own `checkpoint create` + `start --checkpoint` of the same kind of container in the same run.

For each size (a counter container holding N MiB of memory it checks at every tick), runs alternate so that both see
the same machine state: the engine's own checkpoint (exit) and restore on host A, through the agent's engine adapter
and no job; then a migration job A -> B through the dashboard, its control process and real agents (the source
writes the archives into the dashboard's store while the target reads them). Every restored counter is checked: it
goes on with its memory intact, no fresh start. One 16 MiB round runs first as a warm-up (the image goes into the
store once, first connections) and is not counted.

Needs root and deploy/provision-host.sh. Starts two Docker daemons $CRYO_BENCH_DAEMON_PREFIX-a/-b, the broker, the
dashboard, the control process and an agent per daemon (see bench/_fleet.py), on a SQLite database under var/bench/.
Sizes: $CRYO_BENCH_MIGRATION_MIB (MiB, default 16,256,1024); runs per size: 5 for 16 MiB, 3 for 256 MiB, else 1.
"""
import os

from bench._fleet import bench_user, check_continues, engine_checkpoint_restore, fleet, inventory_row, median, \
    setup_django, timed_job

SIZES_MIB = [int(s) for s in os.environ.get("CRYO_BENCH_MIGRATION_MIB", "16,256,1024").split(",") if s.strip()]
# Engine timings are noisy here (page cache, the other core): small sizes run several times, medians reported.
REPEATS = {16: 5, 256: 3}
PHASES = ("image", "checkpoint", "import", "transfer", "restore", "cleanup")


def engine_baseline(daemon, mib):
    """The engine's own checkpoint (exit) and restore of a counter holding `mib` MiB."""
    from tests.harness.engine import counter_log, wait_for_ticks

    container = daemon.run_counter(mib=mib, period_ms=500)
    try:
        seed = wait_for_ticks(container, 2, timeout=120).starts[0][0]
        out = engine_checkpoint_restore(daemon, container)
        frozen_at = counter_log(container).last_tick
        check_continues(container, frozen_at, seed)
        return {**out, "total_s": round(out["checkpoint_s"] + out["restore_s"], 3)}
    finally:
        container.remove(force=True)


def cryo_migration(daemons, hosts, actor, mib):
    """A migration job A -> B of a counter holding `mib` MiB; its phases, downtime and wall time."""
    from snapshots import services
    from snapshots.models import Host
    from tests.harness.engine import counter_log, wait_for_ticks

    a, b = daemons
    host_a, host_b = (Host.objects.get(pk=h.pk) for h in hosts)  # as they are now (heartbeats, facts)
    container = a.run_counter(mib=mib, period_ms=500)
    try:
        seed = wait_for_ticks(container, 2, timeout=120).starts[0][0]
        row = inventory_row(host_a, container)
        origin = services.Origin(source="bench")
        job, wall = timed_job(lambda: services.migrate(actor, row, to=host_b, origin=origin))
        moved = b.client.containers.get(job.result["target_container_id"])
        check_continues(moved, counter_log(moved).last_tick, seed)
        moved.remove(force=True)
    finally:
        try:
            container.remove(force=True)
        except Exception:
            pass  # removed by the migration
    return {"phases_s": {p["name"]: p.get("seconds") for p in job.phases}, "downtime_s": job.result["downtime_seconds"],
            "job_wall_s": wall, "archive_bytes": job.result.get("archive_size")}


def summarize(mib, bases, moves):
    base = {k: median(b[k] for b in bases) for k in ("checkpoint_s", "restore_s", "total_s")}
    phases = {k: median(m["phases_s"][k] for m in moves if m["phases_s"].get(k) is not None)
              for k in PHASES if any(m["phases_s"].get(k) is not None for m in moves)}
    move = {"phases_s": phases, "downtime_s": median(m["downtime_s"] for m in moves),
            "job_wall_s": median(m["job_wall_s"] for m in moves), "archive_bytes": moves[0]["archive_bytes"],
            "runs": len(moves)}
    own = median(m["phases_s"]["checkpoint"] + m["phases_s"]["restore"] for m in moves)
    return {"mib": mib, "engine": base, "engine_restore_retries": sum(b["restore_retries"] for b in bases),
            "cryo": move, "downtime_ratio": round(move["downtime_s"] / base["total_s"], 3),
            "overhead_s": round(move["downtime_s"] - own, 3), "own_ratio": round(move["downtime_s"] / own, 3)}


def run():
    setup_django("migration")
    actor = bench_user()
    rows = []
    with fleet() as hosts:
        daemons = [hosts.docker(suffix) for suffix in "ab"]
        joined = [hosts.add(f"bench-{s}", d) for s, d in zip("ab", daemons, strict=True)]
        engine_baseline(daemons[0], 16)  # warm-up, not counted
        cryo_migration(daemons, joined, actor, 16)
        for mib in SIZES_MIB:
            bases, moves = [], []
            for _ in range(REPEATS.get(mib, 1)):  # alternate, so both see the same machine state
                bases.append(engine_baseline(daemons[0], mib))
                moves.append(cryo_migration(daemons, joined, actor, mib))
            rows.append(summarize(mib, bases, moves))
            row = rows[-1]
            print(f"migration {mib} MiB x{len(moves)}: engine {row['engine']['total_s']} s, cryo downtime "
                  f"{row['cryo']['downtime_s']} s (x{row['downtime_ratio']}; x{row['own_ratio']} of its own "
                  f"checkpoint+restore), phases {row['cryo']['phases_s']}", flush=True)
    return {"name": "migration", "target": "downtime within 1.3x of engine checkpoint + restore", "rows": rows}


def markdown(result):
    lines = [
        "Seconds, medians of the runs (after a 16 MiB warm-up). Engine: `checkpoint create` (exit) then",
        "`start --checkpoint` of the same kind of container on host A, through the agent's engine adapter, no job.",
        "Cryo: a migration job A -> B through the dashboard, its control process and an agent per host; downtime",
        "runs from the start of the checkpoint on A to the end of the restore on B. After the checkpoint the source",
        "writes the container's files and the checkpoint into the dashboard's store while the target creates the",
        "container (import) and reads them (transfer), so transfer includes waiting for the source. Image: copied",
        "into the store before the freeze (once per image; the warm-up took it). Ratio: downtime / engine total.",
        "Own ratio: downtime / (the migration's own checkpoint + restore), which cancels the engine's run-to-run",
        "noise. Every restored counter was checked to go on with its memory.",
        "",
        "| MiB | runs | engine checkpoint | engine restore | engine total | cryo checkpoint | import | transfer | "
        "restore | cleanup | downtime | ratio | own ratio | job wall | archive bytes |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        c = r["cryo"]
        p = c["phases_s"]
        lines.append(
            f"| {r['mib']} | {c['runs']} | {r['engine']['checkpoint_s']} | {r['engine']['restore_s']} | "
            f"{r['engine']['total_s']} | "
            + " | ".join(str(p.get(k, "-")) for k in ("checkpoint", "import", "transfer", "restore", "cleanup"))
            + f" | {c['downtime_s']} | {r['downtime_ratio']} | {r['own_ratio']} | {c['job_wall_s']} | "
            f"{int(c['archive_bytes'] or 0)} |")
    return "\n".join(lines)
