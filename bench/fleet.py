"""Fleet benchmark: one dashboard on PostgreSQL, served as in production (gunicorn with uvicorn's worker class, 2
workers) with its control process, and 20, 100 and 200 simulated hosts.

Each simulated host is the real agent (bench/_simulated.py): it joins with a one-time join token an admin made, says
hello, gets its own Redis ACL user and consumes its own queue with kombu, heartbeats at the default interval, and runs
the jobs it receives through the worker API (claim, phases, finish) with a stand-in engine (a checkpoint takes
CRYO_BENCH_FLEET_JOB_SECONDS; no Docker). All of them are threads of this one process.

Per host count: a window of heartbeats alone, then a window with a stream of checkpoints requested over the JSON API
(as the CLI does) on random hosts. Reported: the dashboard side's CPU (gunicorn and the control process, from
/proc), connections to the database (pg_stat_activity, sampled), request -> claim p50/p99 (from just before the API
request to the agent's claim being answered), heartbeat cost (dashboard CPU per heartbeat in the heartbeat-only
window, and each heartbeat's round trip), and job messages a host received for a job of another host (each simulated
agent notes every message it takes; compared with the host the API gave each job to: must be 0).

Before the hosts join (the seeding needs a fresh database): the main pages of the dashboard benchmark over real HTTP
with 20 concurrent signed-in viewers, on its seeded data (bench/dashboard.py's seeding at CRYO_BENCH_FLEET_SCALE,
default 0.1 of its sizes), with think time between pages and back to back.

Knobs (environment): CRYO_BENCH_FLEET_HOSTS (default "20,100,200"), CRYO_BENCH_FLEET_WINDOW (seconds of the jobs
window, default 60), CRYO_BENCH_FLEET_HEARTBEAT_WINDOW (default 30), CRYO_BENCH_FLEET_JOB_RATE (jobs requested per
second, default 2), CRYO_BENCH_FLEET_JOB_SECONDS (default 0.2), CRYO_BENCH_FLEET_SCALE (default 0.1),
CRYO_BENCH_FLEET_VIEWERS (default 20), CRYO_BENCH_FLEET_PAGES (default 1: 0 skips the pages),
CRYO_BENCH_FLEET_DATABASE (default postgres://postgres@127.0.0.1:5432/cryo_bench_fleet; dropped and created),
CRYO_BENCH_FLEET_BROKER_PORT (default 6405: a Redis of its own, with ACL users per host).
"""
import os
import random
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import _simulated as fleet  # noqa: E402

HOSTS = [int(n) for n in os.environ.get("CRYO_BENCH_FLEET_HOSTS", "20,100,200").split(",") if n.strip()]
WINDOW = float(os.environ.get("CRYO_BENCH_FLEET_WINDOW", "60"))
HEARTBEAT_WINDOW = float(os.environ.get("CRYO_BENCH_FLEET_HEARTBEAT_WINDOW", "30"))
JOB_RATE = float(os.environ.get("CRYO_BENCH_FLEET_JOB_RATE", "2"))
JOB_SECONDS = float(os.environ.get("CRYO_BENCH_FLEET_JOB_SECONDS", "0.2"))
SCALE = os.environ.get("CRYO_BENCH_FLEET_SCALE", "0.1")
VIEWERS = int(os.environ.get("CRYO_BENCH_FLEET_VIEWERS", "20"))
PAGES = os.environ.get("CRYO_BENCH_FLEET_PAGES", "1") != "0"
DATABASE = os.environ.get("CRYO_BENCH_FLEET_DATABASE", "postgres://postgres@127.0.0.1:5432/cryo_bench_fleet")
BROKER_PORT = int(os.environ.get("CRYO_BENCH_FLEET_BROKER_PORT", "6405"))
ROUNDS = 3  # each viewer goes through every page this many times, in its own random order
THINK = (0.5, 1.5)  # seconds a viewer looks at a page before the next, with think time
CLAIM_TARGET_MS = 100
PAGE_TARGET_MS = 100


class Fleet:
    """The simulated hosts, grown stage by stage."""

    def __init__(self, web, user, var):
        self.web, self.user, self.var = web, user, var
        self.record = fleet.Record()
        self.agent_class = fleet.simulated_agent_class()
        self.agents = []

    def grow(self, count, interval):
        """Add hosts up to `count`: an admin adds each, its agent joins; agents start spread over one heartbeat
        interval, as hosts of a real fleet do not all beat at the same instant."""
        from django.db import connection

        new = [f"fleet-{i:03d}" for i in range(len(self.agents), count)]
        tokens = {name: fleet.add_host(self.user, name) for name in new}
        connection.close()
        t0 = time.monotonic()
        for i, name in enumerate(new):
            agent = self.agent_class(self.web.url, name, self.var / "agents" / name, self.record,
                                     job_seconds=JOB_SECONDS)
            agent.launch(tokens[name])
            self.agents.append(agent)
            time.sleep(max(0.0, t0 + (i + 1) * interval / len(new) - time.monotonic()))
        fleet.wait_online([a.host_name for a in self.agents])

    def stop(self):
        for agent in self.agents:
            agent.stop()
        for agent in self.agents:
            if agent.thread:
                agent.thread.join(15)


