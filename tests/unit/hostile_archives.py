"""A corpus of hostile archives, generated: each case builds the bytes a reader would be handed (as a store that an
attacker could write would hand them), the digest and limits the dashboard recorded, and says how unpacking must
refuse it. Paths that try to escape aim at `outside`, a directory the test watches.

`python -m tests.unit.hostile_archives` prints the table of classes and outcomes (kept in hostile_archives.md).
"""
import hashlib
import io
import os
import re
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

import zstandard

from snapshots.host import bounds, sealed

CHECKPOINT, FILES = "checkpoint", "container files"


@dataclass
class Built:
    data: bytes
    sha256: str
    limits: bounds.Limits
    key: bytes | None = None
    archive_id: str = ""


@dataclass
class Case:
    name: str
    klass: str
    build: object  # (outside: Path) -> Built
    reason: str  # a regular expression the refusal's message must match
    unpacker: str = CHECKPOINT
    notes: dict = field(default_factory=dict)


def entry(name, kind=tarfile.REGTYPE, data=None, **fields):
    info = tarfile.TarInfo(name)
    info.type = kind
    for key, value in fields.items():
        setattr(info, key, value)
    if data is not None:
        info.size = len(data)
    return info, data


def tar_of(*members, fmt=tarfile.PAX_FORMAT):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=fmt) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return raw.getvalue()


def zst(data):
    return zstandard.ZstdCompressor(level=1).compress(data)


def recorded(stored, *, limits=None, unpacked=None):
    """What the dashboard recorded for these stored bytes: their digest, and the limits that follow."""
    return Built(stored, hashlib.sha256(stored).hexdigest(),
                 limits or bounds.Limits.for_archive(len(stored), unpacked))


def plain(*members, **kwargs):
    return lambda outside: recorded(zst(tar_of(*[m(outside) if callable(m) else m for m in members])), **kwargs)


def good_tar(seed=b"pages"):
    return tar_of(entry("pages-1.img", data=seed * 1000), entry("core-1.img", data=b"core" * 100))


def sealed_bytes(tar_bytes, key, archive_id):
    out = io.BytesIO()
    with sealed.Sealer(out, key, archive_id) as sink:
        sink.write(zst(tar_bytes))
    return out.getvalue()


def sealed_case(tamper, *, archive_id="a" * 32, recorded_from="tampered"):
    """A sealed archive of a good checkpoint, changed by `tamper(stored) -> stored` after sealing. The recorded
    digest is of the archive as written (the store was changed afterwards) unless `recorded_from` says otherwise."""
    def build(_outside):
        key = bytes(range(32))
        good = sealed_bytes(good_tar(), key, archive_id)
        stored = tamper(good, key)
        built = recorded(stored if recorded_from == "tampered" else good)
        built.key, built.archive_id = key, archive_id
        return built
    return build


def bomb_after_end(size):
    """A small archive whose compressed stream goes on with `size` bytes of zeros after tar's end."""
    def build(_outside):
        out = io.BytesIO()
        with zstandard.ZstdCompressor(level=1).stream_writer(out, closefd=False) as z:
            z.write(tar_of(entry("a.img", data=b"x")))
            block = bytes(1 << 20)
            for _ in range(size >> 20):
                z.write(block)
        return recorded(out.getvalue())
    return build


def bomb_member(size):
    """A small archive whose one file claims `size` bytes (a header is all it takes: data follow in part only)."""
    def build(_outside):
        info = tarfile.TarInfo("pages-1.img")
        info.size = size
        return recorded(zst(info.tobuf(tarfile.PAX_FORMAT) + bytes(1 << 20)))
    return build


def many_entries(count):
    def build(_outside):
        return recorded(zst(tar_of(*[entry("d", tarfile.DIRTYPE) for _ in range(count)])))
    return build


def pax(name, **headers):
    info = tarfile.TarInfo(name)
    info.pax_headers = headers
    return info, b""


def truncated(cut):
    def build(_outside):
        good = zst(good_tar(os.urandom(64)))
        return Built(cut(good), hashlib.sha256(good).hexdigest(), bounds.Limits.for_archive(len(good)))
    return build


