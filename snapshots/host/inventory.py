"""What the engine holds, as plain data for the worker API: containers, images and the checkpoints on disk."""
from datetime import datetime, timezone

from ..errors import ContainerNotFound
from . import paths


def _created(value):
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, tz=timezone.utc).isoformat()
    return value if isinstance(value, str) else None


def from_inspect(info):
    """One container as the dashboard stores it (what a clone or a migration needs to recreate it, too)."""
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
        "config": {
            "cmd": cmd,
            "entrypoint": config.get("Entrypoint"),
            "env": config.get("Env") or [],
            "labels": config.get("Labels") or {},
            "working_dir": config.get("WorkingDir") or "",
            "user": config.get("User") or "",
            "tty": bool(config.get("Tty")),
            "network_mode": host_config.get("NetworkMode") or "none",
        },
    }


def listing(engine, engine_root):
    """Every container (inspected), every image, and each container's checkpoints on disk."""
    containers, checkpoints = [], {}
    for summary in engine.containers():
        try:
            item = from_inspect(engine.inspect(summary["Id"]))
        except ContainerNotFound:
            continue  # removed between the list and the inspect
        containers.append(item)
        found = paths.checkpoint_names(engine_root, item["id"]) if engine_root else []
        checkpoints[item["id"]] = found
    images = [{"id": i["Id"], "tags": i.get("RepoTags") or []} for i in engine.images()]
    return {"containers": containers, "images": images, "checkpoints": checkpoints}


def one(engine, engine_id):
    """One container after an engine event: its fields, or None when it is gone."""
    try:
        return from_inspect(engine.inspect(engine_id))
    except ContainerNotFound:
        return None
