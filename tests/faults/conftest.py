"""The fault tier: faults injected for real into the broker, the database, an agent, an engine and the store, each
test asserting that the job ends within its bound, the container is usable, the audit has the request and the
outcome, and that asking again works. Each fault's time to a clear answer is written to artifacts/faults.md."""
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from snapshots.models import AuditEvent

from ..harness.engine import in_ci
from ..harness.processes import ROOT

REPORT = ROOT / "artifacts" / "faults.md"
_times = []


@pytest.fixture(scope="session", autouse=True)
def fault_report():
    yield
    if not _times:
        return
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    database = "PostgreSQL" if connection.vendor == "postgresql" else "SQLite"
    lines = [f"# Faults injected ({database}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})", "",
             "| fault | time to a clear answer | final state |", "|---|---|---|"]
    lines += [f"| {fault} | {seconds:.1f} s | {state} |" for fault, seconds, state in _times]
    REPORT.write_text("\n".join(lines) + "\n")
    (REPORT.with_suffix(".json")).write_text(json.dumps(_times, indent=1))


def record(fault, seconds, state):
    _times.append((fault, round(seconds, 2), state))


@pytest.fixture
def broker_process(broker):
    server = getattr(broker, "server", None)
    if server is None:
        pytest.fail("the fault tier needs the broker the tests started themselves (port in CRYO_BROKER_URL)",
                    pytrace=False)
    return server


def audited(job):
    """The job's request and its outcome are both in the audit log."""
    outcomes = set(AuditEvent.objects.filter(job_id=job.id).values_list("outcome", flat=True))
    return "requested" in outcomes and bool(outcomes & {"succeeded", "failed"})


class Outage:
    """PostgreSQL refusing connections to the test database for a while (and dropping the ones it had)."""

    def __init__(self):
        db = settings.DATABASES["default"]
        self.name = db["NAME"]
        self.admin = (f"host={db.get('HOST') or '127.0.0.1'} port={db.get('PORT') or 5432} "
                      f"user={db.get('USER') or 'postgres'} dbname=postgres"
                      + (f" password={db['PASSWORD']}" if db.get("PASSWORD") else ""))

    def _run(self, *statements):
        with psycopg.connect(self.admin, autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)

    def begin(self):
        self._run(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS false',
                  f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{self.name}' "
                  "AND pid <> pg_backend_pid()")

    def end(self):
        self._run(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS true')
        connection.close()


@pytest.fixture
def outage():
    if connection.vendor != "postgresql":
        message = "a database that refuses connections is a server's fault: this runs on PostgreSQL"
        if in_ci():
            pytest.skip(message + " (CI runs the fault tier on PostgreSQL)")
        pytest.skip(message)
    found = Outage()
    yield found
    found.end()


def freeze(process):
    os.kill(process.pid, signal.SIGSTOP)


def thaw(process):
    os.kill(process.pid, signal.SIGCONT)


@pytest.fixture
def small_store(tmp_path):
    """A 20 MiB tmpfs over the part of the store where host test-a's archives land."""
    target = Path(settings.CRYO_STORE_DIR) / "checkpoints" / "test-a"
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=20m,mode=0700", "cryo-small-store", str(target)], check=True)
    yield target
    subprocess.run(["umount", "-l", str(target)], check=False)


def settle(job, timeout):
    """Wait for the job to end; the seconds it took."""
    started = time.monotonic()
    deadline = started + timeout
    while time.monotonic() < deadline:
        try:
            job.refresh_from_db()
        except Exception:  # the database may be out of reach for a while: that is the fault under test
            connection.close()
            time.sleep(0.2)
            continue
        if job.is_terminal:
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"job {job.id} ({job.kind}) still {job.state} after {timeout} s")


