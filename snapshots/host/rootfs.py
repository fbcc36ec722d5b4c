"""A container's own files (its writable layer) travel with its checkpoint to a new container.

Docker's checkpoint carries memory and processes, not the files the container wrote into its own layer (an
append-only log, a database file): a process restored elsewhere finds them missing. With the overlay2 storage
driver (Docker's default) that layer is one directory, the container's "upper" directory: files added or changed,
whiteouts (character devices 0:0) for deletions, and an "opaque" mark on directories that replaced the image's.

`pack` archives it (tar, zstd) while the container is stopped or paused; `unpack` applies such an archive to a new,
created but not started container's upper directory before the restore. Unpacking never follows a link on the host:
every path is walked one component at a time from the upper directory with O_NOFOLLOW, so an archive cannot write
outside it (a symbolic link inside the container's files points inside the container, and is never followed here).
Only plain files, directories, symbolic links, hard links within the archive and whiteouts are accepted.
"""
import os
import shutil
import stat
import tarfile
from pathlib import Path

import zstandard

from ..errors import ArchiveRejected, CryoError
from . import archive, bounds

OPAQUE = "trusted.overlay.opaque"
PAX_OPAQUE = f"SCHILY.xattr.{OPAQUE}"
CHUNK = 1 << 20


class NotTransferable(CryoError):
    """The container's files cannot travel (another storage driver, an upper directory outside the engine's)."""


def upper_dir(info, engine_root):
    """The container's writable layer, from its inspect data, proven to be the engine's own overlay2 directory."""
    driver = info.get("GraphDriver") or {}
    if driver.get("Name") != "overlay2":
        raise NotTransferable(f"the storage driver {driver.get('Name')!r} is not overlay2: the container's own files "
                              "cannot travel with its checkpoint")
    upper = (driver.get("Data") or {}).get("UpperDir") or ""
    root = Path(os.path.realpath(Path(engine_root) / "overlay2"))
    path = Path(os.path.realpath(upper)) if upper else None
    if path is None or root not in path.parents or path.name != "diff":
        raise NotTransferable(f"the container's writable layer {upper!r} is not under {root}; refused")
    return path


def size(upper):
    """Bytes of the files in a writable layer (what a move carries)."""
    total = 0
    for folder, _dirs, files in os.walk(upper):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                pass
    return total


def pack(upper, out):
    """Write the writable layer as tar+zstd to `out`; returns (sha256, compressed bytes, entries)."""
    writer = archive.HashingWriter(out)
    entries = 0
    compressor = zstandard.ZstdCompressor(level=archive.ZSTD_LEVEL, threads=-1)
    with compressor.stream_writer(writer, closefd=False) as zout:
        with tarfile.open(fileobj=zout, mode="w|", format=tarfile.PAX_FORMAT, bufsize=CHUNK) as tar:
            for folder, dirs, files in os.walk(upper):
                dirs.sort()
                for name in sorted(dirs) + sorted(files):
                    path = os.path.join(folder, name)
                    info = _member(tar, path, os.path.relpath(path, upper))
                    if info is None:
                        continue
                    entries += 1
                    if info.isreg():
                        with open(path, "rb") as fh:
                            tar.addfile(info, fh)
                    else:
                        tar.addfile(info)
    writer.flush()
    return writer.sha.hexdigest(), writer.size, entries


def _member(tar, path, name):
    mode = os.lstat(path).st_mode
    if stat.S_ISCHR(mode) and os.lstat(path).st_rdev != 0:
        return None  # a real device node: not a container's file to carry
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode) or stat.S_ISCHR(mode)):
        return None  # sockets and FIFOs are recreated by the processes (or by CRIU), not copied
    info = tar.gettarinfo(path, arcname=name)
    info.uname = info.gname = ""
    if stat.S_ISDIR(mode):
        try:
            if os.getxattr(path, OPAQUE, follow_symlinks=False) == b"y":
                info.pax_headers[PAX_OPAQUE] = "y"
        except OSError:
            pass
    return info


