"""Dashboard benchmark: server time and SQL query count of every main page, and the audit export, on a big fleet.

Seeds (once; kept for later runs) 20 hosts, 2,000 containers, 6,000 checkpoints, 100,000 jobs and 1,000,000 audit
events into its own SQLite file under var/bench/ (or the database DATABASE_URL names), then requests each page
with Django's test client as an admin: p50/p95 over REPEAT requests, the queries of one request, and the peak
Python memory (tracemalloc) of streaming the audit export at two sizes.

Knobs (environment): CRYO_BENCH_SCALE (1.0 = the sizes above), CRYO_BENCH_RESEED=1 (seed again), CRYO_BENCH_REPEAT.
"""
import base64
import os
import random
import statistics
import sys
import time
import tracemalloc
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench"
sys.path.insert(0, str(ROOT))

SCALE = float(os.environ.get("CRYO_BENCH_SCALE", "1"))
REPEAT = int(os.environ.get("CRYO_BENCH_REPEAT", "20"))
SIZES = {
    "hosts": 20,
    "containers": int(2_000 * SCALE),
    "checkpoints": int(6_000 * SCALE),
    "jobs": int(100_000 * SCALE),
    "audit_events": int(1_000_000 * SCALE),
}
BATCH = 5_000
PEOPLE = ["ada", "otto", "grace", "linus", "margaret", "ken", "barbara", "dennis", "frances", "alan", "edsger",
          "hedy"]
TARGET_P95_MS = 100


def _setup_django():
    (VAR / "staticfiles").mkdir(parents=True, exist_ok=True)
    suffix = "" if SCALE == 1 else f"-x{SCALE:g}"
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{VAR / f'dashboard{suffix}.sqlite3'}")
    os.environ.update({
        "CRYO_SECRET_KEY": "bench",
        "CRYO_STORE_KEK": base64.b64encode(os.urandom(32)).decode(), "CRYO_VAR_DIR": str(VAR),
        "CRYO_ALLOWED_HOSTS": "testserver",
        "DJANGO_SETTINGS_MODULE": "dashboard.settings", "CRYO_LOG_LEVEL": "WARNING",
    })
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


# -- seeding ---------------------------------------------------------------------------------
def _batches(make, total):
    for start in range(0, total, BATCH):
        yield [make(i) for i in range(start, min(start + BATCH, total))]


def _insert(model, make, total, label):
    from django.db import transaction

    t0 = time.monotonic()
    for rows in _batches(make, total):
        with transaction.atomic():
            model.objects.bulk_create(rows, batch_size=1000)
    print(f"  {label}: {total:,} rows in {time.monotonic() - t0:.1f} s", flush=True)


def seeded():
    from snapshots.models import AuditEvent, Container, Host, Job

    return (Host.objects.count() == SIZES["hosts"] and Container.objects.count() == SIZES["containers"]
            and Job.objects.count() == SIZES["jobs"] and AuditEvent.objects.count() == SIZES["audit_events"])


