"""Read an engine's facts and decide the host's status from them."""
import shutil

from ..engine import host_facts
from ..errors import EngineError
from ..models import Host


def engine_facts(engine, *, with_host=True):
    """Facts for the Host row; engine failures become a 'degraded' status with the reason."""
    facts = host_facts() if with_host else {}
    try:
        info = engine.info()
        version = engine.version()
    except EngineError as exc:
        return {**facts, "status": Host.Status.DEGRADED, "status_reason": str(exc)}
    root = info.get("DockerRootDir", "")
    free = None
    try:
        free = shutil.disk_usage(root).free if root else None
    except OSError:
        pass
    facts.update(
        docker_version=info.get("ServerVersion", ""),
        api_version=version.get("ApiVersion", ""),
        experimental=bool(info.get("ExperimentalBuild") or version.get("Experimental")),
        kernel=info.get("KernelVersion", ""),
        os=info.get("OperatingSystem", ""),
        cpus=info.get("NCPU"),
        memory_bytes=info.get("MemTotal"),
        docker_root_dir=root,
        free_bytes=free,
        containers_running=info.get("ContainersRunning", 0),
    )
    return facts


def status_of(host):
    """(status, reason) for an engine that answered, from its facts."""
    problems = host.engine_problems()
    if problems:
        return Host.Status.DEGRADED, "; ".join(problems)
    return Host.Status.ONLINE, ""
