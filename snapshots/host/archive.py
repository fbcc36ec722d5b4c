"""Checkpoint archives: a tar of the checkpoint's files, compressed with zstd, with the sha256 of the result.

Unpacking verifies as it goes and refuses anything but plain files and directories that stay inside the
target: absolute paths, `..`, links, devices and fifos are refused before a byte of them is written, a
truncated stream fails, limits derived from the recorded size (snapshots/host/bounds.py) stop bombs and huge
headers while streaming, and a checksum that does not match removes what was extracted.
"""
import hashlib
import os
import queue
import shutil
import stat
import tarfile
import threading
from pathlib import Path

import zstandard

from ..errors import ArchiveRejected
from . import bounds

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


class _QueueWriter:
    """A file-like sink whose writes become chunks for a streaming upload."""

    def __init__(self, chunks):
        self.chunks = chunks

    def write(self, data):
        if data:
            self.chunks.put(bytes(data))
        return len(data)

    def flush(self):
        pass


def stream(produce):
    """Run `produce(out)` (pack or pack_stream) on a thread and yield what it writes, as it writes it.

    An error in produce is raised by the generator after the bytes written so far, so that the upload breaks
    off and the dashboard marks the archive failed instead of taking a truncated one as complete.
    """
    chunks = queue.Queue(maxsize=16)
    outcome = {}
    done = object()

    def run():
        try:
            outcome["value"] = produce(_QueueWriter(chunks))
        except BaseException as exc:  # handed to the reading side
            outcome["error"] = exc
        finally:
            chunks.put(done)

    thread = threading.Thread(target=run, name="archive-pack", daemon=True)
    thread.start()
    while (chunk := chunks.get()) is not done:
        yield chunk
    thread.join()
    if "error" in outcome:
        raise outcome["error"]


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


def unpack(src, target_dir, *, expected_sha256, limits=None, decrypt=None):
    """Extract a tar+zstd stream into target_dir (which must not exist yet), verifying everything.

    expected_sha256 may be a callable, asked once the whole stream was read (a followed archive's checksum
    is known only when its writer is done); it is checked over the bytes as stored. `decrypt`, when given, wraps
    the stored bytes into their plaintext (snapshots/host/sealed.py), authenticating each chunk before it is
    decompressed. `limits` (bounds.Limits, from the recorded size) are enforced while streaming. On any problem
    the partly written target_dir is removed and ArchiveRejected says why.
    """
    limits = limits or bounds.Limits()
    target = Path(target_dir)
    if target.exists():
        raise ArchiveRejected(f"{target} already exists; refusing to mix an archive into it")
    target.mkdir(parents=True, mode=0o700)
    target = target.resolve()
    reader = HashingReader(src)
    written = entries = 0
    writer = _Writer()
    try:
        plain = decrypt(reader) if decrypt else reader
        dctx = zstandard.ZstdDecompressor()
        with dctx.stream_reader(plain, read_across_frames=True, closefd=False) as zin:
            counted = bounds.CountingReader(zin, limits.max_stream)
            with tarfile.open(fileobj=counted, mode="r|", bufsize=CHUNK,
                              tarinfo=bounds.guarded_tarinfo(limits)) as tar:
                for member in tar:
                    entries += 1
                    bounds.check_member(member, entries, limits)
                    dest = _safe_member(member, target)
                    if member.isdir():
                        dest.mkdir(parents=True, exist_ok=True, mode=0o700)
                        continue
                    written += member.size
                    if written > limits.max_bytes:
                        raise ArchiveRejected(f"archive unpacks to more than {limits.max_bytes} bytes; refused")
                    dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                    try:
                        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
                    except FileExistsError:
                        raise ArchiveRejected(f"archive member {member.name!r} comes twice; refused") from None
                    with tar.extractfile(member) as data:
                        writer.copy(data, fd)
                _end_of_archive(tar.fileobj)
        _nothing_after(plain)
        writer.finish()
    except ArchiveRejected:
        writer.abort()
        shutil.rmtree(target, ignore_errors=True)
        raise
    except (tarfile.TarError, zstandard.ZstdError, EOFError, OSError, ValueError) as exc:
        writer.abort()
        shutil.rmtree(target, ignore_errors=True)
        raise ArchiveRejected(f"the archive is damaged or truncated ({exc}); nothing was restored") from exc
    except BaseException:
        writer.abort()
        shutil.rmtree(target, ignore_errors=True)
        raise
    try:
        if callable(expected_sha256):
            expected_sha256 = expected_sha256()
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    if reader.sha.hexdigest() != expected_sha256:
        shutil.rmtree(target, ignore_errors=True)
        raise ArchiveRejected(
            f"the archive's sha256 is {reader.sha.hexdigest()}, not the {expected_sha256} recorded when it was "
            "made: it was changed or damaged in the store; nothing was restored"
        )
    return {"bytes": written, "entries": entries, "archive_bytes": reader.size}


def _end_of_archive(stream):
    """After tar's end-of-archive block only zero padding may follow, up to the end of the compressed stream
    (`stream` is the tar reader's own, so that what it buffered is looked at too)."""
    while chunk := stream.read(CHUNK):
        if chunk.count(0) != len(chunk):
            raise ArchiveRejected("the archive carries data after its end; refused")


def _nothing_after(plain):
    """The stored stream must end where the compressed data ends (and, sealed, with its final chunk)."""
    extra = 0
    while chunk := plain.read(CHUNK):
        extra += len(chunk)
    if extra:
        raise ArchiveRejected(f"the archive carries {extra} bytes after its end; refused")
