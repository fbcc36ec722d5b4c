"""What the agent reports about its machine and its engine (the dashboard decides the host's status from it)."""
import shutil
import subprocess

from ..errors import EngineError

CRIU_CHECK_EVERY = 600  # seconds between `criu check` runs


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
    facts = {"criu_ok": False, "criu_version": "", "criu_message": ""}
    criu = shutil.which("criu") or shutil.which("criu", path="/usr/local/sbin:/usr/sbin:/sbin")
    if not criu:
        facts["criu_message"] = "criu is not installed (deploy/provision-host.sh installs a working one)"
        return facts
    try:
        out = subprocess.run([criu, "--version"], capture_output=True, text=True, timeout=20)
        facts["criu_version"] = (out.stdout.strip().splitlines() or [""])[0].replace("Version:", "").strip()
        check = subprocess.run([criu, "check"], capture_output=True, text=True, timeout=60)
        text = (check.stdout + check.stderr).strip()
        facts["criu_ok"] = check.returncode == 0 and "Looks good" in text
        facts["criu_message"] = "" if facts["criu_ok"] else (text.splitlines() or ["criu check failed"])[-1][:500]
    except (OSError, subprocess.SubprocessError) as exc:
        facts["criu_message"] = f"cannot run criu: {exc}"
    return facts


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
