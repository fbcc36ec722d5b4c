"""Archive data keys through the worker API, tried as an attacker would: a key goes only to a host of the archive's
job while the job runs (its writer while writing, the host of the step that reads it), every release and refusal is
audited, and a refusal changes nothing. The store itself holds sealed bytes only, and deleting a checkpoint destroys
its archive's key."""
import base64
import io

import pytest
from django.test import Client as DjangoClient

from snapshots import store, store_keys
from snapshots.errors import ArchiveRejected
from snapshots.host import archive as packing
from snapshots.host import transfer
from snapshots.jobs.kinds import KINDS
from snapshots.models import Archive, AuditEvent, HostCredential, Job

from .conftest import make_checkpoint, make_container, make_host

pytestmark = pytest.mark.django_db
AGENT_A, AGENT_B, AGENT_C = "host-a:1:aaaa", "host-b:2:bbbb", "host-c:3:cccc"
MARKER = b"CRYO-SECRET-MEMORY-MARKER-4d1f9a"


class AgentOverTestClient:
    """The agent's Client (snapshots/host/client.py), its archive calls answered by the dashboard in this process."""

    def __init__(self, token):
        self.http = DjangoClient()
        self.auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    def _json(self, response):
        if response.status_code >= 400:
            raise ArchiveRejected(f"{response.status_code}: {response.json()['error']}")
        return response.json()

    def write_key(self, archive_id):
        answer = self._json(self.http.get(f"/agent/v1/archives/{archive_id}/key", **self.auth))
        return base64.b64decode(answer["key"]) if answer["key"] else None

    def read_key(self, job_id, archive_id):
        answer = self._json(self.http.get(f"/agent/v1/jobs/{job_id}/archives/{archive_id}/key", **self.auth))
        return base64.b64decode(answer["key"]) if answer["key"] else None

    def upload(self, archive_id, chunks, size_hint=None):
        extra = {"HTTP_X_CRYO_SIZE": str(size_hint)} if size_hint else {}
        return self._json(self.http.put(f"/agent/v1/archives/{archive_id}", b"".join(chunks),
                                        content_type="application/octet-stream", **self.auth, **extra))

    def digest(self, job_id, archive_id):
        return self._json(self.http.get(f"/agent/v1/jobs/{job_id}/archives/{archive_id}/digest", **self.auth))

    def download(self, job_id, archive_id):
        response = self.http.get(f"/agent/v1/jobs/{job_id}/archives/{archive_id}", **self.auth)
        if response.status_code >= 400:
            raise ArchiveRejected(f"{response.status_code}: {response.json()['error']}")
        return _Downloaded(b"".join(response.streaming_content))


class _Downloaded:
    def __init__(self, data):
        self.raw = io.BytesIO(data)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class Ctx:
    def __init__(self, client, job_id):
        self.client, self.job_id = client, job_id


