"""Cryo's checkpoint store, held by the dashboard alone: hosts read and write archives only through the worker API.

An archive a host uploads lands in the spool (a private directory on the dashboard's machine) under a temporary
name, is hashed and counted as it arrives, and is then renamed into place; a reader on another host follows it
while it is still being written. Archives that are kept go on to the "checkpoints" storage (settings.STORAGES):
the spool itself when that storage is a directory, else (S3) they are copied there once complete.
"""
import errno
import hashlib
import logging
import os
import shutil
import time
from pathlib import Path

from django.conf import settings
from django.core.files.storage import storages
from django.db import transaction
from django.utils import timezone

from .errors import ArchiveRejected
from . import store_keys
from .models import Archive
from .services import audit

log = logging.getLogger(__name__)
CHUNK = 1 << 20
FOLLOW_POLL = 0.01  # seconds between looks at a growing archive
FOLLOW_STALL = 120  # seconds of silence after which a followed archive is given up


def storage():
    return storages["checkpoints"]


def is_directory():
    try:
        storage().path("probe")
        return True
    except NotImplementedError:
        return False


def spool_dir():
    path = Path(storage().path("")) if is_directory() else Path(settings.CRYO_SPOOL_DIR)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def spool_path(archive):
    return spool_dir() / archive.name


def new_upload(job, kind, *, checkpoint=None, image_id="", keep=True):
    """The row of an archive the job's source host is allowed to write, once."""
    writer = job.host
    archive = Archive(kind=kind, job=job, writer=writer, checkpoint=checkpoint, image_id=image_id or "", keep=keep)
    store_keys.new_key(archive)
    folder = {Archive.Kind.IMAGE: "images", Archive.Kind.ROOTFS: "files"}.get(kind, "checkpoints")
    archive.name = f"{folder}/{archive.id}.tar.zst" if kind == Archive.Kind.IMAGE else \
        f"{folder}/{writer.name}/{archive.id}.tar.zst"
    archive.save()
    return archive


def stored_checkpoint(checkpoint):
    return checkpoint.archives.filter(state=Archive.State.COMPLETE, keep=True).order_by("-completed_at").first()


def stored_image(image_id):
    if not image_id:
        return None
    return Archive.objects.filter(kind=Archive.Kind.IMAGE, image_id=image_id,
                                  state=Archive.State.COMPLETE).order_by("-completed_at").first()


# -- writing -----------------------------------------------------------------------------------
class StoreFull(ArchiveRejected):
    """Not enough room for an archive; the message says where, how much is needed and how much there is."""


def _full(where, needed, free):
    return StoreFull(f"the checkpoint store at {where} is full (needs about {needed / (1 << 20):.0f} MiB, has "
                     f"{free / (1 << 20):.0f} MiB)")


def make_room(size_hint):
    """Refuse before writing when the spool cannot hold an archive of about `size_hint` bytes (with a margin)."""
    folder = spool_dir()
    free = shutil.disk_usage(folder).free
    if size_hint and free < size_hint * 1.05 + (16 << 20):
        raise _full(folder, size_hint, free)


def receive(archive, read, *, size_hint=None):
    """Write an upload (`read(n)` returns bytes, b"" at the end) into the spool; record its digest and size.

    Returns the completed row. Any failure marks the archive failed (so a follower stops at once) and removes
    the partial file; a full disk is answered as such.
    """
    make_room(size_hint)
    if size_hint is not None:  # the bytes of files the writer packs: what a reader lets the archive unpack to
        Archive.objects.filter(pk=archive.pk).update(unpacked_size=size_hint)
    final = spool_path(archive)
    final.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = final.with_name(final.name + ".part")
    sha, size = hashlib.sha256(), 0
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        raise ArchiveRejected(f"archive {archive.id} is already being written") from None
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := read(CHUNK):
                sha.update(chunk)
                size += len(chunk)
                out.write(chunk)
                out.flush()  # a follower reads what is written, as it is written
        os.rename(partial, final)
    except BaseException as exc:
        partial.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            full = _full(final.parent, max(size, size_hint or 0), shutil.disk_usage(final.parent).free)
            fail(archive, full.message)
            raise full from exc
        fail(archive, f"the upload from {archive.writer.name} broke off after {size} bytes ({exc!r})")
        raise
    Archive.objects.filter(pk=archive.pk).update(state=Archive.State.COMPLETE, sha256=sha.hexdigest(), size=size,
                                                 completed_at=timezone.now())
    archive.refresh_from_db()
    if archive.keep and not is_directory():
        _copy_to_storage(archive, final)
    return archive


