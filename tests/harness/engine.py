"""Real Docker daemons owned by the test run, started with deploy/dockerd-instance.sh."""
import os
import re
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

ROOT = Path(__file__).resolve().parents[2]
INSTANCE = ROOT / "deploy" / "dockerd-instance.sh"
BUILD_IMAGE = ROOT / "deploy" / "test-image" / "build.sh"
BUILD_SERVICE = ROOT / "deploy" / "test-image" / "build-service.sh"
IMAGE = "cryo-counter:1"
SERVICE_IMAGES = {"redis": "cryo-redis:1", "pingpong": "cryo-pingpong:1"}
START_RE = re.compile(r"^start seed=([0-9a-f]{16}) mib=(\d+)$")
TICK_RE = re.compile(r"^tick (\d+) seed=([0-9a-f]{16}) mem=(ok|BAD)$")


def in_ci():
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing_engine(reason):
    """Under CI a missing engine is a failure, never a skip."""
    if in_ci():
        pytest.fail(f"the Docker/CRIU engine is required under CI: {reason}", pytrace=False)
    pytest.skip(f"no CRIU-capable Docker engine here ({reason}); run `make test` to provision one")


def engine_problem():
    if os.geteuid() != 0:
        return "tests that start Docker daemons must run as root"
    if not shutil.which("dockerd"):
        return "dockerd is not installed (deploy/provision-host.sh installs it)"
    from snapshots.host import criu

    path = shutil.which("criu", path="/usr/local/sbin:" + os.environ.get("PATH", ""))
    if not path:
        return "criu is not installed (deploy/provision-host.sh installs it)"
    facts = criu.cached_facts(max_age=3600, criu=path)
    if not facts["criu_ok"]:
        return f"`criu check` fails: {facts['criu_message'][-200:]}"
    if not facts["criu_sockets_ok"]:
        return facts["criu_sockets_message"]
    return None


@dataclass
class Daemon:
    name: str
    url: str

    @property
    def client(self):
        return docker.DockerClient(base_url=self.url, version="auto", timeout=120)

    @property
    def root_dir(self):
        return Path(f"/var/lib/cryo-docker/{self.name}")

    def run_counter(self, *, mib=16, period_ms=200, name=None, tty=False):
        """Start the counter program in a new container with no network; returns the container."""
        name = name or f"counter-{uuid.uuid4().hex[:8]}"
        return self.client.containers.run(
            IMAGE, ["/counter", str(mib), str(period_ms)], name=name, detach=True, network_mode="none", tty=tty,
            labels={"cryo.test": "1"},
        )

    def service_image(self, kind):
        """Build (once; the label hash makes a rebuild a no-op) and name the real-service image `kind`."""
        tag = SERVICE_IMAGES[kind]
        build = subprocess.run(["bash", str(BUILD_SERVICE), self.url, kind, tag], capture_output=True, text=True,
                               timeout=300)
        if build.returncode != 0:
            pytest.fail(f"cannot build {tag} on {self.name}: {build.stderr[-800:]}", pytrace=False)
        return tag

    def run_redis(self, *, name=None, command=None):
        """The machine's own redis-server in a container with no network, listening on its loopback."""
        container = self.client.containers.run(
            self.service_image("redis"), command, name=name or f"redis-{uuid.uuid4().hex[:8]}", detach=True,
            network_mode="none", labels={"cryo.test": "1"},
        )
        wait_answers(lambda: redis_cli(container, "PING") == "PONG", f"redis in {container.name}")
        return container

    def run_pingpong(self, *, name=None, period_ms=200):
        """A TCP server and a client on one connection, both inside a container with no network."""
        return self.client.containers.run(
            self.service_image("pingpong"), ["/pingpong", "7000", str(period_ms)],
            name=name or f"pingpong-{uuid.uuid4().hex[:8]}", detach=True, network_mode="none",
            labels={"cryo.test": "1"},
        )

    def remove_test_containers(self):
        for c in self.client.containers.list(all=True, filters={"label": "cryo.test=1"}):
            c.remove(force=True)


def wait_answers(predicate, what, timeout=30):
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except docker.errors.APIError:
            pass  # not running yet, or restarting
        except AssertionError as exc:  # the service is not listening yet (its client said so)
            last = f": {exc}"
        time.sleep(0.1)
    raise AssertionError(f"{what} does not answer after {timeout} s{last}")


def redis_cli(container, *args):
    """redis-cli inside the container, over TCP to 127.0.0.1:6379 (the server's own socket); its output."""
    code, out = container.exec_run(["redis-cli", "-h", "127.0.0.1", "-p", "6379", *[str(a) for a in args]])
    text = out.decode("utf-8", "replace").strip()
    if code != 0:
        raise AssertionError(f"redis-cli {' '.join(map(str, args))} in {container.name} exited {code}: {text}")
    return text


