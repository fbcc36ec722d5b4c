"""Cryo's checkpoint store: a Django storage backend ("checkpoints" in settings.STORAGES).

A directory by default; S3-compatible object storage by configuration, so that workers on different
machines share it. Only workers read and write archives; the web tier only shows their metadata.
"""
import os

from django.core.files.storage import storages


def storage():
    return storages["checkpoints"]


def checkpoint_archive_name(host_name, container_id, checkpoint_name, job_id):
    return f"checkpoints/{host_name}/{container_id[:12]}/{checkpoint_name}-{str(job_id)[:8]}.tar.zst"


def image_archive_name(image_id):
    return f"images/{image_id.replace('sha256:', '')}.tar.zst"


def open_write(name):
    store = storage()
    try:
        path = store.path(name)
    except NotImplementedError:
        return store.open(name, "wb")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return open(path, "wb")


def open_read(name):
    return storage().open(name, "rb")


def exists(name):
    return storage().exists(name)


def delete(name):
    """Remove an archive and its markers; a missing one is fine."""
    store = storage()
    for each in (name, f"{name}.done", f"{name}.failed"):
        if store.exists(each):
            store.delete(each)


def can_follow():
    """True when the store is a directory: a reader can follow an archive while it is being written."""
    try:
        storage().path("probe")
        return True
    except NotImplementedError:
        return False


def local_path(name):
    return storage().path(name)


def write_marker(name, kind, text):
    """`<archive>.done` or `<archive>.failed`, written whole (temp file, then rename)."""
    path = storage().path(f"{name}.{kind}")
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