def _copy_to_storage(archive, path):
    with open(path, "rb") as fh:
        storage().save(archive.name, fh)


def fail(archive, reason):
    Archive.objects.filter(pk=archive.pk, state=Archive.State.WRITING).update(state=Archive.State.FAILED,
                                                                               error=reason[:2000])


# -- reading -----------------------------------------------------------------------------------
def follow(archive, *, poll=FOLLOW_POLL, stall=FOLLOW_STALL):
    """Yield an archive's bytes, waiting for more while its writer is still writing. Raises ArchiveRejected when
    the writer fails or goes silent, so the reader's transfer fails instead of passing a truncated archive."""
    final = spool_path(archive)
    partial = final.with_name(final.name + ".part")
    fh = None
    deadline = time.monotonic() + stall
    state = archive.state
    try:
        while True:
            if fh is None:
                for path in (final, partial):
                    try:
                        fh = open(path, "rb")
                        break
                    except FileNotFoundError:
                        continue
                if fh is None and state == Archive.State.COMPLETE:
                    yield from _from_storage(archive)
                    return
            if fh is not None:
                chunk = fh.read(CHUNK)
                if chunk:
                    deadline = time.monotonic() + stall
                    yield chunk
                    continue
            if state == Archive.State.COMPLETE and fh is not None:
                return  # complete, and everything read
            state, error = Archive.objects.filter(pk=archive.pk).values_list("state", "error").get()
            if state == Archive.State.COMPLETE:
                continue  # read the rest
            if state != Archive.State.WRITING:
                raise ArchiveRejected(f"the archive could not be written on the source host: {error or state}")
            if time.monotonic() > deadline:
                raise ArchiveRejected(f"the archive stopped growing for {stall} s")
            time.sleep(poll)
    finally:
        if fh is not None:
            fh.close()


def _from_storage(archive):
    with storage().open(archive.name, "rb") as fh:
        while chunk := fh.read(CHUNK):
            yield chunk


# -- removing ----------------------------------------------------------------------------------
def discard(archives, *, job=None, reason=""):
    """Delete these archives' bytes (spool and storage), destroy their keys and mark them deleted, audited; returns
    how many there were."""
    items = list(archives)
    for archive in items:
        for path in (spool_path(archive), spool_path(archive).with_name(Path(archive.name).name + ".part")):
            path.unlink(missing_ok=True)
        if not is_directory():
            try:
                if storage().exists(archive.name):
                    storage().delete(archive.name)
            except Exception:  # the row still says deleted; a later discard of the same name is harmless
                log.exception("cannot delete %s from the store", archive.name)
    if not items:
        return 0
    with transaction.atomic():
        Archive.objects.filter(pk__in=[a.pk for a in items]).update(state=Archive.State.DELETED, wrapped_key=None)
        audit.record(actor=None, actor_label="system", action="archive.delete", outcome="succeeded",
                     host=job.host if job else None, container_name=job.container_name if job else "",
                     checkpoint_name=job.checkpoint_name if job else "",
                     details={"archives": [str(a.pk) for a in items][:100], "count": len(items),
                              "keys_destroyed": sum(1 for a in items if a.key_id), "reason": reason,
                              "job": str(job.id) if job else None})
    return len(items)