def unpack(src, upper, *, expected_sha256, limits, decrypt=None):
    """Apply an archive of a writable layer to the (empty) upper directory of a new container, verified.

    `expected_sha256` may be a callable (the digest is known once the stream ended); `limits` (bounds.Limits) are
    enforced while streaming; `decrypt` wraps the stored bytes into their plaintext, as in archive.unpack. On any
    refusal what was written is removed again, so the new container is as it was created.
    """
    upper = Path(upper)
    root = os.open(upper, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    written, entries, made = 0, 0, []
    reader = archive.HashingReader(src)
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
                    written += member.size if member.isreg() else 0
                    if written > limits.max_bytes:
                        raise ArchiveRejected(f"the files' archive unpacks to more than {limits.max_bytes} bytes; "
                                              "refused")
                    made.append(_apply(root, member, tar))
                archive._end_of_archive(tar.fileobj)
        archive._nothing_after(plain)
        digest = expected_sha256() if callable(expected_sha256) else expected_sha256
        if reader.sha.hexdigest() != digest:
            raise ArchiveRejected("the files' archive does not match the sha256 the dashboard recorded; refused")
    except ArchiveRejected:
        _undo(upper)
        raise
    except (tarfile.TarError, zstandard.ZstdError, EOFError, OSError, ValueError) as exc:
        _undo(upper)
        raise ArchiveRejected(f"the container's files could not be applied ({exc}); nothing was restored") from exc
    except BaseException:
        _undo(upper)
        raise
    finally:
        os.close(root)
    return {"bytes": written, "entries": entries, "archive_bytes": reader.size}


def _parts(name):
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if not parts or name.startswith("/") or ".." in parts or any("\0" in p for p in parts):
        raise ArchiveRejected(f"the files' archive names {name[:200]!r}, outside the container's layer; refused")
    return parts


def _walk(root, parts, *, create):
    """A descriptor of the directory parts[:-1] under root, never following a link."""
    fd = os.dup(root)
    try:
        for part in parts[:-1]:
            try:
                nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                os.mkdir(part, 0o755, dir_fd=fd)
                nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            except OSError as exc:
                raise ArchiveRejected(f"{'/'.join(parts)!r} goes through {part!r}, which is not a directory; "
                                      "refused") from exc
            os.close(fd)
            fd = nxt
        return fd
    except BaseException:
        os.close(fd)
        raise


def _clear(parent, leaf):
    try:
        st = os.stat(leaf, dir_fd=parent, follow_symlinks=False)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        raise ArchiveRejected(f"{leaf!r} is already a directory; refused")
    os.unlink(leaf, dir_fd=parent)


def _apply(root, member, tar):
    parts = _parts(member.name)
    leaf = parts[-1]
    parent = _walk(root, parts, create=True)
    try:
        if member.isdir():
            try:
                os.mkdir(leaf, 0o700, dir_fd=parent)
            except FileExistsError:
                pass
            fd = os.open(leaf, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=parent)
            try:
                if member.pax_headers.get(PAX_OPAQUE) == "y":
                    os.setxattr(fd, OPAQUE, b"y")
                os.fchown(fd, member.uid, member.gid)
                os.fchmod(fd, member.mode & 0o7777)
            finally:
                os.close(fd)
        elif member.isreg():
            _clear(parent, leaf)
            fd = os.open(leaf, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=parent)
            try:
                data = tar.extractfile(member)
                while chunk := data.read(CHUNK):
                    os.write(fd, chunk)
                os.fchown(fd, member.uid, member.gid)
                os.fchmod(fd, member.mode & 0o7777)
            finally:
                os.close(fd)
        elif member.issym():
            _clear(parent, leaf)
            os.symlink(member.linkname, leaf, dir_fd=parent)
            os.chown(leaf, member.uid, member.gid, dir_fd=parent, follow_symlinks=False)
        elif member.islnk():
            source = _parts(member.linkname)
            source_parent = _walk(root, source, create=False)
            try:
                if not stat.S_ISREG(os.stat(source[-1], dir_fd=source_parent, follow_symlinks=False).st_mode):
                    raise ArchiveRejected(f"hard link {member.name!r} to something other than a file; refused")
                _clear(parent, leaf)
                os.link(source[-1], leaf, src_dir_fd=source_parent, dst_dir_fd=parent, follow_symlinks=False)
            finally:
                os.close(source_parent)
        elif member.ischr() and member.devmajor == 0 and member.devminor == 0:
            _clear(parent, leaf)  # a whiteout: the image's file of that name is deleted in this container
            os.mknod(leaf, stat.S_IFCHR | (member.mode & 0o777), os.makedev(0, 0), dir_fd=parent)
        else:
            raise ArchiveRejected(f"{member.name!r} is a device, FIFO or other special file; refused")
        if not member.issym():
            os.utime(leaf, ns=(int(member.mtime * 1e9),) * 2, dir_fd=parent, follow_symlinks=False)
    finally:
        os.close(parent)
    return member.name


def _undo(upper):
    """Back to an empty layer (the new container was just created: its layer held nothing of its own)."""
    for entry in list(os.scandir(upper)):
        path = os.path.join(upper, entry.name)
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.unlink(path)
            except OSError:
                pass


class StreamReader:
    """`read(n)` over an iterator of byte chunks (an archive being packed, for a copy on the same host)."""

    def __init__(self, chunks):
        self.chunks = iter(chunks)
        self.pending = b""

    def read(self, n=-1):
        while n < 0 or len(self.pending) < n:
            chunk = next(self.chunks, None)
            if chunk is None:
                break
            self.pending += chunk
        if n < 0:
            out, self.pending = self.pending, b""
        else:
            out, self.pending = self.pending[:n], self.pending[n:]
        return out


def copy(upper_from, upper_to):
    """The same host: a new container gets the files of another's layer (through the same checks)."""
    facts = {}

    def produce(out):
        facts["sha256"], facts["size"], _entries = pack(upper_from, out)

    reader = StreamReader(archive.stream(produce))
    return unpack(reader, upper_to, expected_sha256=lambda: facts["sha256"],
                  limits=bounds.Limits(max_bytes=10**13))
