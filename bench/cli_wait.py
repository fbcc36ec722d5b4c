"""CLI wait benchmark: what `cryo checkpoint ... ` (which waits for its job by default) costs beyond the job itself.

The real CLI runs as a separate process, as an API client with CRYO_URL and CRYO_TOKEN only, against the dashboard
served as in production (gunicorn with uvicorn's worker class) on PostgreSQL with its control process. The job is run
by one simulated host (bench/_simulated.py: the real agent with a stand-in engine, whose checkpoint takes
CRYO_BENCH_CLI_JOB_SECONDS and does nothing else; no Docker). Per run: the CLI's wall time from start to exit, minus
the job's own recorded duration (started -> finished, as the dashboard stored it). Also timed: `cryo hosts` (the
CLI's start-up and one API request).

Knobs (environment): CRYO_BENCH_CLI_RUNS (default 40), CRYO_BENCH_CLI_JOB_SECONDS (default 0.5),
CRYO_BENCH_CLI_DATABASE (default postgres://postgres@127.0.0.1:5432/cryo_bench_cli_wait; dropped and created),
CRYO_BENCH_FLEET_BROKER_PORT (default 6405: a Redis of its own).
"""
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import _simulated as fleet  # noqa: E402

RUNS = int(os.environ.get("CRYO_BENCH_CLI_RUNS", "40"))
JOB_SECONDS = float(os.environ.get("CRYO_BENCH_CLI_JOB_SECONDS", "0.5"))
DATABASE = os.environ.get("CRYO_BENCH_CLI_DATABASE", "postgres://postgres@127.0.0.1:5432/cryo_bench_cli_wait")
BROKER_PORT = int(os.environ.get("CRYO_BENCH_FLEET_BROKER_PORT", "6405"))
TARGET_MS = 150
HOST = "cli-bench"
CRYO = str(Path(sys.executable).parent / "cryo")


def _cli(url, token, *args):
    """Run the CLI as a user would from another machine: its environment holds the URL and the token only."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"),
           "LANG": "C.UTF-8", "CRYO_URL": url, "CRYO_TOKEN": token}
    started = time.perf_counter()
    done = subprocess.run([CRYO, *args], env=env, cwd="/", capture_output=True, text=True, timeout=120)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"cryo {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return wall, done.stdout


def run():
    var = fleet.setup("cli_wait", DATABASE, BROKER_PORT)
    user, token = fleet.admin_token()
    database = fleet.database_version()
    from snapshots.models import Job

    broker = web = control = agent = None
    rows, startup, bare, helps = [], [], [], []
    meter = fleet.CpuMeter(set())
    try:
        broker, web, control = fleet.start_services()
        record = fleet.Record()
        agent = fleet.simulated_agent_class()(web.url, HOST, var / "agents" / HOST, record, job_seconds=JOB_SECONDS)
        agent.launch(fleet.add_host(user, HOST))
        fleet.wait_online([HOST])
        for i in range(3):  # warm both sides up (imports, connections, caches)
            _cli(web.url, token, "checkpoint", HOST, "app", "--name", f"warm-{i}", "--leave-running")
        for _ in range(10):
            startup.append(_cli(web.url, token, "hosts")[0])
            helps.append(_cli(web.url, token, "--help")[0])
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", "pass"], check=True)
            bare.append(time.perf_counter() - started)
        cpu0 = meter.read()
        for i in range(RUNS):
            wall, out = _cli(web.url, token, "checkpoint", HOST, "app", "--name", f"run-{i}", "--leave-running")
            job_id = out.split()[1].rstrip(":")
            job = Job.objects.get(pk=job_id)
            rows.append({"wall_s": wall, "duration_s": job.duration_ms / 1000,
                         "queued_s": (job.started_at - job.created_at).total_seconds(),
                         "created_to_finished_s": (job.finished_at - job.created_at).total_seconds(),
                         "state": job.state})
            print(f"  run {i}: wall {wall * 1000:.0f} ms, job {job.duration_ms} ms, overhead "
                  f"{(wall - job.duration_ms / 1000) * 1000:.0f} ms", flush=True)
        machine = fleet.CpuMeter.percent(cpu0, meter.read())["machine"]
    finally:
        if agent:
            agent.stop()
            agent.thread.join(15)
        for process in (control, web, broker):
            if process:
                process.stop()
        fleet.drop_database(DATABASE)

    def stats(values):
        return {"p50_ms": fleet.ms(fleet.percentile(values, 50)), "p95_ms": fleet.ms(fleet.percentile(values, 95)),
                "max_ms": fleet.ms(max(values))}

    overhead = [r["wall_s"] - r["duration_s"] for r in rows]
    return {
        "name": "cli_wait", "database": database, "runs": RUNS,
        "target": f"the CLI's start-up and waiting under {TARGET_MS} ms beyond the job's duration (p95)",
        "agent": f"stand-in: the real agent (snapshots.host.agent.Agent) with a stand-in engine whose checkpoint "
                 f"takes {JOB_SECONDS} s (no Docker, no CRIU)",
        "server": "gunicorn dashboard.asgi, uvicorn worker class, 2 workers, PostgreSQL, plus `manage.py cryo control`",
        "command": "cryo checkpoint HOST app --name NAME --leave-running (waits for the job; CRYO_URL and CRYO_TOKEN "
                   "only in its environment)",
        "all_succeeded": all(r["state"] == "succeeded" for r in rows),
        "wall": stats([r["wall_s"] for r in rows]),
        "job_duration": stats([r["duration_s"] for r in rows]),
        "overhead": stats(overhead),
        "request_to_claim": stats([r["queued_s"] for r in rows]),
        "created_to_finished": stats([r["created_to_finished_s"] for r in rows]),
        "cryo_hosts": stats(startup),
        "cryo_help": stats(helps),
        "python_bare": stats(bare),
        "machine_cpu_percent": machine,
        "load_average": os.getloadavg(),
        "meets_target": fleet.percentile(overhead, 95) * 1000 < TARGET_MS,
    }


def markdown(result):
    lines = [f"Command: {result['command']}, {result['runs']} runs, one after another. Server: {result['server']}. "
             f"Agent: {result['agent']}.", "",
             "| measure | p50 ms | p95 ms | max ms |", "|---|---:|---:|---:|"]
    for key, label in (("wall", "CLI wall time (process start to exit)"),
                       ("job_duration", "job's recorded duration (started -> finished)"),
                       ("overhead", "**overhead: wall time minus the job's duration**"),
                       ("request_to_claim", "of which: job created -> claimed by the agent"),
                       ("created_to_finished", "job created -> finished"),
                       ("cryo_hosts", "`cryo hosts` (start-up and one API request)"),
                       ("cryo_help", "`cryo --help` (start-up, no request)"),
                       ("python_bare", "`python -c pass` (the interpreter alone)")):
        s = result[key]
        lines.append(f"| {label} | {s['p50_ms']} | {s['p95_ms']} | {s['max_ms']} |")
    load = ", ".join(f"{v:.1f}" for v in result["load_average"])
    lines += ["", f"All jobs succeeded: {'yes' if result['all_succeeded'] else 'no'}. Machine CPU during the runs: "
                  f"{result.get('machine_cpu_percent')}% of one core (2 cores). Load average at the end: {load}. "
                  f"Meets the target (overhead p95 < {TARGET_MS} ms): {'yes' if result['meets_target'] else 'no'}."]
    return "\n".join(lines)


if __name__ == "__main__":
    import json

    out = run()
    print(json.dumps(out, indent=2, default=str))
    print(markdown(out))
