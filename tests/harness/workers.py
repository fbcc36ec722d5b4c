"""Real Cryo worker processes (`manage.py cryo worker`), each bound to one daemon and one host queue."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
LOG_DIR = ROOT / "var" / "test" / "logs"


def database_url():
    """The URL of the database the tests use right now (the test database), for child processes."""
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def child_env(**extra):
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url()
    env.update({k: str(v) for k, v in extra.items()})
    return env


class WorkerProcess:
    def __init__(self, host, docker_url, token, *, concurrency=2, extra_env=None):
        self.host = host
        self.docker_url = docker_url
        self.token = token
        self.concurrency = concurrency
        self.extra_env = extra_env or {}
        self.proc = None
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"worker-{host}.log"

    def start(self):
        connection.close()  # SQLite: let the child open the file cleanly
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "cryo", "worker", "--host", self.host, "--docker-url",
             self.docker_url, "--concurrency", str(self.concurrency), "--loglevel", "INFO"],
            env=child_env(CRYO_ENROLLMENT_TOKEN=self.token, **self.extra_env), stdout=log, stderr=subprocess.STDOUT,
            cwd=ROOT, start_new_session=True,
        )
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """SIGKILL, as a crash or an OOM kill would."""
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self):
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, lines=40):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def wait_until(predicate, timeout, what, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
