"""Podman hosts: Cryo's checkpoint, restore and migration jobs on Podman hosts, beside Podman's own CLI in the same
run, and Podman-to-Podman migration downtime beside Docker-to-Docker.

For each size (a counter container holding N MiB of memory it checks at every tick):
- Podman's CLI on the same store: `podman container checkpoint --export FILE` (exit), `podman container restore`
  (in place), and a move: `checkpoint --export` on host A then `restore --import` on host B (a file on this disk:
  no copy between machines);
- Cryo: a checkpoint job (exit), a restore job (in place), a migration job A -> B (downtime: the checkpoint's start to
  the restore's end, measured by the jobs' phases), through the dashboard, its control process and real agents;
- Docker: a migration job between two Docker daemons (the same counter), for the downtime beside Podman's.
Every restore is checked: the counter goes on with its memory intact, no fresh start.

Pre-copy (`--pre-checkpoint` then `--with-previous`) needs CRIU's memory dirty tracking, which needs a kernel built
with CONFIG_MEM_SOFT_DIRTY; the result says whether this kernel has it (`criu check --feature mem_dirty_track`).

Needs root and `deploy/provision-host.sh --docker --podman`. Starts Podman services and Docker daemons named
$CRYO_BENCH_DAEMON_PREFIX-podman-a/-b and -a/-b (default cryo-bench), a broker of its own on the port of
$CRYO_BENCH_BROKER_URL (default redis://:cryo-bench@127.0.0.1:6393/0), the dashboard (gunicorn), the control process
and one agent per host, on a SQLite database under var/bench/. Sizes: $CRYO_BENCH_PODMAN_SIZES (MiB, default
16,256,1024); $CRYO_BENCH_DOCKER=no leaves Docker out.
"""
import os
import subprocess
import tempfile
import time
from pathlib import Path

from bench._fleet import bench_user, check_continues, fleet, inventory_row, setup_django, timed_job, wait

SIZES = [int(s) for s in os.environ.get("CRYO_BENCH_PODMAN_SIZES", "16,256,1024").split(",") if s.strip()]
WITH_DOCKER = os.environ.get("CRYO_BENCH_DOCKER", "yes") != "no"


def podman_cli(service, mib):
    """Podman's own CLI on the service's store: checkpoint --export, restore in place, and export + import."""
    from tests.harness.engine import counter_log, wait_for_ticks

    a, b = service
    out = {}
    with tempfile.TemporaryDirectory(dir="/var/tmp", prefix="cryo-bench-") as tmp:
        container = a.run_counter(mib=mib)
        try:
            seed = wait_for_ticks(container, 2, timeout=120).starts[0][0]
            t0 = time.monotonic()
            a.podman("container", "checkpoint", "--export", f"{tmp}/one.tar.zst", container.id)
            out["checkpoint_s"] = round(time.monotonic() - t0, 3)
            frozen_at = counter_log(container).last_tick
            t0 = time.monotonic()
            a.podman("container", "restore", container.id)
            out["restore_s"] = round(time.monotonic() - t0, 3)
            check_continues(container, frozen_at, seed)
            t0 = time.monotonic()
            a.podman("container", "checkpoint", "--export", f"{tmp}/two.tar.zst", container.id)
            exported = time.monotonic() - t0
            t0 = time.monotonic()
            b.podman("container", "restore", "--import", f"{tmp}/two.tar.zst", "--name", f"{container.name}-moved")
            out["move_s"] = round(exported + time.monotonic() - t0, 3)
            out["archive_bytes"] = os.path.getsize(f"{tmp}/two.tar.zst")
            moved = b.client.containers.get(f"{container.name}-moved")
            check_continues(moved, counter_log(moved).last_tick, seed)
            moved.remove(force=True)
        finally:
            container.remove(force=True)
    return out


def cryo_jobs(service, hosts, actor, mib, *, in_place=True):
    """Cryo's checkpoint (exit) and restore jobs on host A, then a migration job A -> B."""
    from snapshots import services
    from snapshots.models import Container, Host
    from tests.harness.engine import counter_log, wait_for_ticks

    a, b = service
    host_a, host_b = (Host.objects.get(pk=h.pk) for h in hosts)  # as they are now (heartbeats, facts)
    origin = services.Origin(source="bench")
    out = {}
    container = a.run_counter(mib=mib)
    try:
        seed = wait_for_ticks(container, 2, timeout=120).starts[0][0]
        row = inventory_row(host_a, container)
        if in_place:
            job, out["checkpoint_wall_s"] = timed_job(
                lambda: services.checkpoint(actor, row, name="bench", origin=origin))
            out["checkpoint_s"] = job.result["checkpoint_seconds"]
            out["size_bytes"] = job.result["size_bytes"]
            frozen_at = counter_log(container).last_tick
            row = wait(lambda: Container.objects.filter(pk=row.pk, state="exited").first(), 60, "exited")
            checkpoint = row.checkpoints.get(name="bench", status="present")
            job, out["restore_wall_s"] = timed_job(lambda: services.restore(actor, checkpoint, origin=origin))
            out["restore_s"] = job.result["restore_seconds"]
            check_continues(container, frozen_at, seed)
            row = wait(lambda: Container.objects.filter(pk=row.pk, state="running").first(), 60, "running")
        job, out["migration_wall_s"] = timed_job(lambda: services.migrate(actor, row, to=host_b, origin=origin))
        out["downtime_s"] = job.result["downtime_seconds"]
        out["migration_phases"] = {p["name"]: p.get("seconds") for p in job.phases}
        moved = b.client.containers.get(job.result["target_container_id"])
        check_continues(moved, counter_log(moved).last_tick, seed)
        moved.remove(force=True)
    finally:
        try:
            container.remove(force=True)
        except Exception:
            pass  # removed by the migration
    return out