def trailing(extra):
    def build(_outside):
        return recorded(zst(good_tar()) + extra)
    return build


def trailing_in_stream(extra):
    """Data after tar's end inside the compressed stream itself (recorded as written: only the content refuses)."""
    def build(_outside):
        return recorded(zst(good_tar() + extra))
    return build


def substituted(recorded_tar, served_tar):
    """The store serves another archive's bytes in place of the one the dashboard recorded."""
    def build(_outside):
        served = zst(served_tar)
        return Built(served, hashlib.sha256(zst(recorded_tar)).hexdigest(), bounds.Limits.for_archive(len(served)))
    return build


def outside_path(rel):
    return lambda outside: entry(str(outside / rel), data=b"owned")


def outside_link(kind, name="link", rel=""):
    return lambda outside: entry(name, kind, linkname=str(outside / rel) if rel is not None else "")


def flip(offset):
    def tamper(stored, _key):
        data = bytearray(stored)
        data[offset if offset >= 0 else len(data) + offset] ^= 0x40
        return bytes(data)
    return tamper


def cut(n):
    return lambda stored, _key: stored[:n] if n >= 0 else stored[:len(stored) + n]


def swap_chunks(stored, _key):
    head, records = sealed.split_records(stored)
    records[0], records[1] = records[1], records[0]
    return head + b"".join(records)


def drop_final(stored, _key):
    head, records = sealed.split_records(stored)
    return head + b"".join(records[:-1])


def append_copy_of_first(stored, _key):
    head, records = sealed.split_records(stored)
    return head + b"".join(records + [records[0]])


def other_archive_same_key(stored, key):
    """Bytes sealed for another archive (another checkpoint), even under the same key: its id is authenticated."""
    return sealed_bytes(good_tar(), key, "b" * 32)


def other_key(stored, _key):
    """Another archive's bytes (another container's checkpoint, its own key), planted under this name."""
    return sealed_bytes(good_tar(b"other"), bytes(32), "a" * 32)


def replay_older(stored, key):
    """An older archive of the same checkpoint name (made before it was taken again), under its own old key."""
    return sealed_bytes(good_tar(b"older"), bytes(reversed(range(32))), "a" * 32)


def plaintext_planted(stored, _key):
    """A plain (unsealed) archive planted where a sealed one is expected."""
    return zst(good_tar())


CHUNKS = 3 * sealed.CHUNK + 100  # enough plaintext for several records


def sealed_big(tamper):
    def build(_outside):
        key, archive_id = bytes(range(32)), "a" * 32
        payload = tar_of(entry("pages-1.img", data=os.urandom(CHUNKS)))
        good = sealed_bytes(payload, key, archive_id)
        built = recorded(tamper(good, key), limits=bounds.Limits.for_archive(len(good), CHUNKS))
        built.key, built.archive_id = key, archive_id
        return built
    return build


LONG = "n" * 5000