def request_jobs(web, token, hosts, record, stage, seconds, rate, rng):
    """A stream of checkpoints over the JSON API, at `rate` per second (Poisson arrivals), each on a random host among
    those with no job of the stream in flight (a container takes one job at a time). Returns
    [(job id, host, requested at, answered at)] and the refusals."""
    import requests

    local = threading.local()
    jobs, errors = [], []
    in_flight = {}  # host -> job id (None while its request is on the way)

    def one(n, host):
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
            session.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/json"})
        body = {"kind": "checkpoint", "host": host, "container": "app", "name": f"s{stage}-{n}",
                "leave_running": True}
        started = time.perf_counter()
        try:
            response = session.post(f"{web.url}/api/v1/jobs", json=body, timeout=60)
        except requests.RequestException as exc:
            errors.append(repr(exc))
            in_flight.pop(host, None)
            return
        answered = time.perf_counter()
        if response.status_code != 202:
            errors.append(f"{response.status_code}: {response.text[:200]}")
            in_flight.pop(host, None)
            return
        job_id = response.json()["id"]
        in_flight[host] = job_id
        jobs.append((job_id, host, started, answered))

    def free(host):
        return host not in in_flight or (in_flight[host] is not None and in_flight[host] in record.finished)

    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="requester") as pool:
        t0 = time.monotonic()
        at, n = 0.0, 0
        while True:
            at += rng.expovariate(rate)
            if at > seconds:
                break
            time.sleep(max(0.0, t0 + at - time.monotonic()))
            candidates = [h for h in hosts if free(h)]
            if not candidates:
                errors.append("no host without a job in flight")
                continue
            host = rng.choice(candidates)
            in_flight[host] = None
            pool.submit(one, n, host)
            n += 1
    return jobs, errors


