"""Real processes for the integration tiers: a broker of the tests' own, the dashboard served by gunicorn, the control
process, and host agents whose environment holds nothing but the dashboard's URL (their credential is a file)."""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
LOG_DIR = ROOT / "var" / "test" / "logs"
AGENT_ENV_ALLOWED = {"PATH", "HOME", "LANG", "CRYO_URL"}


def database_url():
    """The URL of the database the tests use right now (the test database), for child processes."""
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_until(predicate, timeout, what, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Process:
    """A child process in its own session (so that its children go with it), logging to var/test/logs."""

    name = "process"

    def __init__(self):
        self.proc = None
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"{self.name}.log"

    def command(self):
        raise NotImplementedError

    def environment(self):
        raise NotImplementedError

    def start(self):
        connection.close()  # SQLite: let the child open the file cleanly
        log = open(self.log_path, "ab")
        log.write(f"\n=== {time.strftime('%H:%M:%S')} start {self.name}\n".encode())
        self.proc = subprocess.Popen(self.command(), env=self.environment(), stdout=log, stderr=subprocess.STDOUT,
                                     cwd=ROOT, start_new_session=True)
        return self

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        if self.alive():
            os.killpg(self.proc.pid, sig)

    def kill(self):
        """SIGKILL, as a crash or an OOM kill would."""
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout=30):
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, lines=60):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def dashboard_env(**extra):
    """The dashboard side's environment: the tests' own settings, pointed at the test database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env["DATABASE_URL"] = database_url()
    env.update({k: str(v) for k, v in extra.items()})
    return env


class Broker(Process):
    """A Redis server of the tests' own (it gets ACL users per host), on the port of CRYO_BROKER_URL."""

    name = "broker"

    def __init__(self, url):
        super().__init__()
        parts = urlsplit(url)
        self.port, self.password = parts.port, parts.password
        self.dir = ROOT / "var" / "test" / f"redis-{self.port}"

    def command(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        return ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--requirepass", self.password,
                "--save", "", "--appendonly", "no", "--dir", str(self.dir), "--loglevel", "warning"]

    def environment(self):
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}

    def start(self):
        super().start()
        wait_until(lambda: port_open(self.port) or not self.alive(), 15, f"Redis on port {self.port}")
        assert self.alive(), f"Redis did not start:\n{self.log_tail()}"
        return self


class Dashboard(Process):
    """The web app as production serves it (gunicorn with uvicorn's worker class, dashboard.asgi; or the WSGI app),
    on a free loopback port, on the test database."""

    def __init__(self, *, workers=2, asgi=True, extra_env=None):
        self.port = free_port()
        self.name = f"dashboard-{self.port}"
        super().__init__()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers, self.asgi, self.extra_env = workers, asgi, extra_env or {}

    def command(self):
        if self.asgi:
            app = ["dashboard.asgi:application", "--worker-class", "uvicorn_worker.UvicornWorker"]
        else:
            app = ["dashboard.wsgi:application", "--threads", "16"]
        return [str(Path(sys.executable).parent / "gunicorn"), *app, "--bind", f"127.0.0.1:{self.port}",
                "--workers", str(self.workers), "--timeout", "300", "--access-logfile", "-", "--error-logfile", "-"]

    def environment(self):
        return dashboard_env(CRYO_PUBLIC_URL=self.url, **self.extra_env)

    def start(self):
        super().start()
        wait_until(lambda: port_open(self.port) or not self.alive(), 60, "the dashboard to listen")
        assert self.alive(), f"the dashboard did not start:\n{self.log_tail()}"
        return self


class Control(Process):
    """The control process (manage.py cryo control): reconciliation and the control queue's tasks."""

    name = "control"

    def __init__(self, **extra_env):
        super().__init__()
        self.extra_env = extra_env

    def command(self):
        return [sys.executable, str(ROOT / "manage.py"), "cryo", "control"]

    def environment(self):
        return dashboard_env(**self.extra_env)


class Agent(Process):
    """`cryo-agent` for one host: it knows the dashboard's URL and keeps its credential in its state directory."""

    def __init__(self, host, docker_url, dashboard_url, *, concurrency=2, engine="docker"):
        self.name = f"agent-{host}"
        super().__init__()
        self.host, self.docker_url, self.dashboard_url = host, docker_url, dashboard_url
        self.concurrency, self.engine = concurrency, engine
        self.state_dir = ROOT / "var" / "test" / "agents" / host
        self.join_token = None

    def command(self):
        url_flag = "--podman-url" if self.engine == "podman" else "--docker-url"
        command = [sys.executable, "-m", "snapshots.host", "--state-dir", str(self.state_dir), "--engine", self.engine,
                   url_flag, self.docker_url, "--concurrency", str(self.concurrency)]
        if self.join_token:
            command += ["--join", self.join_token]
            self.join_token = None  # a join token works once
        return command

    def environment(self):
        return {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root",
                "LANG": "C.UTF-8", "CRYO_URL": self.dashboard_url}

    def credential(self):
        try:
            return (self.state_dir / "credential").read_text().strip()
        except FileNotFoundError:
            return ""

    def environ_of_running_process(self):
        raw = Path(f"/proc/{self.pid}/environ").read_bytes()
        return dict(item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)
