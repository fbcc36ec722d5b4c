"""Paths on the host, built only from names validated again here and proven to stay under the engine's own
directories. The engine's root comes from the engine itself (GET /info), never from the dashboard."""
import os
import time
from pathlib import Path

from .. import names
from ..errors import CryoError


class PathRefused(CryoError):
    """A path that would leave the engine's directories: refused before anything touches it."""


def _under(path, root):
    path, root = Path(os.path.realpath(path)), Path(os.path.realpath(root))
    if path != root and root not in path.parents:
        raise PathRefused(f"{path} is not under {root}; refused")
    return path


def containers_root(engine_root):
    return Path(engine_root) / "containers"


def checkpoints_dir(engine_root, container_id):
    names.ENGINE_ID.check(container_id)
    return _under(containers_root(engine_root) / container_id / "checkpoints", containers_root(engine_root))


def checkpoint_dir(engine_root, container_id, checkpoint_name):
    """Where the engine keeps a checkpoint's files: <root>/containers/<id>/checkpoints/<name>."""
    names.CHECKPOINT.check(checkpoint_name)
    parent = checkpoints_dir(engine_root, container_id)
    return _under(parent / checkpoint_name, parent)


def staging_dir(engine_root, job_id):
    """A private directory on the engine's file system, so that placing a checkpoint is a rename."""
    job = str(job_id)
    if not names.UUID.is_valid(job):
        raise PathRefused(f"{job[:40]!r} is not a job id")
    root = Path(engine_root) / "cryo-staging"
    return _under(root / job, root)


# A dump is complete once CRIU wrote its inventory and the runtime its descriptors (the last files of a dump):
# Docker's layout has them at the top; Podman's exported layout has its configuration there and CRIU's images in
# checkpoint/ (and Cryo places it whole, by a rename).
COMPLETE_LAYOUTS = (
    ("inventory.img", "pstree.img", "descriptors.json"),
    ("config.dump", "spec.dump", "checkpoint/inventory.img", "checkpoint/pstree.img"),
)


def is_complete(folder):
    return any(all((folder / mark).is_file() for mark in layout) for layout in COMPLETE_LAYOUTS)


def checkpoint_names(engine_root, container_id):
    """The checkpoints the engine holds for a container, read from its directory (what the engine's API lists)."""
    try:
        folder = checkpoints_dir(engine_root, container_id)
        return sorted(p.name for p in folder.iterdir() if p.is_dir() and names.CHECKPOINT.is_valid(p.name))
    except (OSError, names.InvalidName, PathRefused):
        return []


def checkpoints_on_disk(engine_root, container_id):
    """The checkpoints the engine holds for a container, each with whether it is complete and its size: a dump cut
    off by a dying engine leaves a directory that can never be restored."""
    found = []
    for name in checkpoint_names(engine_root, container_id):
        folder = checkpoints_dir(engine_root, container_id) / name
        found.append({"name": name, "complete": is_complete(folder),
                      "size": directory_size(folder) or 0, "quiet": _quiet_seconds(folder)})
    return found


def _quiet_seconds(folder):
    """Seconds since anything in the folder changed (a dump still being written changes it all the time)."""
    latest = 0.0
    for root, _dirs, files in os.walk(folder):
        for name in [*files, "."]:
            try:
                latest = max(latest, os.lstat(os.path.join(root, name)).st_mtime)
            except OSError:
                pass
    return int(max(0.0, time.time() - latest))


def directory_size(path):
    """Bytes used by the files under path, or None if it cannot be read from here."""
    total = 0
    try:
        for root, _dirs, files in os.walk(path):
            for name in files:
                try:
                    total += os.lstat(os.path.join(root, name)).st_size
                except OSError:
                    pass
    except OSError:
        return None
    return total if Path(path).exists() else None
