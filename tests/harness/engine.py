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
IMAGE = "cryo-counter:1"
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
    criu = shutil.which("criu", path="/usr/local/sbin:" + os.environ.get("PATH", ""))
    if not criu:
        return "criu is not installed (deploy/provision-host.sh installs it)"
    check = subprocess.run([criu, "check"], capture_output=True, text=True)
    if "Looks good" not in check.stdout + check.stderr:
        return f"`criu check` fails: {(check.stdout + check.stderr).strip()[-200:]}"
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

    def remove_test_containers(self):
        for c in self.client.containers.list(all=True, filters={"label": "cryo.test=1"}):
            c.remove(force=True)


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
