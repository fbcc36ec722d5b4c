"""Podman's checkpoint exports as the Podman adapter unpacks and stages them (edges, on files made here)."""
import io
import os
import tarfile

import pytest

from snapshots.errors import ArchiveRejected, EngineError
from snapshots.host.podman_engine import stage_for_restore, tar_directory, unpack_export, with_criu_log


def export_tar(members):
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        for name, content in members:
            info = tarfile.TarInfo(name)
            if content is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif isinstance(content, tuple):  # ("link", target)
                info.type, info.linkname = tarfile.SYMTYPE, content[1]
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    data.seek(0)
    return data


def test_an_export_unpacks_into_a_new_directory_with_its_files(tmp_path):
    unpack_export(export_tar([("checkpoint", None), ("checkpoint/pages-1.img", b"pages"),
                              ("config.dump", b"{}"), ("rootfs-diff.tar", b"diff")]), tmp_path / "one")
    assert (tmp_path / "one/checkpoint/pages-1.img").read_bytes() == b"pages"
    assert sorted(os.listdir(tmp_path / "one")) == ["checkpoint", "config.dump", "rootfs-diff.tar"]


@pytest.mark.parametrize(
    "member", [("../escape", b"x"), ("/etc/cryo-owned", b"x"), ("checkpoint/parent", ("link", "/"))])
def test_an_export_that_climbs_out_or_links_is_refused_before_writing_it(tmp_path, member):
    with pytest.raises(ArchiveRejected):
        unpack_export(export_tar([("config.dump", b"{}"), member]), tmp_path / "one")
    assert not (tmp_path / "escape").exists() and not (tmp_path / "one/checkpoint/parent").exists()


def test_an_export_that_breaks_off_is_an_engine_error(tmp_path):
    whole = export_tar([("checkpoint/pages-1.img", b"p" * 4096)]).getvalue()
    with pytest.raises(EngineError, match="broke off"):
        unpack_export(io.BytesIO(whole[:1500]), tmp_path / "one")


def test_a_directory_goes_to_podman_as_a_tar_of_its_plain_files(tmp_path):
    (tmp_path / "src/checkpoint").mkdir(parents=True)
    (tmp_path / "src/checkpoint/core-1.img").write_bytes(b"core")
    (tmp_path / "src/config.dump").write_bytes(b"{}")
    os.symlink("/etc/passwd", tmp_path / "src/stray-link")
    out = io.BytesIO()
    tar_directory(tmp_path / "src", out)
    out.seek(0)
    with tarfile.open(fileobj=out) as tar:
        assert sorted(tar.getnames()) == ["checkpoint", "checkpoint/core-1.img", "config.dump"]


def test_staging_links_the_checkpoint_into_the_bundle_and_drops_what_an_earlier_one_left(tmp_path):
    named, bundle = tmp_path / "named", tmp_path / "bundle"
    (named / "checkpoint").mkdir(parents=True)
    (named / "checkpoint/pages-1.img").write_bytes(b"new pages")
    (named / "network.status").write_bytes(b"{}")
    (named / "config.dump").write_bytes(b"{}")
    (bundle / "checkpoint").mkdir(parents=True)
    (bundle / "checkpoint/pages-2.img").write_bytes(b"stale")
    (bundle / "rootfs-diff.tar").write_bytes(b"stale diff")
    (bundle / "config.json").write_bytes(b"podman's own")
    stage_for_restore(named, bundle)
    assert sorted(os.listdir(bundle / "checkpoint")) == ["pages-1.img"]
    assert os.stat(bundle / "checkpoint/pages-1.img").st_ino == os.stat(named / "checkpoint/pages-1.img").st_ino
    assert not (bundle / "rootfs-diff.tar").exists() and not (bundle / "config.dump").exists()
    assert (bundle / "config.json").read_bytes() == b"podman's own" and (bundle / "network.status").exists()
    (bundle / "checkpoint/pages-1.img").unlink()  # Podman removes its copy after a restore: Cryo's stays
    assert (named / "checkpoint/pages-1.img").read_bytes() == b"new pages"


def test_criu_s_own_error_lines_go_with_a_failed_restore(tmp_path):
    log = tmp_path / "restore.log"
    log.write_text("(00.01) info\n(00.02) Error (criu/files-reg.c:2001): Can't open file tmp/held\n")
    assert "Can't open file tmp/held" in with_criu_log("runc restore failed", log)
    assert with_criu_log("runc restore failed", tmp_path / "gone.log") == "runc restore failed"
