"""Checkpoint archives are verified before anything is restored from them; hostile ones are refused."""
import hashlib
import io
import os
import tarfile

import pytest
import zstandard

from snapshots.host.archive import pack, unpack
from snapshots.errors import ArchiveRejected


def sealed(tar_bytes):
    data = zstandard.ZstdCompressor().compress(tar_bytes)
    return data, hashlib.sha256(data).hexdigest()


def tar_with(*members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for info, payload in members:
            tar.addfile(info, io.BytesIO(payload) if payload is not None else None)
    return buf.getvalue()


def member(name, payload=b"x", kind=tarfile.REGTYPE, linkname=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.size = len(payload) if kind == tarfile.REGTYPE else 0
    return info, payload if kind == tarfile.REGTYPE else None


@pytest.fixture
def checkpoint_dir(tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "pages-1.img").write_bytes(os.urandom(300_000))
    (src / "sub" / "core-1.img").write_bytes(b"core" * 1000)
    return src


def test_a_packed_checkpoint_unpacks_byte_for_byte(tmp_path, checkpoint_dir):
    out = io.BytesIO()
    sha, size = pack(checkpoint_dir, out)
    assert size == len(out.getvalue()) and sha == hashlib.sha256(out.getvalue()).hexdigest()
    out.seek(0)
    unpack(out, tmp_path / "dest", expected_sha256=sha)
    for rel in ("pages-1.img", "sub/core-1.img"):
        assert (tmp_path / "dest" / rel).read_bytes() == (checkpoint_dir / rel).read_bytes()


def test_a_tampered_archive_is_refused_and_nothing_is_left_behind(tmp_path, checkpoint_dir):
    out = io.BytesIO()
    sha, _ = pack(checkpoint_dir, out)
    data = bytearray(out.getvalue())
    data[-100] ^= 0x01
    with pytest.raises(ArchiveRejected):
        unpack(io.BytesIO(bytes(data)), tmp_path / "dest", expected_sha256=sha)
    assert not (tmp_path / "dest").exists()


def test_a_truncated_archive_is_refused(tmp_path, checkpoint_dir):
    out = io.BytesIO()
    sha, _ = pack(checkpoint_dir, out)
    with pytest.raises(ArchiveRejected, match="damaged or truncated|sha256"):
        unpack(io.BytesIO(out.getvalue()[: len(out.getvalue()) // 2]), tmp_path / "dest", expected_sha256=sha)
    assert not (tmp_path / "dest").exists()


@pytest.mark.parametrize("hostile,why", [
    (member("/etc/cryo-owned"), "absolute"),
    (member("../../outside"), "'..'"),
    (member("ok/../../outside"), "'..'"),
    (member("link", kind=tarfile.SYMTYPE, linkname="/etc/passwd"), "a link"),
    (member("hard", kind=tarfile.LNKTYPE, linkname="pages-1.img"), "a link"),
    (member("dev", kind=tarfile.CHRTYPE), "a device"),
    (member("fifo", kind=tarfile.FIFOTYPE), "a device or special file"),
])
def test_hostile_members_are_refused_before_anything_is_written_outside(tmp_path, hostile, why):
    data, sha = sealed(tar_with(member("pages-1.img"), hostile))
    with pytest.raises(ArchiveRejected, match=why):
        unpack(io.BytesIO(data), tmp_path / "box" / "dest", expected_sha256=sha)
    assert not (tmp_path / "box" / "dest").exists()
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["box"], "nothing escaped the target"


def test_an_existing_target_is_never_mixed_into(tmp_path, checkpoint_dir):
    out = io.BytesIO()
    sha, _ = pack(checkpoint_dir, out)
    (tmp_path / "dest").mkdir()
    out.seek(0)
    with pytest.raises(ArchiveRejected, match="already exists"):
        unpack(out, tmp_path / "dest", expected_sha256=sha)
