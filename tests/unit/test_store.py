"""The dashboard's checkpoint store: uploads are hashed as they arrive, followed while they are written, written
once, and removed whole; on S3 (moto stands in for the object store) kept archives go on to the bucket."""
import hashlib
import io
import threading
import time

import boto3
import pytest
from moto import mock_aws

from snapshots import store
from snapshots.errors import ArchiveRejected
from snapshots.models import Archive, Job

from .fakes import online_host

pytestmark = pytest.mark.django_db(transaction=True)


class Chunks:
    """`read(n)` over bytes delivered slowly, as a host's upload arrives."""

    def __init__(self, data, *, pause=0.0, fail_after=None):
        self.data, self.pause, self.fail_after, self.sent = data, pause, fail_after, 0

    def read(self, n):
        if self.fail_after is not None and self.sent >= self.fail_after:
            raise OSError("the connection was reset")
        time.sleep(self.pause)
        chunk = self.data[self.sent:self.sent + min(n, 4096)]
        self.sent += len(chunk)
        return chunk


@pytest.fixture
def upload(people):
    host = online_host("h1")
    job = Job.objects.create(kind="migrate", host=host, step_host=host, requested_by_name="ada")
    return store.new_upload(job, Archive.Kind.CHECKPOINT, keep=False)


def test_a_reader_follows_an_upload_while_it_arrives_and_gets_every_byte(upload):
    data = bytes(range(256)) * 2000
    writer = threading.Thread(target=store.receive, args=(upload, Chunks(data, pause=0.0005).read))
    writer.start()
    got = b"".join(store.follow(upload))
    writer.join()
    upload.refresh_from_db()
    assert got == data
    assert (upload.state, upload.size, upload.sha256) == ("complete", len(data), hashlib.sha256(data).hexdigest())
    assert (store.spool_path(upload).stat().st_mode & 0o777) == 0o600


def test_an_upload_that_breaks_off_is_marked_failed_leaves_nothing_and_stops_its_reader(upload):
    def write():
        with pytest.raises(OSError):
            store.receive(upload, Chunks(b"x" * 100_000, pause=0.001, fail_after=40_000).read)

    writer = threading.Thread(target=write)
    writer.start()
    with pytest.raises(ArchiveRejected, match="broke off after 40960 bytes"):
        b"".join(store.follow(upload))
    writer.join()
    upload.refresh_from_db()
    assert upload.state == "failed"
    assert not store.spool_path(upload).exists()
    assert not store.spool_path(upload).with_name(store.spool_path(upload).name + ".part").exists()


def test_an_archive_can_be_written_only_once(upload):
    store.receive(upload, Chunks(b"first").read)
    path = store.spool_path(upload).with_name(store.spool_path(upload).name + ".part")
    path.write_bytes(b"someone else")
    with pytest.raises(ArchiveRejected, match="already being written"):
        store.receive(upload, Chunks(b"second").read)
    assert store.spool_path(upload).read_bytes() == b"first"
    path.unlink()


def test_a_followed_archive_that_stops_growing_is_given_up(upload):
    with pytest.raises(ArchiveRejected, match="stopped growing"):
        b"".join(store.follow(upload, stall=0.2))


def test_discarding_an_archive_removes_its_bytes_and_marks_it_deleted(upload):
    store.receive(upload, Chunks(b"bytes").read)
    assert store.discard(Archive.objects.filter(pk=upload.pk)) == 1
    upload.refresh_from_db()
    assert upload.state == "deleted" and not store.spool_path(upload).exists()


@pytest.fixture
def s3_store(settings, monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    settings.CRYO_SPOOL_DIR = tmp_path / "spool"
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="cryo-test")
        settings.STORAGES = {**settings.STORAGES, "checkpoints": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {"bucket_name": "cryo-test", "access_key": "k", "secret_key": "s", "location": "cryo"},
        }}
        from django.core.files.storage import storages

        storages._storages.pop("checkpoints", None)
        yield client
        storages._storages.pop("checkpoints", None)


def test_on_object_storage_a_kept_archive_goes_to_the_bucket_and_is_read_from_there(s3_store, people):
    host = online_host("h1")
    job = Job.objects.create(kind="export", host=host, step_host=host, requested_by_name="ada")
    kept = store.new_upload(job, Archive.Kind.CHECKPOINT, keep=True)
    data = b"\x07" * 300_000
    store.receive(kept, Chunks(data).read)
    assert not store.is_directory()
    body = s3_store.get_object(Bucket="cryo-test", Key=f"cryo/{kept.name}")["Body"].read()
    assert body == data
    store.spool_path(kept).unlink()  # the spool is only a waypoint: the bucket holds the archive
    assert b"".join(store.follow(Archive.objects.get(pk=kept.pk))) == data
    store.discard(Archive.objects.filter(pk=kept.pk))
    assert s3_store.list_objects_v2(Bucket="cryo-test").get("KeyCount", 0) == 0
    assert io.BytesIO(body).read(1) == b"\x07"
