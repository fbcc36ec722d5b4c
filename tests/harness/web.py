"""The dashboard served as in production (gunicorn with uvicorn's worker class, dashboard.asgi), in a child process
on a free loopback port, sharing the test database and Redis."""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.db import connection

from .workers import LOG_DIR, ROOT, child_env

GUNICORN = Path(sys.executable).with_name("gunicorn")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebServer:
    def __init__(self, *, workers=1, asgi=True, extra_env=None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.asgi = asgi
        self.extra_env = extra_env or {}
        self.proc = None
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"web-{self.port}.log"

    def command(self):
        if self.asgi:
            app = ["dashboard.asgi:application", "--worker-class", "uvicorn_worker.UvicornWorker"]
        else:
            app = ["dashboard.wsgi:application", "--threads", "4"]
        return [str(GUNICORN), *app, "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers),
                "--access-logfile", "-", "--error-logfile", "-"]

    def start(self, timeout=30):
        connection.close()  # SQLite: let the child open the file cleanly
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command(), env=child_env(**self.extra_env), stdout=log,
                                     stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"the web server exited at start:\n{self.log_tail()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError(f"the web server did not listen within {timeout} s:\n{self.log_tail()}")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)

    def log_tail(self, lines=40):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
