"""What the engine holds, as plain data for the worker API: containers, images and the checkpoints on disk."""
from datetime import datetime, timezone

import logging

from ..errors import ContainerNotFound
from . import connections, paths, rootfs

log = logging.getLogger(__name__)


def _created(value):
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, tz=timezone.utc).isoformat()
    return value if isinstance(value, str) else None


def from_inspect(info, engine_root=None):
    """One container as the dashboard stores it: what a clone or a migration needs to recreate it, and what the
    pre-flight needs to say what would not travel (mounts, connections to peers outside, its own files)."""
    config = info.get("Config") or {}
    host_config = info.get("HostConfig") or {}
    cmd = config.get("Cmd") or []
    return {
        "id": info.get("Id", ""),
        "name": (info.get("Name") or "").lstrip("/"),
        "image": config.get("Image") or "",
        "image_id": info.get("Image") or "",
        "command": " ".join(cmd) if isinstance(cmd, list) else str(cmd),
        "state": (info.get("State") or {}).get("Status", ""),
        "labels": config.get("Labels") or {},
        "tty": bool(config.get("Tty")),
        "created": _created(info.get("Created")),
        "started": (info.get("State") or {}).get("StartedAt") or "",
        "config": {
            "cmd": cmd,
            "entrypoint": config.get("Entrypoint"),
            "env": config.get("Env") or [],
            "labels": config.get("Labels") or {},
            "working_dir": config.get("WorkingDir") or "",
            "user": config.get("User") or "",
            "tty": bool(config.get("Tty")),
            "network_mode": host_config.get("NetworkMode") or "none",
            "tmpfs": host_config.get("Tmpfs") or {},
            "mounts": [{"type": m.get("Type", ""), "name": m.get("Name", ""), "destination": m.get("Destination", "")}
                       for m in info.get("Mounts") or []],
        },
        "facts": facts(info, engine_root) if engine_root else {},
    }


def facts(info, engine_root):
    """What only the host can see: the size of the container's own files, and its connections leaving it."""
    found = {}
    try:
        found["rw_bytes"] = rootfs.size(rootfs.upper_dir(info, engine_root))
    except rootfs.NotTransferable as exc:
        found["rw_problem"] = str(exc)
    pid = (info.get("State") or {}).get("Pid") or 0
    if pid:
        network = ((info.get("HostConfig") or {}).get("NetworkMode") or "")
        try:
            peers = connections.outside_peers(pid, shared_network=network == "host" or network.startswith("container:"))
            found["outside_peers"] = [str(c) for c in peers][:20]
        except OSError:
            pass
    return found


def listing(engine, engine_root):
    """Every container (inspected), every image, and each container's checkpoints on disk."""
    containers, checkpoints = [], {}
    for summary in engine.containers():
        try:
            item = from_inspect(engine.inspect(summary["Id"]), engine_root)
        except ContainerNotFound:
            continue  # removed between the list and the inspect
        containers.append(item)
        checkpoints[item["id"]] = paths.checkpoints_on_disk(engine_root, item["id"]) if engine_root else []
    images = [{"id": i["Id"], "tags": i.get("RepoTags") or []} for i in engine.images()]
    return {"containers": containers, "images": images, "checkpoints": checkpoints}


def one(engine, engine_id, engine_root=None):
    """One container after an engine event: its fields, or None when it is gone."""
    try:
        return from_inspect(engine.inspect(engine_id), engine_root)
    except ContainerNotFound:
        return None