class Move:
    """A migration from host-a to host-b, its source step running; host-c is a bystander with its own credential."""

    def __init__(self, people, tmp_path):
        self.a = people.grant(make_host("host-a", worker_id=AGENT_A))
        self.b = people.grant(make_host("host-b", worker_id=AGENT_B))
        self.c = people.grant(make_host("host-c", worker_id=AGENT_C))
        _row, self.token_a = HostCredential.issue(self.a)
        _row, self.token_b = HostCredential.issue(self.b)
        _row, self.token_c = HostCredential.issue(self.c)
        self.web = make_container(self.a, "web")
        self.job = Job.objects.create(kind=Job.Kind.MIGRATE, host=self.a, target_host=self.b, container=self.web,
                                      checkpoint_name="cp-1", step="run", step_host=self.a, claimed_by=AGENT_A,
                                      state=Job.State.RUNNING, requested_by_name="ada")
        self.upload = store.new_upload(self.job, Archive.Kind.CHECKPOINT, keep=False)
        self.source_dir = tmp_path / "checkpoint"
        self.source_dir.mkdir()
        (self.source_dir / "pages-1.img").write_bytes(MARKER * 5000)
        (self.source_dir / "core-1.img").write_bytes(b"core" + MARKER)

    def write(self):
        agent = AgentOverTestClient(self.token_a)
        return transfer.upload(agent, str(self.upload.id), lambda out: packing.pack(self.source_dir, out),
                               size_hint=200_000)

    def hand_to_target(self):
        Job.objects.filter(pk=self.job.pk).update(step="import", step_host=self.b, claimed_by=AGENT_B,
                                                  params={"reads": [str(self.upload.id)]})

    def get(self, path, token):
        return DjangoClient().get(f"/agent/v1{path}", HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.fixture
def move(people, tmp_path):
    return Move(people, tmp_path)


def _state(archive):
    fresh = Archive.objects.get(pk=archive.pk)
    return fresh.state, fresh.size, fresh.sha256, bytes(fresh.wrapped_key or b""), fresh.key_id


def test_every_new_archive_gets_its_own_key_wrapped_by_the_store_kek(move):
    other = store.new_upload(move.job, Archive.Kind.ROOTFS, keep=False)
    keys = {store_keys.unwrap(move.upload), store_keys.unwrap(other)}
    assert len(keys) == 2 and all(len(k) == 32 for k in keys)
    assert move.upload.key_id == store_keys.kek_id(store_keys.settings.CRYO_STORE_KEK)
    assert all(k not in bytes(move.upload.wrapped_key) for k in keys)


def test_the_store_holds_only_sealed_bytes_and_the_target_opens_them(move, tmp_path):
    answer = move.write()
    stored = store.spool_path(Archive.objects.get(pk=move.upload.pk)).read_bytes()
    assert answer["size"] == len(stored) > 0
    assert MARKER not in stored and b"pages-1.img" not in stored, "the store reveals the checkpoint"
    assert stored.startswith(b"CRYOSL01")
    assert Archive.objects.get(pk=move.upload.pk).unpacked_size == 200_000

    move.hand_to_target()
    staged = tmp_path / "staged"
    transfer.receive_checkpoint(Ctx(AgentOverTestClient(move.token_b), str(move.job.id)), str(move.upload.id),
                                staged)
    assert (staged / "pages-1.img").read_bytes() == MARKER * 5000
    released = AuditEvent.objects.filter(action="agent.archive_key", outcome="succeeded")
    assert sorted(e.host_name for e in released) == ["host-a", "host-b"]


def test_another_hosts_credential_gets_no_key_and_the_try_is_audited(move):
    before = _state(move.upload)
    for path in (f"/archives/{move.upload.id}/key", f"/jobs/{move.job.id}/archives/{move.upload.id}/key"):
        response = move.get(path, move.token_c)
        assert response.status_code == 403 and "key" not in response.json()
    response = move.get(f"/archives/{move.upload.id}/key", move.token_b)
    assert response.status_code == 403, "the target is not the archive's writer"
    assert _state(move.upload) == before
    denied = AuditEvent.objects.filter(action="agent.archive_key", outcome="denied")
    assert sorted(e.host_name for e in denied) == ["host-b", "host-c", "host-c"]
    assert not AuditEvent.objects.filter(action="agent.archive_key", outcome="succeeded").exists()


def test_a_finished_job_releases_no_key_to_its_own_hosts(move):
    move.write()
    move.hand_to_target()
    Job.objects.filter(pk=move.job.pk).update(state=Job.State.SUCCEEDED)
    before = _state(move.upload)
    assert move.get(f"/jobs/{move.job.id}/archives/{move.upload.id}/key", move.token_b).status_code == 403
    assert move.get(f"/archives/{move.upload.id}/key", move.token_a).status_code == 409
    assert _state(move.upload) == before
    assert not AuditEvent.objects.filter(action="agent.archive_key", outcome="succeeded",
                                         host_name="host-b").exists()


def test_the_writer_gets_no_key_once_its_archive_is_written(move):
    move.write()
    response = move.get(f"/archives/{move.upload.id}/key", move.token_a)
    assert response.status_code == 409 and "key" not in response.json()


def test_a_reader_gets_neither_bytes_nor_key_nor_digest_of_an_archive_its_step_does_not_read(move, people):
    """Another checkpoint's archive (of the same container, or another's) is not handed to the reading host."""
    move.write()
    other_job = Job.objects.create(kind=Job.Kind.EXPORT, host=move.a, container=move.web, checkpoint_name="cp-0",
                                   step_host=move.a, requested_by_name="ada")
    other = store.new_upload(other_job, Archive.Kind.CHECKPOINT)
    move.hand_to_target()
    before = _state(other)
    for suffix in ("", "/key", "/digest"):
        response = move.get(f"/jobs/{move.job.id}/archives/{other.id}{suffix}", move.token_b)
        assert response.status_code == 403, suffix
    assert _state(other) == before


def test_a_move_reads_the_archive_of_exactly_its_checkpoint(people):
    """The dashboard hands the target the archive of the checkpoint asked for: not an older one of the same name,
    not another checkpoint's, not another container's of the same name."""
    a, b = people.grant(make_host("host-a")), people.grant(make_host("host-b"))
    web, api = make_container(a, "web"), make_container(a, "api")
    cp1, cp2 = make_checkpoint(web, "cp-1"), make_checkpoint(web, "cp-2")
    other_container = make_checkpoint(api, "cp-2")
    exporter = Job.objects.create(kind=Job.Kind.EXPORT, host=a, container=web, requested_by_name="ada")

    def stored(checkpoint, sha):
        row = store.new_upload(exporter, Archive.Kind.CHECKPOINT, checkpoint=checkpoint)
        Archive.objects.filter(pk=row.pk).update(state=Archive.State.COMPLETE, sha256=sha, size=1)
        return row

    stored(cp1, "1" * 64)
    stored(other_container, "3" * 64)
    replaced = stored(cp2, "4" * 64)
    store.discard([replaced])  # an archive of this checkpoint that was deleted since: never read again
    right = stored(cp2, "2" * 64)
    job = Job.objects.create(kind=Job.Kind.CLONE, host=a, target_host=b, container=web, checkpoint_name="cp-2",
                             step_host=a, requested_by_name="ada")
    KINDS[Job.Kind.CLONE].prepare_uploads(job)
    KINDS[Job.Kind.CLONE].import_params(job)
    assert job.params["checkpoint_archive"] == str(right.pk)
    assert str(replaced.pk) not in job.params["reads"]


def test_deleting_a_checkpoint_deletes_its_archive_destroys_its_key_and_is_audited(move, people):
    cp = make_checkpoint(move.web, "cp-1")
    Archive.objects.filter(pk=move.upload.pk).update(checkpoint=cp, keep=True)
    move.write()
    path = store.spool_path(move.upload)
    assert path.exists()
    job = Job.objects.create(kind=Job.Kind.DELETE_CHECKPOINT, host=move.a, container=move.web,
                             checkpoint_name="cp-1", step_host=move.a, claimed_by=AGENT_A, state=Job.State.RUNNING,
                             requested_by_name="ada")
    KINDS[Job.Kind.DELETE_CHECKPOINT].done(job, "run", {"was_on_engine": True})
    fresh = Archive.objects.get(pk=move.upload.pk)
    assert fresh.state == Archive.State.DELETED and fresh.wrapped_key is None and not path.exists()
    with pytest.raises(store_keys.KeyUnavailable, match="destroyed"):
        store_keys.unwrap(fresh)
    event = AuditEvent.objects.get(action="archive.delete")
    assert event.details["archives"] == [str(fresh.pk)] and event.details["keys_destroyed"] == 1
    assert event.checkpoint_name == "cp-1" and event.details["job"] == str(job.id)


def test_the_source_of_a_move_gets_its_write_key_after_it_handed_the_job_to_the_target(move):
    Job.objects.filter(pk=move.job.pk).update(step="import", step_host=move.b, claimed_by="")
    response = move.get(f"/archives/{move.upload.id}/key", move.token_a)
    assert response.status_code == 200
    assert base64.b64decode(response.json()["key"]) == store_keys.unwrap(move.upload)
