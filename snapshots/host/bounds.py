"""Limits on what an archive may unpack to, derived from the size the dashboard recorded, and enforced while the
archive streams: bytes out of the decompressor, number of entries, size of a header (PAX or GNU long name) before
it is read into memory, and length of names. A decompression bomb or a header of a gigabyte stops at its limit,
not after it was written or buffered.
"""
import tarfile
from dataclasses import dataclass

from ..errors import ArchiveRejected

# How far an archive may grow when unpacked: zstd at level 1 packs CRIU's memory pages a few times at most, a
# container's files a little more; the floor leaves room for small archives of sparse or repetitive data.
RATIO = 50
FLOOR = 256 << 20
DECLARED_SLACK = 16 << 20  # over the unpacked size the writer declared (files of a paused container may grow)
CEILING = 64 << 30  # when the size is not known yet (an archive still being written)
ENTRIES_FLOOR = 10_000
ENTRIES_CEILING = 1_000_000
HEADER_MAX = 64 << 10  # a PAX or GNU long-name header: names and a few attributes, never more
NAME_MAX = 4096
PART_MAX = 255
TAR_OVERHEAD = 1024  # header and padding of one entry, counted against the byte limit


@dataclass(frozen=True)
class Limits:
    max_bytes: int = CEILING
    max_entries: int = ENTRIES_CEILING
    max_header: int = HEADER_MAX

    @classmethod
    def for_archive(cls, size=None, unpacked=None):
        """The limits of an archive as the dashboard recorded it: `size` stored bytes (None while it is still being
        written) and `unpacked`, the bytes of files its writer declared before packing (None when not declared).
        The declared size bounds the bytes closely; else the stored size does, by a ratio; else the ceilings do."""
        if unpacked is not None:
            max_bytes = min(CEILING, int(unpacked * 1.05) + DECLARED_SLACK)
        elif size is not None:
            max_bytes = min(CEILING, max(FLOOR, size * RATIO))
        else:
            max_bytes = CEILING
        max_entries = ENTRIES_CEILING if size is None else min(ENTRIES_CEILING, max(ENTRIES_FLOOR, size // 64))
        return cls(max_bytes=max_bytes, max_entries=max_entries)

    @property
    def max_stream(self):
        """Bytes out of the decompressor: the files' data, plus a header and padding per entry, plus tar's end."""
        return self.max_bytes + self.max_entries * TAR_OVERHEAD + (1 << 20)

    def describe(self):
        return f"{self.max_bytes} bytes, {self.max_entries} entries, headers of {self.max_header} bytes"


class CountingReader:
    """Bytes out of the decompressor, counted; past the limit the stream is refused (a decompression bomb)."""

    def __init__(self, raw, limit):
        self.raw = raw
        self.limit = limit
        self.count = 0

    def read(self, n=-1):
        data = self.raw.read(n)
        self.count += len(data)
        if self.count > self.limit:
            raise ArchiveRejected(f"the archive unpacks to more than {self.limit} bytes (a decompression bomb?); "
                                  "refused")
        return data


def guarded_tarinfo(limits):
    """A TarInfo class that refuses an oversized extended header before tarfile reads it into memory."""

    class Guarded(tarfile.TarInfo):
        def _proc_member(self, tar):
            if self.type in (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE, tarfile.GNUTYPE_LONGNAME,
                             tarfile.GNUTYPE_LONGLINK) and self.size > limits.max_header:
                raise ArchiveRejected(f"the archive has a header of {self.size} bytes (at most {limits.max_header} "
                                      "are accepted); refused")
            if self.type == tarfile.GNUTYPE_SPARSE:
                _sparse(self.name)
            return super()._proc_member(tar)

        def _proc_gnusparse_00(self, *args):
            _sparse(self.name)

        _proc_gnusparse_01 = _proc_gnusparse_10 = _proc_gnusparse_00

    return Guarded


def _sparse(name):
    raise ArchiveRejected(f"archive member {name[:200]!r} is a sparse file; refused")


def check_member(member, entries, limits):
    """Refuse, before its data is read, a member beyond the entry limit, with an overlong name, or sparse."""
    if entries > limits.max_entries:
        raise ArchiveRejected(f"the archive has more than {limits.max_entries} entries; refused")
    for label, name in (("name", member.name), ("link target", member.linkname)):
        if len(name) > NAME_MAX or any(len(part) > PART_MAX for part in name.split("/")):
            raise ArchiveRejected(f"an archive member's {label} is too long ({len(name)} characters: "
                                  f"{name[:80]!r}...); refused")
    if member.issparse() or any(k.startswith("GNU.sparse") for k in member.pax_headers):
        raise ArchiveRejected(f"archive member {member.name[:200]!r} is a sparse file; refused")