CASES = [
    # traversal
    Case("dot-dot file", "traversal", plain(entry("../outside/pwned", data=b"x")), r"climbs out|outside"),
    Case("dot-dot inside a path", "traversal", plain(entry("a/../../outside/pwned", data=b"x")), r"climbs out"),
    Case("dot-slash then dot-dot", "traversal", plain(entry("./../outside/pwned", data=b"x")), r"climbs out"),
    Case("deep dot-dot", "traversal", plain(entry("a/b/../../../outside/pwned", data=b"x")), r"climbs out"),
    Case("dot-dot directory", "traversal", plain(entry("../outside/d", tarfile.DIRTYPE)), r"climbs out"),
    Case("backslash path", "traversal", plain(entry("..\\outside\\pwned", data=b"x")), r"odd path"),
    Case("dot-dot file", "traversal", plain(entry("../outside/pwned", data=b"x")), r"outside the container's layer",
         FILES),
    Case("dot-dot inside a path", "traversal", plain(entry("a/../../outside/pwned", data=b"x")),
         r"outside the container's layer", FILES),
    # absolute paths
    Case("absolute file", "absolute path", plain(outside_path("pwned")), r"absolute"),
    Case("absolute directory", "absolute path",
         plain(lambda o: entry(str(o / "d"), tarfile.DIRTYPE)), r"absolute"),
    Case("double slash", "absolute path", plain(lambda o: entry("/" + str(o / "pwned"), data=b"x")), r"absolute"),
    Case("absolute name in a PAX header", "absolute path",
         plain(lambda o: entry("innocent", data=b"x", pax_headers={"path": str(o / "pwned")})), r"absolute"),
    Case("absolute file", "absolute path", plain(outside_path("pwned")), r"outside the container's layer", FILES),
    # symbolic links
    Case("symlink out", "symbolic link", plain(outside_link(tarfile.SYMTYPE)), r"is a link"),
    Case("symlink up", "symbolic link", plain(entry("up", tarfile.SYMTYPE, linkname="../..")), r"is a link"),
    Case("symlink inside", "symbolic link", plain(entry("core.img", tarfile.SYMTYPE, linkname="pages-1.img")),
         r"is a link"),
    Case("symlink then write through it", "symbolic link",
         plain(outside_link(tarfile.SYMTYPE), entry("link/pwned", data=b"x")), r"is a link"),
    Case("symlink out then write through it", "symbolic link",
         plain(outside_link(tarfile.SYMTYPE), entry("link/pwned", data=b"x")), r"goes through 'link'", FILES),
    Case("symlink up then write through it", "symbolic link",
         plain(entry("up", tarfile.SYMTYPE, linkname="../../.."), entry("up/outside/pwned", data=b"x")),
         r"goes through 'up'", FILES),
    # hard links
    Case("hard link out", "hard link", plain(outside_link(tarfile.LNKTYPE)), r"is a link"),
    Case("hard link up", "hard link", plain(entry("h", tarfile.LNKTYPE, linkname="../outside/x")), r"is a link"),
    Case("hard link inside", "hard link",
         plain(entry("a.img", data=b"a"), entry("h", tarfile.LNKTYPE, linkname="a.img")), r"is a link"),
    Case("hard link up", "hard link", plain(entry("h", tarfile.LNKTYPE, linkname="../../outside/x")),
         r"outside the container's layer", FILES),
    Case("hard link to an absolute path", "hard link", plain(outside_link(tarfile.LNKTYPE, "h", "x")),
         r"outside the container's layer", FILES),
    Case("hard link to a directory", "hard link",
         plain(entry("d", tarfile.DIRTYPE), entry("h", tarfile.LNKTYPE, linkname="d")),
         r"to something other than a file", FILES),
    # devices and FIFOs
    Case("character device", "device or FIFO", plain(entry("mem", tarfile.CHRTYPE, devmajor=1, devminor=1)),
         r"device or special"),
    Case("block device", "device or FIFO", plain(entry("sda", tarfile.BLKTYPE, devmajor=8, devminor=0)),
         r"device or special"),
    Case("FIFO", "device or FIFO", plain(entry("fifo", tarfile.FIFOTYPE)), r"device or special"),
    Case("character device", "device or FIFO", plain(entry("mem", tarfile.CHRTYPE, devmajor=1, devminor=1)),
         r"device, FIFO", FILES),
    Case("block device", "device or FIFO", plain(entry("sda", tarfile.BLKTYPE, devmajor=8, devminor=0)),
         r"device, FIFO", FILES),
    Case("FIFO", "device or FIFO", plain(entry("fifo", tarfile.FIFOTYPE)), r"device, FIFO", FILES),
    # huge headers
    Case("PAX header of 16 MiB", "huge header", plain(pax("a.img", comment="x" * (16 << 20))),
         r"header of \d+ bytes"),
    Case("PAX global header of 16 MiB", "huge header",
         lambda o: recorded(zst(_global_pax(16 << 20))), r"header of \d+ bytes"),
    Case("GNU long name of 8 MiB", "huge header",
         lambda o: recorded(zst(tar_of(entry("n" * (8 << 20), data=b"x"), fmt=tarfile.GNU_FORMAT))),
         r"header of \d+ bytes"),
    Case("name of 5000 characters", "huge header", plain(entry(LONG, data=b"x")), r"name is too long"),
    Case("path component of 300 characters", "huge header", plain(entry("d/" + "c" * 300, data=b"x")),
         r"name is too long"),
    Case("PAX header of 16 MiB", "huge header", plain(pax("a", comment="x" * (16 << 20))), r"header of \d+ bytes",
         FILES),
    Case("link target of 5000 characters", "huge header", plain(entry("l", tarfile.SYMTYPE, linkname=LONG)),
         r"link target is too long", FILES),
    # decompression bombs
    Case("512 MiB of zeros after the end (16 KiB stored)", "decompression bomb", bomb_after_end(512 << 20),
         r"decompression bomb"),
    Case("one file of 2 GiB (small stored)", "decompression bomb", bomb_member(2 << 30), r"unpacks to more than"),
    Case("a file beyond the declared size", "decompression bomb",
         plain(entry("pages-1.img", data=bytes(20 << 20)), unpacked=1 << 20), r"unpacks to more than"),
    Case("20,000 entries (one directory, again and again)", "decompression bomb", many_entries(20_000),
         r"more than 10000 entries"),
    Case("sparse file", "decompression bomb",
         plain(entry("s.img", data=b"x", pax_headers={"GNU.sparse.major": "1", "GNU.sparse.minor": "0",
                                                       "GNU.sparse.name": "s.img", "GNU.sparse.realsize": "1"})),
         r"sparse"),
    Case("one file of 2 GiB (small stored)", "decompression bomb", bomb_member(2 << 30), r"unpacks to more than",
         FILES),
    # truncation
    Case("cut in half", "truncation", truncated(lambda d: d[:len(d) // 2]), r"damaged or truncated"),
    Case("cut in the first header", "truncation", truncated(lambda d: d[:40]), r"damaged or truncated"),
    Case("last byte missing", "truncation", truncated(lambda d: d[:-1]), r"damaged or truncated|sha256"),
    Case("empty", "truncation", truncated(lambda d: b""), r"damaged or truncated"),
    Case("cut in half", "truncation", truncated(lambda d: d[:len(d) // 2]), r"could not be applied", FILES),
    # trailing garbage
    Case("random bytes after the compressed stream", "trailing garbage", trailing(os.urandom(100)),
         r"damaged or truncated|after its end"),
    Case("a second archive after the first", "trailing garbage", trailing(zst(good_tar(b"more"))),
         r"after its end"),
    Case("data after tar's end", "trailing garbage", trailing_in_stream(b"\0" * 1024 + b"evil" + b"\0" * 508),
         r"after its end"),
    Case("data after tar's end", "trailing garbage", trailing_in_stream(b"\0" * 1024 + b"evil" + b"\0" * 508),
         r"after its end", FILES),
    # wrong hash
    Case("one byte changed in the store", "wrong hash",
         lambda o: (lambda good: Built(good[:-3] + bytes([good[-3] ^ 1]) + good[-2:],
                                       hashlib.sha256(good).hexdigest(), bounds.Limits()))(zst(good_tar())),
         r"damaged or truncated|sha256"),
    Case("recorded digest of other bytes", "wrong hash", substituted(good_tar(b"a"), good_tar(b"b")), r"sha256"),
    Case("recorded digest of other bytes", "wrong hash", substituted(good_tar(b"a"), good_tar(b"b")),
         r"does not match the sha256", FILES),
    # another container, another checkpoint, an old archive replayed (plain)
    Case("another container's archive", "another container or checkpoint",
         substituted(good_tar(b"mine"), good_tar(b"other container")), r"sha256"),
    Case("another checkpoint's archive", "another container or checkpoint",
         substituted(good_tar(b"cp-2"), good_tar(b"cp-1")), r"sha256"),
    Case("an older archive of the same checkpoint", "old archive replayed",
         substituted(good_tar(b"new"), good_tar(b"old")), r"sha256"),
    # duplicates
    Case("the same file twice", "overwrite",
         plain(entry("a.img", data=b"1"), entry("a.img", data=b"2")), r"comes twice"),
    # sealed (encrypted) archives: refused by their authentication before a byte is decompressed
    Case("sealed: one byte changed in a chunk", "wrong hash", sealed_case(flip(-40)), r"authentication"),
    Case("sealed: one byte changed, recorded digest matches", "wrong hash",
         sealed_case(flip(-40), recorded_from="tampered"), r"authentication"),
    Case("sealed: header changed", "wrong hash", sealed_case(flip(3)), r"not a sealed archive|authentication"),
    Case("sealed: chunks reordered", "truncation", sealed_big(swap_chunks), r"authentication"),
    Case("sealed: final chunk dropped", "truncation", sealed_big(drop_final), r"ends before its final chunk"),
    Case("sealed: cut inside a chunk", "truncation", sealed_case(cut(-7)), r"authentication|ends before"),
    Case("sealed: a chunk appended after the final one", "trailing garbage", sealed_big(append_copy_of_first),
         r"after its final chunk|authentication"),
    Case("sealed: bytes after the final chunk", "trailing garbage", sealed_case(lambda s, k: s + b"x" * 20),
         r"after its final chunk|authentication"),
    Case("sealed: another checkpoint's archive, same key", "another container or checkpoint",
         sealed_case(other_archive_same_key), r"authentication"),
    Case("sealed: another container's archive", "another container or checkpoint", sealed_case(other_key),
         r"authentication"),
    Case("sealed: an older archive of the same checkpoint", "old archive replayed", sealed_case(replay_older),
         r"authentication"),
    Case("sealed: a plain archive planted", "wrong hash", sealed_case(plaintext_planted),
         r"not a sealed archive"),
    Case("sealed: chunks reordered", "truncation", sealed_big(swap_chunks), r"authentication", FILES),
]


def _global_pax(size):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT, pax_headers={"comment": "x" * size}) as tar:
        info, data = entry("a.img", data=b"x")
        tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def run(case, tmp):
    """Unpack a case as a reader host would; returns (refusal message or None, what was left behind)."""
    from snapshots.errors import ArchiveRejected
    from snapshots.host import archive, rootfs

    tmp = Path(tmp)
    outside = tmp / "outside"
    outside.mkdir()
    built = case.build(outside)
    decrypt = (lambda raw: sealed.Opener(raw, built.key, built.archive_id)) if built.key else None
    target = tmp / "target"
    try:
        if case.unpacker == CHECKPOINT:
            archive.unpack(io.BytesIO(built.data), target, expected_sha256=built.sha256, limits=built.limits,
                           decrypt=decrypt)
        else:
            target.mkdir()
            rootfs.unpack(io.BytesIO(built.data), target, expected_sha256=built.sha256, limits=built.limits,
                          decrypt=decrypt)
        refusal = None
    except ArchiveRejected as exc:
        refusal = exc.message
    left = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p != outside and p != target)
    if case.unpacker == FILES:
        left = [p for p in left if p != "target"]
    return refusal, left, len(built.data)


def _stable(message):
    message = re.sub(r"[0-9a-f]{64}", "<sha256>", message)
    return re.sub(r"'/[^']*/outside/", "'<outside>/", message)


def table(results):
    lines = ["| class | case | unpacker | stored bytes | outcome |", "|---|---|---|---:|---|"]
    for case, (refusal, left, size) in results:
        outcome = f"refused: {_stable(refusal)}" if refusal else "ACCEPTED"
        if left:
            outcome += f" (left behind: {', '.join(left)})"
        lines.append(f"| {case.klass} | {case.name} | {case.unpacker} | {size} | {outcome.replace('|', '/')} |")
    classes = sorted({c.klass for c in CASES})
    return "\n".join([f"Hostile archive corpus: {len(CASES)} archives in {len(classes)} classes "
                      f"({', '.join(classes)}).", ""] + lines) + "\n"


if __name__ == "__main__":
    import tempfile

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
    django.setup()
    results = []
    for case in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            results.append((case, run(case, tmp)))
    print(table(results), end="")