def seed():
    from django.contrib.auth.models import User
    from django.db import connection
    from django.utils import timezone

    from snapshots.models import AuditEvent, Checkpoint, Container, Host, Job

    rng = random.Random(7)
    now = timezone.now()
    span = timedelta(days=90).total_seconds()
    print(f"seeding {SIZES}", flush=True)
    t0 = time.monotonic()
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous=OFF")
    if AuditEvent.objects.exists():
        raise SystemExit("audit events are append-only: seed into a fresh database (delete the SQLite file under "
                         "var/bench/, or drop the PostgreSQL database)")
    for model in (Job, Checkpoint, Container):
        model.objects.all()._raw_delete(model.objects.db)
    Host.all_objects.all().delete() if hasattr(Host, "all_objects") else Host.objects.all().delete()
    User.objects.filter(username="bench-admin").delete()
    User.objects.create_superuser("bench-admin", "", "bench-admin")

    hosts = Host.objects.bulk_create(
        Host(name=f"bench-{i:02d}", status="online", last_seen=now, docker_version="27.5.1", api_version="1.47",
             experimental=True, criu_ok=True, criu_version="4.1", kernel="6.1.0", containers_running=80)
        for i in range(SIZES["hosts"])
    )
    hosts = list(Host.objects.order_by("name"))
    per_host = max(1, SIZES["containers"] // len(hosts))
    _insert(Container, lambda i: Container(
        host=hosts[(i // per_host) % len(hosts)], engine_id=uuid.UUID(int=rng.getrandbits(128)).hex * 2,
        name=f"{rng.choice(['web', 'db', 'cache', 'worker', 'queue'])}-{i:04d}",
        image=rng.choice(["nginx:1.27", "postgres:16", "redis:7", "python:3.11", "busybox"]),
        state="running" if i % 5 else "exited", created=now - timedelta(days=30),
    ), SIZES["containers"], "containers")
    containers = list(Container.objects.select_related("host").order_by("pk"))
    per_container = max(1, SIZES["checkpoints"] // len(containers))
    _insert(Checkpoint, lambda i: Checkpoint(
        container=containers[i // per_container % len(containers)], name=f"cp-{i:06d}", exit=bool(i % 2),
        size_bytes=rng.randint(10, 900) * 1024 * 1024, created_by_name=rng.choice(PEOPLE),
        created_at=now - timedelta(seconds=rng.uniform(0, span)),
        engine_facts={"docker_version": "27.5.1", "criu_version": "4.1", "kernel": "6.1.0"},
    ), SIZES["checkpoints"], "checkpoints")

    kinds = ["checkpoint"] * 9 + ["restore"] * 5 + ["delete_checkpoint"] * 2 + ["sync"] * 4
    step = span / SIZES["jobs"]

    def job(i):
        kind = rng.choice(kinds)
        container = None if kind == "sync" else containers[rng.randrange(len(containers))]
        created = now - timedelta(seconds=i * step + 5)
        state = "running" if i < 5 else ("queued" if i < 8 else ("failed" if rng.random() < 0.05 else "succeeded"))
        done = state in ("succeeded", "failed")
        return Job(
            kind=kind, state=state, host=container.host if container else hosts[i % len(hosts)], container=container,
            container_name=container.name if container else "", checkpoint_name="" if kind == "sync" else f"cp-{i}",
            requested_by_name=rng.choice(PEOPLE), source=f"10.0.{i % 250}.{i % 200}", created_at=created,
            started_at=created + timedelta(seconds=0.2) if state != "queued" else None,
            finished_at=created + timedelta(seconds=3) if done else None, duration_ms=2800 if done else None,
            phase="checkpoint" if state == "running" else "",
            phases=[{"name": kind, "host": "bench", "started": created.isoformat(), "seconds": 2.8}],
            error="CRIU failed: dump failed (see the engine log)" if state == "failed" else "",
            result={"checkpoint_seconds": 2.8} if done else {},
        )

    _insert(Job, job, SIZES["jobs"], "jobs")
    outcomes = ["requested"] * 9 + ["succeeded"] * 8 + ["failed"] * 2 + ["denied"]
    actions = [k for k in kinds if k != "sync"] + ["sync", "host.drain", "host.enable"]
    step = span / SIZES["audit_events"]

    def event(i):
        container = containers[rng.randrange(len(containers))]
        outcome = rng.choice(outcomes)
        return AuditEvent(
            at=now - timedelta(seconds=i * step + 1), actor_name=rng.choice(PEOPLE), action=rng.choice(actions),
            outcome=outcome, host_name=container.host.name, container_name=container.name,
            checkpoint_name=f"cp-{i % 9973}", job_id=uuid.UUID(int=rng.getrandbits(128)) if i % 2 else None,
            source=f"10.0.{i % 250}.{i % 200}", request_id=f"{i:032x}",
            details={"reason": "may not operate this host"} if outcome == "denied" else {},
        )

    _insert(AuditEvent, event, SIZES["audit_events"], "audit events")
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous=NORMAL")
    print(f"seeded in {time.monotonic() - t0:.0f} s", flush=True)
    return round(time.monotonic() - t0, 1)


# -- measuring -------------------------------------------------------------------------------
def _pages():
    from snapshots.models import AuditEvent, Container, Job

    host = "bench-07"
    busiest = list(Container.objects.filter(host__name=host).order_by("pk")[:6])[-1]
    job = Job.objects.filter(container=busiest).order_by("-created_at").first() or Job.objects.first()
    deep_job = Job.objects.order_by("-created_at", "-pk").values_list("created_at", "pk")[SIZES["jobs"] // 2]
    deep_event = AuditEvent.objects.order_by("-at", "-pk").values_list("at", "pk")[SIZES["audit_events"] // 2]
    some_day = (AuditEvent.objects.order_by("-at").values_list("at", flat=True)[SIZES["audit_events"] // 3]).date()
    return [
        ("overview", "/"),
        ("host", f"/hosts/{host}/"),
        ("host, sorted by last checkpoint", f"/hosts/{host}/?sort=-checkpoint"),
        ("host, page 2 sorted by image", f"/hosts/{host}/?sort=image&page=2"),
        ("container", f"/containers/{busiest.pk}/"),
        ("jobs", "/jobs/"),
        ("jobs, filtered host+kind+state", f"/jobs/?host={host}&kind=checkpoint&state=failed"),
        ("jobs, by person", "/jobs/?person=grace"),
        ("jobs, by a person with no jobs", "/jobs/?person=nobody"),
        ("jobs, page at 50%", f"/jobs/?before={deep_job[0].isoformat()}~{deep_job[1]}"),
        ("job", f"/jobs/{job.pk}/"),
        ("job row poll (htmx)", f"/jobs/{job.pk}/row/"),
        ("audit", "/audit/"),
        ("audit, actor+outcome", "/audit/?actor=grace&outcome=denied"),
        ("audit, container+date range", f"/audit/?container={busiest.name}&since={some_day - timedelta(days=20)}"
                                         f"&until={some_day}"),
        ("audit, host+action", f"/audit/?host={host}&action=restore"),
        ("audit, 4 filters, rare combination", f"/audit/?actor=grace&container={busiest.name}&outcome=denied"
                                               "&action=host.drain"),
        ("audit, page at 50%", f"/audit/?before={deep_event[0].isoformat()}~{deep_event[1]}"),
        ("search by name", "/search/?q=web-01"),
        ("search by id prefix", f"/search/?q={busiest.engine_id[:8]}"),
    ]


def _time(client, url):
    t0 = time.perf_counter()
    response = client.get(url)
    size = sum(len(c) for c in response.streaming_content) if response.streaming else len(response.content)
    elapsed = (time.perf_counter() - t0) * 1000
    if response.status_code not in (200, 286):
        raise RuntimeError(f"{url} answered {response.status_code}")
    return elapsed, size


def measure_pages(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    rows = []
    for name, url in _pages():
        for _ in range(2):
            _time(client, url)
        times = [_time(client, url)[0] for _ in range(REPEAT)]
        with CaptureQueriesContext(connection) as captured:
            _time(client, url)
        p95 = statistics.quantiles(times, n=20, method="inclusive")[18]
        rows.append({"page": name, "url": url, "p50_ms": round(statistics.median(times), 1),
                     "p95_ms": round(p95, 1), "max_ms": round(max(times), 1), "queries": len(captured),
                     "meets_target": p95 < TARGET_P95_MS})
        print(f"  {name:34} p50 {rows[-1]['p50_ms']:7.1f} ms  p95 {rows[-1]['p95_ms']:7.1f} ms  "
              f"{len(captured)} queries", flush=True)
    return rows


def measure_export(client):
    """Stream the CSV export of a tenth of the events and of all of them: peak memory must not grow with rows."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from snapshots.models import AuditEvent

    tenth = AuditEvent.objects.order_by("-at").values_list("at", flat=True)[SIZES["audit_events"] // 10].date()
    cases = [("csv, newest ~10%", f"/audit/export.csv?since={tenth}"), ("csv, all events", "/audit/export.csv"),
             ("json, newest ~10%", f"/audit/export.json?since={tenth}")]
    rows = []
    for name, url in cases:
        tracemalloc.start()
        t0 = time.perf_counter()
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
            first_byte = None
            size = lines = 0
            for chunk in response.streaming_content:
                if first_byte is None:
                    first_byte = (time.perf_counter() - t0) * 1000
                size += len(chunk)
                lines += chunk.count(b"\n")
        total = time.perf_counter() - t0
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rows.append({"export": name, "url": url, "lines": lines, "bytes": size, "first_byte_ms": round(first_byte, 1),
                     "total_s": round(total, 2), "rows_per_s": int(lines / total), "peak_mib": round(peak / 2**20, 2),
                     "queries": len(captured)})
        print(f"  {name:20} {lines:>9,} lines {size / 2**20:8.1f} MiB in {total:6.2f} s, first byte "
              f"{first_byte:.0f} ms, peak {peak / 2**20:.2f} MiB, {len(captured)} queries", flush=True)
    return rows


def run():
    _setup_django()
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client

    seconds = None
    if os.environ.get("CRYO_BENCH_RESEED") == "1" or not seeded():
        seconds = seed()
    client = Client()
    client.force_login(User.objects.get(username="bench-admin"))
    print("pages:", flush=True)
    pages = measure_pages(client)
    print("audit export:", flush=True)
    export = measure_export(client)
    if connection.vendor == "sqlite":
        import sqlite3

        database = f"SQLite {sqlite3.sqlite_version} ({connection.settings_dict['NAME']})"
    else:
        with connection.cursor() as cursor:
            cursor.execute("select version()")
            database = cursor.fetchone()[0].split(",")[0]
    return {
        "name": "dashboard", "target": f"p95 < {TARGET_P95_MS} ms per page; query count independent of data size; "
                                        "export memory flat", "database": database, "sizes": SIZES,
        "seed_seconds": seconds, "repeat": REPEAT, "pages": pages, "export": export,
        "all_pages_meet_target": all(p["meets_target"] for p in pages),
    }


def markdown(result):
    sizes = ", ".join(f"{value:,} {key.replace('_', ' ')}" for key, value in result["sizes"].items())
    lines = [f"Data: {sizes}. "
             f"Server time of {result['repeat']} requests per page with Django's test client, signed in as an admin.",
             "", "| page | p50 ms | p95 ms | max ms | SQL queries | p95 < 100 ms |", "|---|---:|---:|---:|---:|:---:|"]
    for p in result["pages"]:
        lines.append(f"| {p['page']} | {p['p50_ms']} | {p['p95_ms']} | {p['max_ms']} | {p['queries']} | "
                     f"{'yes' if p['meets_target'] else '**no**'} |")
    lines += ["", "Audit export (streamed; peak = Python memory traced while streaming):", "",
              "| export | lines | MiB | first byte ms | total s | rows/s | peak MiB | SQL queries |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for e in result["export"]:
        lines.append(f"| {e['export']} | {e['lines']:,} | {e['bytes'] / 2**20:.1f} | {e['first_byte_ms']} | "
                     f"{e['total_s']} | {e['rows_per_s']:,} | {e['peak_mib']} | {e['queries']} |")
    if result.get("seed_seconds"):
        lines += ["", f"Seeding took {result['seed_seconds']} s."]
    return "\n".join(lines)


if __name__ == "__main__":
    import json

    out = run()
    print(json.dumps(out, indent=2, default=str))
    print(markdown(out))
