"""What the agent reports about its machine and its engine (the dashboard decides the host's status from it)."""
import shutil

from ..errors import EngineError
from . import criu

CRIU_CHECK_EVERY = 600  # seconds between CRIU probes (`criu check` and the socket probe, about 0.3 s)


def machine_facts():
    """CPU and CRIU, read on this machine."""
    facts = {"cpu_model": "", "cpu_flags": "", **criu_facts()}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and not facts["cpu_model"]:
                    facts["cpu_model"] = value.strip()
                elif key == "flags" and not facts["cpu_flags"]:
                    facts["cpu_flags"] = value.strip()
    except OSError:
        pass
    return facts


def criu_facts():
    """criu_ok (`criu check` passes) and criu_sockets_ok (the socket probe of snapshots.host.criu passes, or
    when it cannot run, the CRIU/kernel pair is not a known broken one), each with its message."""
    return criu.cached_facts()


def engine_facts(engine):
    """The engine's own facts; an engine that does not answer is reported as the reason the host is degraded."""
    try:
        info = engine.info()
        version = engine.version()
    except EngineError as exc:
        return {"engine_error": str(exc), "docker_url": engine.url}
    root = info.get("DockerRootDir", "")
    free = None
    try:
        free = shutil.disk_usage(root).free if root else None
    except OSError:
        pass
    return {
        "engine_kind": engine.kind,
        "docker_url": engine.url,
        "docker_version": info.get("ServerVersion", ""),
        "api_version": version.get("ApiVersion", ""),
        "experimental": bool(info.get("ExperimentalBuild") or version.get("Experimental")),
        "kernel": info.get("KernelVersion", ""),
        "os": info.get("OperatingSystem", ""),
        "cpus": info.get("NCPU"),
        "memory_bytes": info.get("MemTotal"),
        "docker_root_dir": root,
        "free_bytes": free,
        "containers_running": info.get("ContainersRunning", 0),
    }
