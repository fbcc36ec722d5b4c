"""A container's own files travel through an archive that can only write inside the new container's layer."""
import io
import os
import stat
import tarfile

import pytest
import zstandard

from snapshots.errors import ArchiveRejected
from snapshots.host import bounds, rootfs

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="whiteouts and ownership need root")


@pytest.fixture
def layer(tmp_path):
    """A writable layer as overlay2 keeps it: a changed file, a new directory, a link, a deletion, an opaque dir."""
    upper = tmp_path / "upper"
    (upper / "data" / "appendonlydir").mkdir(parents=True)
    (upper / "data" / "appendonlydir" / "log.aof").write_bytes(b"SET a 1\n" * 1000)
    os.chown(upper / "data", 999, 999)
    (upper / "etc").mkdir()
    (upper / "etc" / "motd").write_text("hello")
    os.symlink("/data/appendonlydir/log.aof", upper / "current")
    os.link(upper / "etc" / "motd", upper / "etc" / "motd.hard")
    os.mknod(upper / "etc" / "deleted.conf", stat.S_IFCHR | 0o000, os.makedev(0, 0))
    (upper / "replaced").mkdir()
    os.setxattr(upper / "replaced", rootfs.OPAQUE, b"y")
    return upper


def packed(upper):
    out = io.BytesIO()
    sha, _size, entries = rootfs.pack(upper, out)
    out.seek(0)
    return out, sha, entries


def test_a_layer_is_applied_whole_to_a_new_containers_layer(layer, tmp_path):
    archive, sha, entries = packed(layer)
    target = tmp_path / "new-upper"
    target.mkdir()
    done = rootfs.unpack(archive, target, expected_sha256=sha, limits=bounds.Limits(max_bytes=10 << 20))
    assert done["entries"] == entries == 9
    assert (target / "data" / "appendonlydir" / "log.aof").read_bytes() == b"SET a 1\n" * 1000
    assert (target / "data").stat().st_uid == 999
    assert os.readlink(target / "current") == "/data/appendonlydir/log.aof", "links are kept as links"
    assert (target / "etc" / "motd").stat().st_ino == (target / "etc" / "motd.hard").stat().st_ino
    whiteout = os.lstat(target / "etc" / "deleted.conf")
    assert stat.S_ISCHR(whiteout.st_mode) and whiteout.st_rdev == 0
    assert os.getxattr(target / "replaced", rootfs.OPAQUE) == b"y"


def hostile(*members):
    """A zstd-compressed tar of (TarInfo, bytes or None) pairs, as an attacker would write it."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    compressed = zstandard.ZstdCompressor().compress(raw.getvalue())
    import hashlib

    return io.BytesIO(compressed), hashlib.sha256(compressed).hexdigest()


def entry(name, kind=tarfile.REGTYPE, **fields):
    info = tarfile.TarInfo(name)
    info.type = kind
    for key, value in fields.items():
        setattr(info, key, value)
    return info


@pytest.mark.parametrize("members,reason", [
    ([(entry("../escape"), b"x")], "outside the container's layer"),
    ([(entry("/etc/passwd"), b"x")], "outside the container's layer"),
    ([(entry("a/../../escape"), b"x")], "outside the container's layer"),
    ([(entry("link", tarfile.SYMTYPE, linkname="/etc"), None), (entry("link/passwd"), b"owned")],
     "goes through 'link', which is not a directory"),
    ([(entry("dev", tarfile.CHRTYPE, devmajor=1, devminor=3), None)], "a device, FIFO or other special file"),
    ([(entry("disk", tarfile.BLKTYPE, devmajor=8, devminor=0), None)], "a device, FIFO or other special file"),
    ([(entry("fifo", tarfile.FIFOTYPE), None)], "a device, FIFO or other special file"),
    ([(entry("hard", tarfile.LNKTYPE, linkname="../../etc/shadow"), None)], "outside the container's layer"),
    ([(entry("big"), b"y" * 2048)], "unpacks to more than 1024 bytes"),
])
def test_a_hostile_archive_writes_nothing_outside_and_leaves_the_layer_empty(tmp_path, members, reason):
    outside = tmp_path / "outside"
    outside.mkdir()
    target = tmp_path / "new-upper"
    target.mkdir()
    archive, sha = hostile(*members)
    with pytest.raises(ArchiveRejected, match=reason):
        rootfs.unpack(archive, target, expected_sha256=sha, limits=bounds.Limits(max_bytes=1024))
    assert list(target.iterdir()) == [] and list(outside.iterdir()) == []


def test_an_archive_that_does_not_match_the_recorded_digest_is_undone(layer, tmp_path):
    archive, _sha, _ = packed(layer)
    target = tmp_path / "new-upper"
    target.mkdir()
    with pytest.raises(ArchiveRejected, match="does not match the sha256"):
        rootfs.unpack(archive, target, expected_sha256="0" * 64, limits=bounds.Limits(max_bytes=10 << 20))
    assert list(target.iterdir()) == []


def test_only_the_engines_own_overlay2_layer_is_accepted(tmp_path):
    root = tmp_path / "docker"
    diff = root / "overlay2" / "abc" / "diff"
    diff.mkdir(parents=True)
    good = {"GraphDriver": {"Name": "overlay2", "Data": {"UpperDir": str(diff)}}}
    assert rootfs.upper_dir(good, root) == diff
    with pytest.raises(rootfs.NotTransferable, match="not under"):
        rootfs.upper_dir({"GraphDriver": {"Name": "overlay2", "Data": {"UpperDir": "/etc"}}}, root)
    with pytest.raises(rootfs.NotTransferable, match="is not overlay2"):
        rootfs.upper_dir({"GraphDriver": {"Name": "vfs", "Data": {}}}, root)