FILL_KEYS = "for i = tonumber(ARGV[1]), tonumber(ARGV[2]) do redis.call('SET', 'key:' .. i, 'value:' .. i) end " \
            "return tonumber(ARGV[2]) - tonumber(ARGV[1]) + 1"
COUNT_INTACT = "local n = 0 for i = tonumber(ARGV[1]), tonumber(ARGV[2]) do " \
               "if redis.call('GET', 'key:' .. i) == 'value:' .. i then n = n + 1 end end return n"


def fill_redis(container, first, last):
    """SET key:<i> = value:<i> for i in first..last, through the server's socket; returns how many."""
    return int(redis_cli(container, "EVAL", FILL_KEYS, 0, first, last))


def redis_intact(container, first, last):
    """How many of key:<first>..key:<last> hold exactly value:<i> (every key read back, one by one)."""
    return int(redis_cli(container, "EVAL", COUNT_INTACT, 0, first, last))


def redis_info(container):
    """INFO server as a dict (run_id is new at every start of redis-server, and kept by a restore)."""
    return dict(line.split(":", 1) for line in redis_cli(container, "INFO", "server").splitlines() if ":" in line)


PP_CONNECT_RE = re.compile(r"^connect id=([0-9a-f]{16}) port=(\d+)$")
PP_TICK_RE = re.compile(r"^tick (\d+) id=([0-9a-f]{16}) port=(\d+) accepts=(\d+) ok$")


@dataclass
class PingpongLog:
    connects: list  # (id, port)
    ticks: list  # (n, id, port, accepts)
    broken: list  # lines
    accepts: list  # server's "accept n=... peer=..." lines

    @property
    def last_tick(self):
        return self.ticks[-1][0] if self.ticks else 0


def pingpong_log(container):
    text = container.logs().decode("utf-8", "replace")
    connects, ticks, broken, accepts = [], [], [], []
    for line in text.splitlines():
        line = line.strip()
        if m := PP_CONNECT_RE.match(line):
            connects.append((m.group(1), int(m.group(2))))
        elif m := PP_TICK_RE.match(line):
            ticks.append((int(m.group(1)), m.group(2), int(m.group(3)), int(m.group(4))))
        elif line.startswith(("broken", "client exited", "error")):
            broken.append(line)
        elif line.startswith("accept "):
            accepts.append(line)
    return PingpongLog(connects, ticks, broken, accepts)


def wait_for_pingpong(container, at_least, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = pingpong_log(container)
        if log.last_tick >= at_least or log.broken:
            return log
        time.sleep(0.2)
    raise AssertionError(f"pingpong in {container.name} did not reach tick {at_least}: {pingpong_log(container)}")


def start_daemon(name):
    problem = engine_problem()
    if problem:
        missing_engine(problem)
    out = subprocess.run(["bash", str(INSTANCE), "start", name], capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        missing_engine(f"cannot start dockerd {name}: {out.stderr.strip()[-500:]}")
    url = out.stdout.strip().splitlines()[-1]
    build = subprocess.run(["bash", str(BUILD_IMAGE), url, IMAGE], capture_output=True, text=True, timeout=300)
    if build.returncode != 0:
        pytest.fail(f"cannot build the test image on {name}: {build.stderr[-800:]}", pytrace=False)
    daemon = Daemon(name, url)
    daemon.remove_test_containers()
    return daemon


def stop_daemon(name):
    subprocess.run(["bash", str(INSTANCE), "stop", name], capture_output=True, text=True, timeout=120)


@dataclass
class CounterLog:
    starts: list
    ticks: list  # (n, seed, ok)

    @property
    def last_tick(self):
        return self.ticks[-1][0] if self.ticks else 0

    @property
    def seeds(self):
        return {s for _n, s, _ok in self.ticks} | {s for s, _m in self.starts}

    @property
    def all_memory_ok(self):
        return all(ok for _n, _s, ok in self.ticks)


def counter_log(container):
    container.reload()
    text = container.logs().decode("utf-8", "replace")
    starts, ticks = [], []
    for line in text.splitlines():
        line = line.strip()
        if m := START_RE.match(line):
            starts.append((m.group(1), int(m.group(2))))
        elif m := TICK_RE.match(line):
            ticks.append((int(m.group(1)), m.group(2), m.group(3) == "ok"))
    return CounterLog(starts, ticks)


def wait_for_ticks(container, at_least, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = counter_log(container)
        if log.last_tick >= at_least:
            return log
        time.sleep(0.2)
    raise AssertionError(f"counter in {container.name} did not reach tick {at_least}: {counter_log(container)}")
