"""Checkpoint archives: a tar of the checkpoint's files, compressed with zstd, with the sha256 of the result.

Unpacking verifies as it goes and refuses anything but plain files and directories that stay inside the
target: absolute paths, `..`, links, devices and fifos are refused before a byte of them is written, a
truncated stream fails, and a checksum that does not match removes what was extracted.
"""
import hashlib
import json
import os
import shutil
import stat
import queue
import tarfile
import threading
import time
from pathlib import Path

import zstandard

from .errors import ArchiveRejected

CHUNK = 1 << 20
ZSTD_LEVEL = 1  # CRIU images are mostly memory pages: level 1 keeps compression well ahead of the disk


class HashingWriter:
    def __init__(self, raw):
        self.raw = raw
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data):
        self.sha.update(data)
        self.size += len(data)
        return self.raw.write(data)

    def flush(self):
        if hasattr(self.raw, "flush"):
            self.raw.flush()


class HashingReader:
    def __init__(self, raw):
        self.raw = raw
        self.sha = hashlib.sha256()
        self.size = 0

    def read(self, n=-1):
        data = self.raw.read(n)
        self.sha.update(data)
        self.size += len(data)
        return data

    def drain(self):
        while self.read(CHUNK):
            pass


class _Writer:
    """Writes file contents on a second thread, so disk writes overlap decompression and hashing."""

    def __init__(self):
        self.queue = queue.Queue(maxsize=8)
        self.error = None
        self.thread = threading.Thread(target=self._run, name="archive-writer", daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            item = self.queue.get()
            if item is None:
                return
            fd, chunk = item
            try:
                if chunk is None:
                    os.close(fd)
                elif self.error is None:
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(fd, view):]
            except OSError as exc:
                self.error = self.error or exc

    def copy(self, data, fd):
        try:
            while chunk := data.read(CHUNK):
                if self.error:
                    raise self.error
                self.queue.put((fd, chunk))
        finally:
            self.queue.put((fd, None))

    def finish(self):
        self.queue.put(None)
        self.thread.join()
        if self.error:
            raise self.error

    def abort(self):
        self.error = self.error or OSError("aborted")
        self.queue.put(None)
        self.thread.join()


def pack(source_dir, out):
    """Write source_dir as tar+zstd to the binary file `out`; returns (sha256 hex, compressed bytes)."""
    source_dir = Path(source_dir)
    if not source_dir.is_dir():
        raise ArchiveRejected(f"nothing to archive: {source_dir} does not exist")
    writer = HashingWriter(out)
    compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL, threads=-1)
    with compressor.stream_writer(writer, closefd=False) as zout:
        with tarfile.open(fileobj=zout, mode="w|", format=tarfile.PAX_FORMAT, bufsize=CHUNK) as tar:
            for path in sorted(source_dir.rglob("*")):
                mode = path.lstat().st_mode
                if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                    continue  # CRIU writes plain files only; nothing else belongs in an archive
                tar.add(path, arcname=str(path.relative_to(source_dir)), recursive=False)
    writer.flush()
    return writer.sha.hexdigest(), writer.size


def pack_stream(chunks, out):
    """Compress an iterable of byte chunks (an image tarball from the engine) to `out`."""
    writer = HashingWriter(out)
    compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL, threads=-1)
    with compressor.stream_writer(writer, closefd=False) as zout:
        for chunk in chunks:
            zout.write(chunk)
    writer.flush()
    return writer.sha.hexdigest(), writer.size


def _safe_member(member, target):
    name = member.name
    if not name or name.startswith("/") or "\\" in name:
        raise ArchiveRejected(f"archive member {name!r} has an absolute or odd path; refused")
    parts = Path(name).parts
    if ".." in parts:
        raise ArchiveRejected(f"archive member {name!r} climbs out of its directory with '..'; refused")
    if not (member.isreg() or member.isdir()):
        kind = "a link" if (member.issym() or member.islnk()) else "a device or special file"
        raise ArchiveRejected(f"archive member {name!r} is {kind}; only plain files and directories are accepted")
    dest = (target / name).resolve()
    if dest != target and target not in dest.parents:
        raise ArchiveRejected(f"archive member {name!r} would land outside its target; refused")
    return dest


