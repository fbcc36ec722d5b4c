"""A real control worker: a Celery worker process consuming the control queue (webhooks, e-mail)."""
import os
import signal
import subprocess
import sys

from django.db import connection

from notifications.tasks import CONTROL_QUEUE

from .workers import LOG_DIR, ROOT, child_env


class ControlWorker:
    def __init__(self, **extra_env):
        self.extra_env = extra_env
        self.proc = None
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / "control.log"

    def start(self):
        connection.close()
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "dashboard", "worker", "--queues", CONTROL_QUEUE, "--hostname",
             f"control-{os.getpid()}@%h", "--concurrency", "1", "--pool", "solo", "--loglevel", "INFO",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            env=child_env(**self.extra_env), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True,
        )
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)

    def log_tail(self, lines=40):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
