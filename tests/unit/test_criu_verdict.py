"""A host's CRIU verdict: a CRIU that cannot dump sockets on its kernel is named, with what to do about it."""
from pathlib import Path

import pytest

from snapshots.host import criu, criu_logs

FIXTURES = Path(__file__).parent / "fixtures" / "criu"
UPGRADE = ("CRIU 4.1.1 on kernel 6.18 cannot checkpoint processes with network sockets: upgrade to CRIU \u2265 4.2 "
           "(deploy/provision-host.sh installs one)")


@pytest.mark.parametrize("text,version", [
    ("4.2.1", (4, 2, 1)), ("Version: 4.2", (4, 2, 0)), ("6.18.44-fc-v657", (6, 18, 44)), ("3.17-rc1", (3, 17, 0)),
    ("", None), ("unknown", None),
])
def test_versions_are_read_from_what_criu_and_uname_print(text, version):
    assert criu.parse_version(text) == version


@pytest.mark.parametrize("version,kernel,broken", [
    ("4.1.1", "6.18.44-fc-v657", True),
    ("4.1.1", "6.16.0", True),
    ("3.17", "6.16.0-1-amd64", True),
    ("4.1.1", "6.15.9", False),
    ("4.2", "6.18.0", False),
    ("4.2.1", "6.18.44-fc-v657", False),
    ("", "6.18.0", False),
])
def test_criu_before_4_2_cannot_dump_sockets_from_linux_6_16(version, kernel, broken):
    assert criu.sockets_known_broken(version, kernel) is broken


def test_the_message_names_both_versions_and_what_to_install():
    assert criu.upgrade_message("4.1.1", "6.18.44-fc-v657") == UPGRADE


def probe_failure(stage, log_name=None, detail="criu dump failed (exit 1)"):
    lines = criu_logs.errors_from_text((FIXTURES / f"{log_name}.log").read_text()) if log_name else []
    return criu.ProbeResult(False, stage, 0.1, detail, lines)


def test_a_probe_that_hit_the_socket_options_error_asks_for_an_upgrade():
    outcome = probe_failure("dump", "dump-4.1.1-redis-sockets")
    assert outcome.socket_options_refused
    assert criu.sockets_message("4.1.1", "6.18.44-fc-v657", outcome) == UPGRADE


def test_any_other_probe_failure_carries_criu_s_own_error_lines():
    outcome = probe_failure("restore", "restore-4.2.1-missing-file", "criu restore failed (exit 1)")
    message = criu.sockets_message("4.2.1", "6.18.44-fc-v657", outcome)
    assert message.startswith("CRIU 4.2.1 on kernel 6.18 could not checkpoint and restore a process with a listening "
                              "TCP socket (restore: criu restore failed (exit 1)): 1: Error (criu/files-reg.c:2353)")
    assert len(message) <= 1000


def test_a_probe_that_failed_without_a_log_says_where_it_stopped():
    outcome = probe_failure("answer", detail="the restored socket on 127.0.0.1:4000 does not answer: refused")
    assert criu.sockets_message("4.2.1", "6.18.0", outcome) == (
        "CRIU 4.2.1 on kernel 6.18 could not checkpoint and restore a process with a listening TCP socket "
        "(answer: the restored socket on 127.0.0.1:4000 does not answer: refused)")


def test_without_criu_the_facts_say_so(monkeypatch):
    monkeypatch.setattr(criu, "find_criu", lambda: None)
    found = criu.facts()
    assert found["criu_ok"] is False and found["criu_sockets_ok"] is False
    assert found["criu_message"] == "criu is not installed (deploy/provision-host.sh installs a working one)"


def test_when_the_probe_cannot_run_the_version_pair_decides(monkeypatch):
    monkeypatch.setattr(criu, "criu_version", lambda path: "4.1.1")
    monkeypatch.setattr(criu, "criu_check", lambda path: (True, "Looks good."))
    monkeypatch.setattr(criu, "probe_sockets", lambda *a, **k: pytest.fail("the probe must not run"))
    found = criu.facts("/usr/local/sbin/criu", probe=False, kernel="6.18.44-fc-v657")
    assert found == {"criu_ok": True, "criu_version": "4.1.1", "criu_message": "", "criu_sockets_ok": False,
                     "criu_sockets_message": UPGRADE}
    found = criu.facts("/usr/local/sbin/criu", probe=False, kernel="6.12.0")
    assert found["criu_sockets_ok"] is True and found["criu_sockets_message"] == ""


def test_a_failing_criu_check_is_reported_with_its_last_line(monkeypatch):
    monkeypatch.setattr(criu, "criu_version", lambda path: "3.17")
    check_output = "Error (criu/vdso.c:1): x\nUnexpected rt vDSO area bounds"
    monkeypatch.setattr(criu, "criu_check", lambda path: (False, check_output))
    found = criu.facts("/usr/sbin/criu", kernel="6.1.0")
    assert found["criu_ok"] is False and found["criu_message"] == "Unexpected rt vDSO area bounds"
    assert found["criu_sockets_ok"] is False