def precopy_support():
    found = subprocess.run(["criu", "check", "--feature", "mem_dirty_track"], capture_output=True, text=True)
    if found.returncode == 0:
        return {"available": True, "why": "criu check --feature mem_dirty_track passes"}
    config = next(Path("/proc").glob("config.gz"), None)
    why = (found.stderr or found.stdout).strip().splitlines()[-1:] or ["criu check failed"]
    return {"available": False, "why": f"{why[0]} (this kernel is built without CONFIG_MEM_SOFT_DIRTY)"
            if config else why[0]}


def run():
    setup_django("podman")
    actor = bench_user()
    result = {"sizes_mib": SIZES, "rows": [], "docker": [], "precopy": precopy_support(),
              "target": "Cryo within 1.1x of Podman's own CLI for checkpoint, restore and a move"}
    with fleet() as hosts:
        pods = [hosts.podman(suffix) for suffix in "ab"]
        pod_hosts = [hosts.add(f"bench-pod-{s}", svc, "podman") for s, svc in zip("ab", pods, strict=True)]
        docks, dock_hosts = [], []
        if WITH_DOCKER:
            docks = [hosts.docker(suffix) for suffix in "ab"]
            dock_hosts = [hosts.add(f"bench-dock-{s}", d, "docker") for s, d in zip("ab", docks, strict=True)]
        cryo_jobs(pods, pod_hosts, actor, 16)  # warm-up: images, caches, first connections
        for mib in SIZES:
            cli = podman_cli(pods, mib)
            cryo = cryo_jobs(pods, pod_hosts, actor, mib)
            result["rows"].append({"mib": mib, "podman_cli": cli, "cryo": cryo, "ratios": {
                "checkpoint": round(cryo["checkpoint_s"] / cli["checkpoint_s"], 2),
                "restore": round(cryo["restore_s"] / cli["restore_s"], 2),
                "move_downtime": round(cryo["downtime_s"] / cli["move_s"], 2),
            }})
            if WITH_DOCKER:
                docker = cryo_jobs(docks, dock_hosts, actor, mib, in_place=False)
                result["docker"].append({"mib": mib, "downtime_s": docker["downtime_s"],
                                         "phases": docker["migration_phases"]})
    return result


def markdown(result):
    lines = [
        "Seconds, one run per size (after a 16 MiB warm-up). Podman CLI: `podman container checkpoint --export`",
        "(exit), `podman container restore` (in place), and a move = `checkpoint --export` on A + `restore --import`",
        "on B (a local file). Cryo: the checkpoint and restore phases of its jobs (and the jobs' wall time, request to",
        "end), and a migration job's downtime (checkpoint start to restore end on B, through the dashboard's store).",
        "",
        "| MiB | CLI checkpoint | Cryo checkpoint | ratio | CLI restore | Cryo restore | ratio | CLI move | "
        "Cryo migration downtime | ratio | Cryo checkpoint job wall | Cryo restore job wall |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        c, p, x = r["cryo"], r["podman_cli"], r["ratios"]
        lines.append(f"| {r['mib']} | {p['checkpoint_s']} | {c['checkpoint_s']} | {x['checkpoint']} | {p['restore_s']} "
                     f"| {c['restore_s']} | {x['restore']} | {p['move_s']} | {c['downtime_s']} | {x['move_downtime']} "
                     f"| {c['checkpoint_wall_s']} | {c['restore_wall_s']} |")
    lines += ["", "Migration downtime, Podman to Podman beside Docker to Docker (Cryo's migration jobs):", "",
              "| MiB | Podman -> Podman | Docker -> Docker |", "|---|---|---|"]
    docker = {d["mib"]: d["downtime_s"] for d in result["docker"]}
    for r in result["rows"]:
        lines.append(f"| {r['mib']} | {r['cryo']['downtime_s']} | {docker.get(r['mib'], 'not run')} |")
    lines += ["", "Phases of each Podman migration (seconds):", ""]
    for r in result["rows"]:
        lines.append(f"- {r['mib']} MiB: {r['cryo']['migration_phases']}")
    pre = result["precopy"]
    lines += ["", f"Pre-copy (`--pre-checkpoint` then `--with-previous`): "
              f"{'available' if pre['available'] else 'not available here'}: {pre['why']}."]
    return "\n".join(lines)

