"""Every audit row also goes out as one JSON line, to a file or syslog; with fail-closed, an action whose line cannot
be written is refused and leaves nothing behind."""
import json
import socket
import threading

import pytest
from django.core.exceptions import ImproperlyConfigured

from snapshots import audit_stream
from snapshots.errors import AuditUnavailable
from snapshots.models import AuditChainHead, AuditEvent, Container, Job
from snapshots import services
from snapshots.services import Origin, audit

from ..web.conftest import make_container, make_host

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_cached_sinks():
    audit_stream._sinks.clear()
    yield
    audit_stream._sinks.clear()


def test_each_row_is_appended_to_the_file_as_one_json_line(settings, tmp_path):
    path = tmp_path / "audit.jsonl"
    settings.CRYO_AUDIT_STREAM = f"file:{path}"
    first = audit.record(actor=None, action="checkpoint", outcome="requested", host="h1", details={"a": 1})
    second = audit.record(actor=None, action="restore", outcome="denied", host="h1", container_name="web\nnext")
    lines = [json.loads(text) for text in path.read_text().splitlines()]
    assert [(d["id"], d["seq"], d["row_hash"], d["action"]) for d in lines] == [
        (first.pk, 1, first.row_hash, "checkpoint"), (second.pk, 2, second.row_hash, "restore")]
    assert lines[1]["prev_hash"] == lines[0]["row_hash"] and lines[1]["container_name"] == "web\nnext"


def test_bulk_created_rows_are_streamed_too(settings, tmp_path):
    path = tmp_path / "audit.jsonl"
    settings.CRYO_AUDIT_STREAM = f"file:{path}"
    AuditEvent.objects.bulk_create([AuditEvent(actor_name="ada", action="sync", outcome="requested")
                                    for _ in range(3)])
    assert [json.loads(t)["seq"] for t in path.read_text().splitlines()] == [1, 2, 3]


def test_a_rotated_file_is_reopened(settings, tmp_path):
    path = tmp_path / "audit.jsonl"
    settings.CRYO_AUDIT_STREAM = f"file:{path}"
    audit.record(actor=None, action="sync", outcome="requested")
    path.rename(tmp_path / "audit.jsonl.1")
    audit.record(actor=None, action="sync", outcome="succeeded")
    assert [json.loads(t)["seq"] for t in path.read_text().splitlines()] == [2]


def test_rows_go_to_a_local_syslog_socket(settings, tmp_path):
    address = str(tmp_path / "log.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(address)
    server.settimeout(5)
    settings.CRYO_AUDIT_STREAM = f"syslog:{address}"
    event = audit.record(actor=None, action="checkpoint", outcome="requested", host="h1")
    message = server.recv(65536).decode()
    server.close()
    assert message.startswith("<86>1 ") and " cryo " in message
    assert json.loads(message.split(" audit - ", 1)[1])["row_hash"] == event.row_hash


def test_rows_go_to_a_syslog_server_over_tcp(settings):
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(5)
    received = []

    def accept():
        conn, _ = server.accept()
        with conn:
            conn.settimeout(5)
            data = b""
            while data.count(b"\n") < 2:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
            received.append(data)

    thread = threading.Thread(target=accept)
    thread.start()
    settings.CRYO_AUDIT_STREAM = f"syslog+tcp://127.0.0.1:{server.getsockname()[1]}"
    events = [audit.record(actor=None, action="sync", outcome="requested", host=f"h{i}") for i in range(2)]
    thread.join(10)
    server.close()
    messages = received[0].decode().splitlines()
    assert [json.loads(m.split(" audit - ", 1)[1])["seq"] for m in messages] == [e.seq for e in events]


def hosts_and_state():
    host = make_host("alpha")
    make_container(host, "web-1")
    return list(AuditEvent.objects.values_list("pk", flat=True)), AuditChainHead.objects.values_list().first()


def test_fail_closed_refuses_an_action_whose_line_cannot_be_written(settings, people):
    hosts_and_state()
    before = (AuditEvent.objects.count(), list(AuditChainHead.objects.values_list()), Job.objects.count())
    settings.CRYO_AUDIT_STREAM = "file:/dev/full"  # every write fails with ENOSPC
    settings.CRYO_AUDIT_FAIL_CLOSED = True
    with pytest.raises(AuditUnavailable, match="cannot be written.*nothing was done"):
        services.checkpoint(people.ada, Container.objects.get(name="web-1"), origin=Origin(source="10.0.0.9"))
    assert (AuditEvent.objects.count(), list(AuditChainHead.objects.values_list()), Job.objects.count()) == before


def test_fail_closed_also_holds_for_refusals_which_stay_refused(settings, people):
    hosts_and_state()
    settings.CRYO_AUDIT_STREAM = "file:/dev/full"
    settings.CRYO_AUDIT_FAIL_CLOSED = True
    before = AuditEvent.objects.count()
    with pytest.raises(AuditUnavailable):
        services.checkpoint(people.vic, Container.objects.get(name="web-1"), origin=Origin(source="10.0.0.9"))
    assert AuditEvent.objects.count() == before and not Job.objects.exists()


def test_without_fail_closed_the_action_goes_on_and_the_failure_is_logged(settings, people, caplog):
    hosts_and_state()
    settings.CRYO_AUDIT_STREAM = "file:/dev/full"
    settings.CRYO_AUDIT_FAIL_CLOSED = False
    job = services.checkpoint(people.ada, Container.objects.get(name="web-1"), origin=Origin(source="10.0.0.9"))
    assert AuditEvent.objects.get(job_id=job.id).outcome == "requested"
    assert "the audit stream file:/dev/full cannot be written" in caplog.text


def test_the_web_answers_503_and_creates_no_job_when_the_stream_fails_closed(settings, client, people):
    hosts_and_state()
    settings.CRYO_AUDIT_FAIL_CLOSED = True
    client.force_login(people.ada)  # before the stream fails: a sign-in that cannot be audited does not happen
    settings.CRYO_AUDIT_STREAM = "file:/dev/full"
    before = AuditEvent.objects.count()
    container = Container.objects.get(name="web-1")
    response = client.post(f"/containers/{container.pk}/checkpoint/", {"name": "cp-1", "leave_running": "on"})
    assert response.status_code == 503 and b"nothing was done" in response.content
    assert not Job.objects.exists() and AuditEvent.objects.count() == before


@pytest.mark.parametrize("value", ["file:relative/path", "syslog+udp://host-without-port", "kafka://x", "file"])
def test_a_bad_stream_setting_is_refused_at_start(value):
    with pytest.raises(ImproperlyConfigured, match="CRYO_AUDIT_STREAM"):
        audit_stream.parse_target(value)
