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
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench"
PREFIX = os.environ.get("CRYO_BENCH_DAEMON_PREFIX", "cryo-bench")
SIZES = [int(s) for s in os.environ.get("CRYO_BENCH_PODMAN_SIZES", "16,256,1024").split(",") if s.strip()]
WITH_DOCKER = os.environ.get("CRYO_BENCH_DOCKER", "yes") != "no"
sys.path.insert(0, str(ROOT))


def _setup_django():
    VAR.mkdir(parents=True, exist_ok=True)
    db = VAR / "podman.sqlite3"
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    os.environ.update({
        "DATABASE_URL": f"sqlite:///{db}", "CRYO_SECRET_KEY": "bench", "CRYO_VAR_DIR": str(VAR),
        "CRYO_HEARTBEAT_INTERVAL": "1", "CRYO_HEARTBEAT_GRACE": "30", "CRYO_SYNC_INTERVAL": "5",
        "CRYO_BROKER_URL": os.environ.get("CRYO_BENCH_BROKER_URL", "redis://:cryo-bench@127.0.0.1:6393/0"),
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
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
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


class Fleet:
    """The broker, the dashboard, the control process, and an agent per engine host."""

    def __init__(self):
        from tests.harness.processes import Broker, Control, Dashboard, port_open
        from urllib.parse import urlsplit

        url = os.environ["CRYO_BROKER_URL"]
        self.broker = None if port_open(urlsplit(url).port) else Broker(url).start()
        self.dashboard = Dashboard().start()
        self.control = Control().start()
        self.agents, self.engines = [], []

    def add(self, host_name, engine, kind):
        from snapshots.models import Host, JoinToken
        from tests.harness.processes import Agent

        host = Host.all_objects.filter(name=host_name).first() or Host.objects.create(name=host_name)
        _row, token = JoinToken.issue(host, created_by_name="bench")
        agent = Agent(host_name, engine.url, self.dashboard.url, engine=kind)
        import shutil

        shutil.rmtree(agent.state_dir, ignore_errors=True)
        agent.join_token = token
        agent.start()
        self.agents.append(agent)
        return _wait(lambda: Host.objects.filter(name=host_name, status="online").exclude(worker_id="").first(), 90,
                     f"host {host_name} online")

    def stop(self):
        for process in [*self.agents, self.control, self.dashboard, self.broker]:
            if process is not None:
                process.stop()


def wait_job(job, timeout=600):
    from snapshots.models import Job

    return _wait(lambda: Job.objects.filter(pk=job.pk, state__in=("succeeded", "failed")).first(), timeout,
                 f"job {job.pk}")


def ok(job):
    if job.state != "succeeded":
        raise RuntimeError(f"{job.kind} job failed: {job.error}")
    return job


def check_continues(container, frozen_at, seed):
    """The restored counter goes on from where it was frozen, with its memory, not started again."""
    from tests.harness.engine import counter_log, wait_for_ticks

    log = wait_for_ticks(container, frozen_at + 2, timeout=60)
    if seed not in log.seeds or not log.all_memory_ok or len(log.seeds) != 1:
        raise RuntimeError(f"{container.name} did not continue its process: {counter_log(container)}")


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
        row = _wait(lambda: Container.objects.filter(host=host_a, engine_id=container.id, state="running").first(),
                    60, "inventory")
        if in_place:
            t0 = time.monotonic()
            job = ok(wait_job(services.checkpoint(actor, row, name="bench", origin=origin)))
            out["checkpoint_wall_s"] = round(time.monotonic() - t0, 3)
            out["checkpoint_s"] = job.result["checkpoint_seconds"]
            out["size_bytes"] = job.result["size_bytes"]
            frozen_at = counter_log(container).last_tick
            row = _wait(lambda: Container.objects.filter(pk=row.pk, state="exited").first(), 60, "exited")
            checkpoint = row.checkpoints.get(name="bench", status="present")
            t0 = time.monotonic()
            job = ok(wait_job(services.restore(actor, checkpoint, origin=origin)))
            out["restore_wall_s"] = round(time.monotonic() - t0, 3)
            out["restore_s"] = job.result["restore_seconds"]
            check_continues(container, frozen_at, seed)
            row = _wait(lambda: Container.objects.filter(pk=row.pk, state="running").first(), 60, "running")
        t0 = time.monotonic()
        job = ok(wait_job(services.migrate(actor, row, to=host_b, origin=origin)))
        out["migration_wall_s"] = round(time.monotonic() - t0, 3)
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
    _setup_django()
    from django.contrib.auth.models import User

    from tests.harness import engine as docker_harness
    from tests.harness import podman as podman_harness

    actor = User.objects.create_superuser("bench", "bench@example.test", "bench-password")
    services_started, daemons_started = [], []
    fleet = Fleet()
    result = {"sizes_mib": SIZES, "rows": [], "docker": [], "precopy": precopy_support(),
              "target": "Cryo within 1.1x of Podman's own CLI for checkpoint, restore and a move"}
    try:
        pods = []
        for suffix in ("a", "b"):
            name = f"{PREFIX}-podman-{suffix}"
            pods.append(podman_harness.start_podman(name))
            services_started.append(name)
        pod_hosts = [fleet.add(f"bench-pod-{s}", svc, "podman") for s, svc in zip("ab", pods, strict=True)]
        docks, dock_hosts = [], []
        if WITH_DOCKER:
            for suffix in ("a", "b"):
                name = f"{PREFIX}-{suffix}"
                docks.append(docker_harness.start_daemon(name))
                daemons_started.append(name)
            dock_hosts = [fleet.add(f"bench-dock-{s}", d, "docker") for s, d in zip("ab", docks, strict=True)]
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
    finally:
        fleet.stop()
        for name in services_started:
            podman_harness.stop_podman(name)
        for name in daemons_started:
            docker_harness.stop_daemon(name)
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