def measure_stage(fleet_, web, control, token, count, rng):
    from django.conf import settings

    record = fleet_.record
    meter = fleet.CpuMeter({web.pid, control.pid})
    interval = settings.CRYO_HEARTBEAT_INTERVAL
    print(f"{count} hosts: adding and joining", flush=True)
    t_join = time.monotonic()
    fleet_.grow(count, interval)
    joined_s = round(time.monotonic() - t_join, 1)
    time.sleep(interval)  # every agent has settled into its heartbeat rhythm

    # heartbeats alone
    sampler = fleet.ConnectionSampler(DATABASE).start()
    beats_before = len(record.heartbeats)
    cpu0 = meter.read()
    time.sleep(HEARTBEAT_WINDOW)
    cpu1 = meter.read()
    t0, t1 = cpu0["at"], cpu1["at"]
    idle_connections = sampler.stop()
    beats = [b for b in record.heartbeats[beats_before:] if t0 <= b[0] <= t1]
    heartbeat = {
        "window_s": HEARTBEAT_WINDOW, "heartbeats": len(beats), "per_s": round(len(beats) / (t1 - t0), 1),
        "dashboard_cpu_percent": fleet.CpuMeter.percent(cpu0, cpu1)["dashboard"],
        "cpu_percent": fleet.CpuMeter.percent(cpu0, cpu1),
        "cpu_ms_per_heartbeat": round(1000 * (cpu1["dashboard"] - cpu0["dashboard"]) / max(1, len(beats)), 2),
        "postgres_cpu_ms_per_heartbeat": round(1000 * (cpu1["postgres"] - cpu0["postgres"]) / max(1, len(beats)),
                                               2),
        "round_trip_p50_ms": fleet.ms(fleet.percentile([b[1] for b in beats], 50)),
        "round_trip_p99_ms": fleet.ms(fleet.percentile([b[1] for b in beats], 99)),
        "pg_connections": idle_connections,
    }
    print(f"  heartbeats: {heartbeat}", flush=True)

    # heartbeats and a stream of jobs
    sampler = fleet.ConnectionSampler(DATABASE).start()
    messages_before = len(record.messages)
    beats_before = len(record.heartbeats)
    cpu0 = meter.read()
    hosts = [a.host_name for a in fleet_.agents]
    jobs, errors = request_jobs(web, token, hosts, record, count, WINDOW, JOB_RATE, rng)
    cpu1 = meter.read()
    t0, t1 = cpu0["at"], cpu1["at"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not all(j[0] in record.finished for j in jobs):
        time.sleep(0.2)
    connections = sampler.stop()
    owner = {job_id: host for job_id, host, _s, _a in jobs}
    taken = record.messages[messages_before:]
    wrong = [(host, job_id) for host, job_id, _at in taken if job_id in owner and owner[job_id] != host]
    unknown = [job_id for _host, job_id, _at in taken if job_id not in owner]
    claims = [record.claimed[j] - started for j, _h, started, _a in jobs if j in record.claimed]
    requests_ = [answered - started for _j, _h, started, answered in jobs]
    finishes = [record.finished[j] - started for j, _h, started, _a in jobs if j in record.finished]
    beats = [b for b in record.heartbeats[beats_before:] if t0 <= b[0] <= t1]
    stage = {
        "hosts": count, "joined_in_s": joined_s, "heartbeat_interval_s": interval, "heartbeat_only": heartbeat,
        "window_s": WINDOW, "jobs_requested": len(jobs), "request_errors": errors[:5],
        "request_error_count": len(errors), "jobs_claimed": len(claims), "jobs_finished": len(finishes),
        "dashboard_cpu_percent": fleet.CpuMeter.percent(cpu0, cpu1)["dashboard"],
        "cpu_percent": fleet.CpuMeter.percent(cpu0, cpu1),
        "pg_connections": connections,
        "request_to_claim_p50_ms": fleet.ms(fleet.percentile(claims, 50)),
        "request_to_claim_p99_ms": fleet.ms(fleet.percentile(claims, 99)),
        "request_to_claim_max_ms": fleet.ms(max(claims) if claims else None),
        "api_request_p50_ms": fleet.ms(fleet.percentile(requests_, 50)),
        "request_to_finished_p50_ms": fleet.ms(fleet.percentile(finishes, 50)),
        "heartbeats_in_window": len(beats),
        "heartbeat_round_trip_p50_ms": fleet.ms(fleet.percentile([b[1] for b in beats], 50)),
        "heartbeat_round_trip_p99_ms": fleet.ms(fleet.percentile([b[1] for b in beats], 99)),
        "messages_taken": len(taken), "wrong_host_deliveries": len(wrong), "messages_for_other_jobs": len(unknown),
        "claims_refused": dict(record.refused_claims),
        "requests_unanswered_so_far": dict(record.unreachable),
        "load_average": [round(v, 1) for v in os.getloadavg()],
    }
    print(f"  jobs: {stage}", flush=True)
    return stage


# -- pages over HTTP --------------------------------------------------------------------------
def seed_pages():
    """The dashboard benchmark's data (its seeding at CRYO_BENCH_FLEET_SCALE of its sizes) and its pages."""
    os.environ["CRYO_BENCH_SCALE"] = SCALE
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client

    from bench import dashboard

    seconds = dashboard.seed()
    client = Client()
    client.force_login(User.objects.get(username="bench-admin"))
    session = client.cookies["sessionid"].value
    pages = dashboard._pages()
    connection.close()
    return {"sizes": dashboard.SIZES, "seed_seconds": seconds}, session, pages


def measure_pages(web, seeded, session, pages):
    """The pages over HTTP, with VIEWERS signed-in viewers at once."""
    import requests

    http = requests.Session()
    http.cookies.set("sessionid", session, domain="127.0.0.1")
    for _ in range(2):  # warm both workers up (templates, imports, caches), as the dashboard benchmark does
        for _name, url in pages:
            http.get(web.url + url, timeout=60)
    out = {**seeded, "viewers": VIEWERS, "rounds": ROUNDS, "pages": [name for name, _url in pages]}
    for mode, think in (("think_time", THINK), ("back_to_back", None)):
        out[mode] = _viewers(web, session, pages, think)
        worst = max(out[mode]["pages"].items(), key=lambda p: p[1]["p95_ms"] or 0)
        print(f"  pages ({mode}): {out[mode]['requests_per_s']} requests/s, worst p95 {worst}", flush=True)
    return out


def _viewers(web, session, pages, think):
    import requests

    times = {name: [] for name, _url in pages}
    errors = []

    def viewer(seed):
        rng = random.Random(seed)
        http = requests.Session()
        http.cookies.set("sessionid", session, domain="127.0.0.1")
        for _round in range(ROUNDS):
            order = list(pages)
            rng.shuffle(order)
            for name, url in order:
                started = time.perf_counter()
                response = http.get(web.url + url, timeout=60)
                elapsed = time.perf_counter() - started
                if response.status_code not in (200, 286) or "/accounts/login" in response.url:
                    errors.append(f"{url}: {response.status_code} {response.url}")
                else:
                    times[name].append(elapsed)
                if think:
                    time.sleep(rng.uniform(*think))

    started = time.perf_counter()
    threads = [threading.Thread(target=viewer, args=(i,)) for i in range(VIEWERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    rows = {name: {"n": len(v), "p50_ms": fleet.ms(fleet.percentile(v, 50)),
                   "p95_ms": fleet.ms(fleet.percentile(v, 95)), "max_ms": fleet.ms(max(v) if v else None)}
            for name, v in times.items()}
    total = sum(len(v) for v in times.values())
    return {"think_s": list(think) if think else None, "requests": total,
            "load_average": [round(v, 1) for v in os.getloadavg()], "errors": len(errors),
            "error_examples": errors[:5], "requests_per_s": round(total / wall, 1), "pages": rows,
            "all_p95_under_target": not errors and all(r["p95_ms"] is not None and r["p95_ms"] < PAGE_TARGET_MS
                                                       for r in rows.values())}


def run():
    var = fleet.setup("fleet", DATABASE, BROKER_PORT)
    database = fleet.database_version()
    broker = web = control = None
    fleet_ = None
    rng = random.Random(17)
    result = {
        "name": "fleet", "database": database,
        "target": f"PostgreSQL connections independent of the number of hosts; request -> claim p99 < "
                  f"{CLAIM_TARGET_MS} ms at 200 hosts; no job delivered to another host; every page p95 < "
                  f"{PAGE_TARGET_MS} ms with {VIEWERS} viewers",
        "setup": {"server": "gunicorn dashboard.asgi, uvicorn worker class, 2 workers (as deploy/run.sh), plus "
                            "`manage.py cryo control`",
                  "agents": "the real agent (snapshots.host.agent.Agent) per host with a stand-in engine, all hosts "
                            "as threads of one process",
                  "job": f"checkpoint requested over the JSON API (POST /api/v1/jobs, an admin's token), "
                         f"{JOB_RATE}/s on random hosts, the stand-in checkpoint takes {JOB_SECONDS} s",
                  "heartbeat_window_s": HEARTBEAT_WINDOW, "jobs_window_s": WINDOW},
        "stages": [],
    }
    try:
        if PAGES:  # first, on the fresh database: the seeding starts from empty tables (audit rows stay forever)
            seeded = seed_pages()
        user, token = fleet.admin_token()
        broker, web, control = fleet.start_services()
        print(f"dashboard {web.url} (pid {web.pid}), control pid {control.pid}, broker port {broker.port}",
              flush=True)
        if PAGES:
            print(f"pages with {VIEWERS} viewers:", flush=True)
            result["pages"] = measure_pages(web, *seeded)
        fleet_ = Fleet(web, user, var)
        for count in HOSTS:
            result["stages"].append(measure_stage(fleet_, web, control, token, count, rng))
    finally:
        if fleet_:
            fleet_.stop()
        for process in (control, web, broker):
            if process:
                process.stop()
        fleet.drop_database(DATABASE)
    stages = result["stages"]
    connections = [s["pg_connections"]["max"] for s in stages]
    at_200 = [s for s in stages if s["hosts"] >= 200]
    result["verdict"] = {
        "pg_connections_max_by_hosts": {s["hosts"]: s["pg_connections"]["max"] for s in stages},
        "wrong_host_deliveries": sum(s["wrong_host_deliveries"] for s in stages),
        "claim_p99_at_200_under_target": (at_200[-1]["request_to_claim_p99_ms"] < CLAIM_TARGET_MS) if at_200
        else None,
        "pages_under_target": result["pages"]["think_time"]["all_p95_under_target"] if PAGES else None,
        "pg_connections_spread": (max(connections) - min(connections)) if connections else None,
    }
    return result


def markdown(result):
    setup = result["setup"]
    lines = [f"Server: {setup['server']}. Hosts: {setup['agents']}. Jobs: {setup['job']}. Heartbeats at the default "
             f"interval. Per host count: {setup['heartbeat_window_s']:g} s of heartbeats alone, then "
             f"{setup['jobs_window_s']:g} s with the job stream.", "",
             "| hosts | dashboard CPU, heartbeats only | dashboard CPU, with jobs | PostgreSQL connections max "
             "(mean) | jobs | request -> claim p50 / p99 / max ms | heartbeats/s | dashboard CPU ms per heartbeat | "
             "heartbeat round trip p50 / p99 ms | wrong-host deliveries |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for s in result["stages"]:
        hb = s["heartbeat_only"]
        lines.append(
            f"| {s['hosts']} | {hb['dashboard_cpu_percent']}% | {s['dashboard_cpu_percent']}% | "
            f"{s['pg_connections']['max']} ({s['pg_connections']['mean']}) | {s['jobs_claimed']}/{s['jobs_requested']}"
            f" | {s['request_to_claim_p50_ms']} / {s['request_to_claim_p99_ms']} / {s['request_to_claim_max_ms']} | "
            f"{hb['per_s']} | {hb['cpu_ms_per_heartbeat']} | {hb['round_trip_p50_ms']} / {hb['round_trip_p99_ms']} | "
            f"{s['wrong_host_deliveries']} |")
    unanswered = [f"{s['hosts']} hosts: {s['requests_unanswered_so_far']}" for s in result["stages"]
                  if s.get("requests_unanswered_so_far")]
    if unanswered:
        lines += ["", "Agent requests that got no answer (connection faults; counted from the start of the run): "
                  + "; ".join(unanswered) + ". A claim that got none waits for the control process to send the job "
                  "again, which shows in request -> claim."]
    lines += ["", "Where the CPU went (percent of one core; the machine has 2 cores, shared with other work during the "
                  "run: see the load average):", "",
              "| hosts | window | dashboard (gunicorn + control) | PostgreSQL server | simulated hosts and clients "
              "(this process) | whole machine | load average (1 min) |", "|---:|---|---:|---:|---:|---:|---:|"]
    for s in result["stages"]:
        for label, cpu in (("heartbeats only", s["heartbeat_only"].get("cpu_percent")),
                           ("with jobs", s.get("cpu_percent"))):
            if cpu:
                lines.append(f"| {s['hosts']} | {label} | {cpu['dashboard']}% | {cpu['postgres']}% | "
                             f"{cpu['bench_process']}% | {cpu['machine']}% | {s['load_average'][0]} |")
    lines += ["", "CPU is a percentage of one core (the machine has 2), summed over gunicorn's processes and the "
                  "control process. CPU per heartbeat = all of the dashboard side's CPU in the heartbeat-only window "
                  "divided by the heartbeats answered in it (an upper bound: it includes the control process's "
                  "rounds). Request -> claim runs from just before the API request to the agent's claim being "
                  "answered; the API request alone took p50 "
              + ", ".join(f"{s['api_request_p50_ms']} ms ({s['hosts']} hosts)" for s in result["stages"]) + "."]
    pages = result.get("pages")
    if pages:
        sizes = ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in pages["sizes"].items())
        think = pages["think_time"]
        lines += ["", f"Pages over HTTP, {pages['viewers']} signed-in viewers at once, each through every page "
                      f"{pages['rounds']} times in random order, on the dashboard benchmark's seeding ({sizes}); with "
                      f"think time ({think['think_s'][0]:g}-{think['think_s'][1]:g} s between pages, "
                      f"{think['requests_per_s']} requests/s) and back to back "
                      f"({pages['back_to_back']['requests_per_s']} requests/s, the server saturated):", "",
                  "| page | with think time p50 / p95 ms | back to back p50 / p95 ms |", "|---|---:|---:|"]
        for name in pages["pages"]:
            a, b = think["pages"][name], pages["back_to_back"]["pages"][name]
            mark = "" if a["p95_ms"] < PAGE_TARGET_MS else " **over**"
            lines.append(f"| {name} | {a['p50_ms']} / {a['p95_ms']}{mark} | {b['p50_ms']} / {b['p95_ms']} |")
        lines += ["", f"Errors: {think['errors']} with think time, {pages['back_to_back']['errors']} back to back."]
    v = result["verdict"]
    lines += ["", f"PostgreSQL connections (max) by host count: {v['pg_connections_max_by_hosts']}. "
                  f"Jobs delivered to another host: {v['wrong_host_deliveries']}. "
                  f"Request -> claim p99 under {CLAIM_TARGET_MS} ms at 200 hosts: "
                  f"{'n/a' if v['claim_p99_at_200_under_target'] is None else ('yes' if v['claim_p99_at_200_under_target'] else 'no')}. "  # noqa: E501
                  f"Every page p95 under {PAGE_TARGET_MS} ms (think time): "
                  f"{'n/a' if v['pages_under_target'] is None else ('yes' if v['pages_under_target'] else 'no')}."]
    return "\n".join(lines)


if __name__ == "__main__":
    import json

    out = run()
    print(json.dumps(out, indent=2, default=str))
    print(markdown(out))