class FollowReader:
    """Reads an archive while its writer (another host's worker) is still writing it, through a shared store.

    The writer closes the archive, then writes `<archive>.done` (JSON: sha256, size, timings) or
    `<archive>.failed` (the reason). Reads block until data, the end, a failure, or `stall` seconds of silence.
    """

    def __init__(self, path, *, poll=0.005, stall=120):
        self.path = Path(path)
        self.poll = poll
        self.stall = stall
        self.fh = None
        self.done = None

    def _marker(self, kind):
        marker = Path(f"{self.path}.{kind}")
        return marker.read_text() if marker.exists() else None

    def read(self, n=-1):
        size = n if n and n > 0 else CHUNK
        deadline = time.monotonic() + self.stall
        while True:
            if self.fh is None and self.path.exists():
                self.fh = open(self.path, "rb")
            if self.fh is not None:
                data = self.fh.read(size)
                if data:
                    return data
            done = self._marker("done")
            if done is not None:
                self.done = json.loads(done)
                return self.fh.read(size) if self.fh is not None else b""
            failed = self._marker("failed")
            if failed is not None:
                raise ArchiveRejected(f"the export on the source host failed: {failed.strip()}")
            if time.monotonic() > deadline:
                raise ArchiveRejected(f"the archive {self.path.name} stopped growing for {self.stall} s")
            time.sleep(self.poll)

    def close(self):
        if self.fh is not None:
            self.fh.close()


def unpack(src, target_dir, *, expected_sha256, max_bytes=None):
    """Extract a tar+zstd stream into target_dir (which must not exist yet), verifying everything.

    expected_sha256 may be a callable, asked once the whole stream was read (a followed archive's checksum
    is known only when its writer is done). On any problem the partly written target_dir is removed and
    ArchiveRejected says why.
    """
    target = Path(target_dir)
    if target.exists():
        raise ArchiveRejected(f"{target} already exists; refusing to mix an archive into it")
    target.mkdir(parents=True, mode=0o700)
    target = target.resolve()
    reader = HashingReader(src)
    written = 0
    writer = _Writer()
    try:
        dctx = zstandard.ZstdDecompressor()
        with dctx.stream_reader(reader, read_across_frames=True, closefd=False) as zin:
            with tarfile.open(fileobj=zin, mode="r|", bufsize=CHUNK) as tar:
                for member in tar:
                    dest = _safe_member(member, target)
                    if member.isdir():
                        dest.mkdir(parents=True, exist_ok=True, mode=0o700)
                        continue
                    written += member.size
                    if max_bytes is not None and written > max_bytes:
                        raise ArchiveRejected(f"archive unpacks to more than {max_bytes} bytes; refused")
                    dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
                    with tar.extractfile(member) as data:
                        writer.copy(data, fd)
            reader.drain()
        writer.finish()
    except ArchiveRejected:
        writer.abort()
        shutil.rmtree(target, ignore_errors=True)
        raise
    except (tarfile.TarError, zstandard.ZstdError, EOFError, OSError) as exc:
        writer.abort()
        shutil.rmtree(target, ignore_errors=True)
        raise ArchiveRejected(f"the archive is damaged or truncated ({exc}); nothing was restored") from exc
    if callable(expected_sha256):
        expected_sha256 = expected_sha256()
    if reader.sha.hexdigest() != expected_sha256:
        shutil.rmtree(target, ignore_errors=True)
        raise ArchiveRejected(
            f"the archive's sha256 is {reader.sha.hexdigest()}, not the {expected_sha256} recorded when it was "
            "made: it was changed or damaged in the store; nothing was restored"
        )
    return {"bytes": written, "archive_bytes": reader.size}
