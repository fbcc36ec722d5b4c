"""Real Podman services owned by the test run, started with deploy/podman-instance.sh. Tests reach them through
Podman's Docker-compatible API with the docker SDK, so the helpers of tests/harness/engine.py work on them too."""
import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from docker.types import Ulimit

from .engine import BUILD_IMAGE, IMAGE, ROOT, Daemon, in_ci

INSTANCE = ROOT / "deploy" / "podman-instance.sh"
# This kind of machine refuses Podman's default limits for a container's processes; the tests set them.
ULIMITS = [Ulimit(name="nofile", soft=1024, hard=1024), Ulimit(name="nproc", soft=4096, hard=4096)]


def missing_podman(reason):
    """Under CI a missing Podman is a failure, never a skip."""
    if in_ci():
        pytest.fail(f"Podman with CRIU is required under CI: {reason}", pytrace=False)
    pytest.skip(f"no CRIU-capable Podman here ({reason}); run `make test` to provision one")


def podman_problem():
    if os.geteuid() != 0:
        return "checkpoints need rootful Podman: the tests must run as root"
    if not shutil.which("podman"):
        return "podman is not installed (deploy/provision-host.sh --podman installs it)"
    from snapshots.host import criu

    path = shutil.which("criu", path="/usr/local/sbin:" + os.environ.get("PATH", ""))
    if not path:
        return "criu is not installed (deploy/provision-host.sh installs it)"
    facts = criu.cached_facts(max_age=3600, criu=path)
    if not facts["criu_ok"]:
        return f"`criu check` fails: {facts['criu_message'][-200:]}"
    return None


@dataclass
class PodmanService(Daemon):
    """One Podman store and its REST service; `client` is the docker SDK on Podman's compatible API."""

    @property
    def root_dir(self):
        return Path(f"/var/lib/cryo-podman/{self.name}")

    def podman(self, *args, timeout=900):
        """Podman's own CLI, in this process's hands, on the service's store (what a person would type)."""
        flags = ["--root", str(self.root_dir), "--runroot", f"/run/cryo-podman/{self.name}/run",
                 "--tmpdir", f"/run/cryo-podman/{self.name}/libpod", "--cgroup-manager", "cgroupfs",
                 "--events-backend", "file"]
        done = subprocess.run(["podman", *flags, *args], capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"podman {' '.join(args)} exited {done.returncode}: {done.stderr.strip()[-500:]}")
        return done.stdout

    def cli(self, *args, timeout=120):
        return subprocess.run(["bash", str(INSTANCE), "cli", self.name, *args], capture_output=True, text=True,
                              timeout=timeout)

    def run_counter(self, *, mib=16, period_ms=200, name=None, tty=False):
        name = name or f"counter-{uuid.uuid4().hex[:8]}"
        return self.client.containers.run(
            IMAGE, ["/counter", str(mib), str(period_ms)], name=name, detach=True, network_mode="none", tty=tty,
            labels={"cryo.test": "1"}, ulimits=ULIMITS,
        )


def start_podman(name):
    problem = podman_problem()
    if problem:
        missing_podman(problem)
    out = subprocess.run(["bash", str(INSTANCE), "start", name], capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        missing_podman(f"cannot start the Podman service {name}: {out.stderr.strip()[-500:]}")
    url = out.stdout.strip().splitlines()[-1]
    build = subprocess.run(["bash", str(BUILD_IMAGE), url, IMAGE], capture_output=True, text=True, timeout=300,
                           env={**os.environ, "CRYO_ENGINE": "podman"})
    if build.returncode != 0:
        pytest.fail(f"cannot build the test image on {name}: {build.stderr[-800:]}", pytrace=False)
    service = PodmanService(name, url)
    service.remove_test_containers()
    return service


def stop_podman(name):
    subprocess.run(["bash", str(INSTANCE), "stop", name], capture_output=True, text=True, timeout=120)
