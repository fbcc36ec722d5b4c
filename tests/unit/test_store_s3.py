"""The checkpoint store on S3-compatible object storage (moto stands in for the object store here)."""
import io

import boto3
import pytest
from moto import mock_aws

from snapshots import archive, store


@pytest.fixture
def s3_store(settings, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="cryo-test")
        settings.STORAGES = {**settings.STORAGES, "checkpoints": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {"bucket_name": "cryo-test", "access_key": "k", "secret_key": "s", "location": "cryo"},
        }}
        from django.core.files.storage import storages

        storages._storages.pop("checkpoints", None)
        yield store.storage()
        storages._storages.pop("checkpoints", None)


def test_an_archive_written_to_object_storage_unpacks_verified(s3_store, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "pages-1.img").write_bytes(b"\x07" * 200_000)
    name = store.checkpoint_archive_name("h1", "a" * 64, "c1", "0" * 32)
    with store.open_write(name) as out:
        sha, size = archive.pack(src, out)
    assert store.exists(name) and not store.can_follow(), "object storage is read only once written"
    with store.open_read(name) as raw:
        archive.unpack(raw, tmp_path / "dest", expected_sha256=sha)
    assert (tmp_path / "dest" / "pages-1.img").read_bytes() == b"\x07" * 200_000
    store.delete(name)
    assert not store.exists(name)


def test_a_changed_object_is_refused(s3_store, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "core.img").write_bytes(b"core" * 1000)
    name = "checkpoints/h1/x/c1.tar.zst"
    with store.open_write(name) as out:
        sha, _ = archive.pack(src, out)
    s3_store.delete(name)
    s3_store.save(name, io.BytesIO(b"not an archive at all"))
    with store.open_read(name) as raw, pytest.raises(archive.ArchiveRejected):
        archive.unpack(raw, tmp_path / "dest", expected_sha256=sha)
