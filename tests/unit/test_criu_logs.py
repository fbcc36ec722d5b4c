"""CRIU's own error lines are found in its real dump and restore logs, bounded, without the noise.

The fixtures are excerpts (start, the line CRIU logs on every run, and the last 30 lines) of logs
captured on a Debian 12 host with Linux 6.18 and Docker 20.10.24, from failures made on purpose:
- dump-4.1.1-redis-sockets: CRIU 4.1.1 dumping a Redis container (a listening TCP socket);
- dump-4.2.1-pingpong-established: CRIU 4.2.1, a TCP connection inside the container, without
  tcp-established;
- restore-4.2.1-established-without-option: restoring that connection without tcp-established;
- restore-4.2.1-missing-file: a checkpoint restored into a container where its open file /tmp/held
  does not exist.
"""
import os
import threading
import time
from pathlib import Path

import pytest

from snapshots.host import criu_logs

FIXTURES = Path(__file__).parent / "fixtures" / "criu"
DUMP_ERROR = (
    "CRIU failed: Cannot checkpoint container be29: runc did not terminate successfully: exit status 1: criu "
    "failed: type NOTIFY errno 0 path= /run/cryo-docker/a/exec/containerd/daemon/io.containerd.runtime.v2.task/"
    "moby/be29/criu-dump.log: unknown"
)
RESTORE_ERROR = (
    "CRIU failed: OCI runtime restore failed: criu failed: type NOTIFY errno 0\nlog file: /run/cryo-docker/a/exec/"
    "containerd/daemon/io.containerd.runtime.v2.task/moby/ee28/work/restore.log: unknown"
)


def fixture(name):
    return (FIXTURES / f"{name}.log").read_text()


def test_it_finds_why_criu_4_1_1_cannot_dump_a_socket_on_linux_6_16_and_later():
    lines = criu_logs.errors_from_text(fixture("dump-4.1.1-redis-sockets"))
    assert criu_logs.key_lines(lines) == [
        "Error (criu/sockets.c:628): sockets: Can't get 1:16 opt: Operation not supported",
        "Error (criu/sockets.c:628): sockets: Can't get 1:34 opt: Operation not supported",
    ]
    assert lines[0] == "sockets: Searching for socket 0x100ac family 2", "the line before the first error is kept"
    assert lines[-1] == "Error (criu/cr-dump.c:2111): Dumping FAILED."


def test_it_leaves_out_the_rlimit_error_criu_prints_on_every_run_under_runc():
    text = fixture("dump-4.2.1-pingpong-established")
    assert "Can't setup RLIMIT_NOFILE" in text
    lines = criu_logs.errors_from_text(text)
    assert not any("RLIMIT_NOFILE" in line for line in lines)
    assert criu_logs.key_lines(lines) == [
        "Error (criu/sk-inet.c:200): inet: Connected TCP socket, consider using --tcp-established option."
    ]


def test_it_keeps_the_rlimit_error_when_it_is_the_only_one():
    only = "(00.030866) Error (criu/util.c:1533): rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted"
    assert criu_logs.errors_from_text(f"(00.000001) start\n{only}\n") == [
        "start", "Error (criu/util.c:1533): rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted",
    ]


def test_restore_lines_keep_the_restoring_task_and_skip_what_cleanup_said_after_the_conclusion():
    lines = criu_logs.errors_from_text(fixture("restore-4.2.1-missing-file"))
    assert criu_logs.key_lines(lines) == [
        "1: Error (criu/files-reg.c:2353): Can't open file tmp/held on restore: No such file or directory",
        "1: Error (criu/files-reg.c:2267): Can't open file tmp/held: No such file or directory",
        "1: Error (criu/files.c:1221): Unable to open fd=3 id=0x5",
    ]
    assert "Error (criu/cgroup.c:2055): cg: cgroupd: recv req error: No such file or directory" in lines
    assert not any(line.startswith("(00.") for line in lines), "timestamps are removed"


def test_a_restore_of_an_established_connection_without_tcp_established_says_so():
    lines = criu_logs.errors_from_text(fixture("restore-4.2.1-established-without-option"))
    assert criu_logs.key_lines(lines)[0] == "1: Error (criu/sk-inet.c:912): inet: Connected TCP socket in image"


def test_a_log_without_errors_gives_nothing():
    assert criu_logs.errors_from_text("(00.000001) Dumping finished successfully\n") == []
    assert criu_logs.errors_from_text("") == [] and criu_logs.key_lines([]) == []


def test_the_lines_are_bounded_keeping_where_the_failure_started_and_what_criu_concluded():
    text = "".join(f"(00.{i:06d}) step {i}\n(00.{i:06d}) Error (criu/x.c:{i}): failure {i}\n" for i in range(500))
    lines = criu_logs.errors_from_text(text, max_lines=16, max_chars=3000)
    assert len(lines) == 16 and "…" in lines
    assert lines[:2] == ["step 0", "Error (criu/x.c:0): failure 0"]
    assert lines[-1] == "Error (criu/x.c:499): failure 499"
    huge = "(00.000001) Error (criu/x.c:1): " + "x" * 100_000 + "\n"
    assert sum(len(s) for s in criu_logs.errors_from_text(huge * 3, max_chars=3000)) <= 3000


def test_it_reads_only_the_end_of_a_huge_log(tmp_path):
    log = tmp_path / "dump.log"
    with open(log, "w") as fh:
        fh.write("(00.000001) Error (criu/early.c:1): long before the end\n")
        fh.write("(00.000002) filler line of a verbose dump\n" * 200_000)
        fh.write(fixture("dump-4.1.1-redis-sockets"))
    assert log.stat().st_size > criu_logs.TAIL_BYTES
    lines = criu_logs.errors_from_file(log)
    assert criu_logs.key_lines(lines)[0].endswith("Can't get 1:16 opt: Operation not supported")
    assert not any("early.c" in line for line in lines)
    assert criu_logs.errors_from_file(tmp_path / "missing.log") == []


def test_it_finds_the_log_paths_the_engine_names():
    assert criu_logs.log_paths(DUMP_ERROR) == [
        "/run/cryo-docker/a/exec/containerd/daemon/io.containerd.runtime.v2.task/moby/be29/criu-dump.log"]
    assert criu_logs.log_paths(RESTORE_ERROR) == [
        "/run/cryo-docker/a/exec/containerd/daemon/io.containerd.runtime.v2.task/moby/ee28/work/restore.log"]
    assert criu_logs.log_paths("Docker refused: no such container") == []


def test_a_failed_dump_is_explained_from_the_log_the_engine_named(tmp_path):
    log = tmp_path / "criu-dump.log"
    log.write_text(fixture("dump-4.1.1-redis-sockets"))
    error = f"CRIU failed: … criu failed: type NOTIFY errno 0 path= {log}: unknown"
    path, lines = criu_logs.dump_errors(error, "be29", str(tmp_path))
    assert path == str(log)
    text = criu_logs.with_criu_words(error, lines, path)
    assert text.startswith(error + "\nCRIU said (")
    assert "  Error (criu/sockets.c:628): sockets: Can't get 1:16 opt: Operation not supported" in text
    assert "Dumping FAILED" not in text


def test_without_a_readable_log_the_engine_error_stays_as_it_was(tmp_path):
    error = f"criu failed: type NOTIFY errno 0 path= {tmp_path}/gone/criu-dump.log: unknown"
    assert criu_logs.dump_errors(error, "nope", str(tmp_path)) == (None, [])
    assert criu_logs.with_criu_words(error, []) == error


def test_the_restore_log_is_looked_for_in_the_task_work_directories():
    paths = criu_logs.restore_log_candidates("ee28", "/var/lib/cryo-docker/a")
    assert Path("/var/lib/cryo-docker/a/containerd/daemon/io.containerd.runtime.v2.task/moby/ee28/restore.log") in paths
    assert Path("/var/lib/containerd/io.containerd.runtime.v2.task/moby/ee28/restore.log") in paths


@pytest.mark.parametrize("lifetime", [0.05, 0.2])
def test_the_catcher_keeps_a_restore_log_that_is_deleted_while_the_restore_runs(tmp_path, lifetime):
    """What containerd does: create the work directory, let CRIU write, delete it all on failure."""
    work = tmp_path / "moby" / "ee28"
    log = work / "restore.log"
    text = fixture("restore-4.2.1-missing-file")

    def containerd():
        time.sleep(0.02)
        work.mkdir(parents=True)
        with open(log, "w") as fh:
            for line in text.splitlines(keepends=True):
                fh.write(line)
                fh.flush()
            time.sleep(lifetime)
        os.remove(log)
        work.rmdir()

    with criu_logs.RestoreLogCatcher("ee28", paths=[log]) as catcher:
        runner = threading.Thread(target=containerd)
        runner.start()
        runner.join()
    assert not log.exists()
    assert catcher.path == str(log)
    assert catcher.text == text
    assert criu_logs.key_lines(catcher.errors())[0].endswith("Can't open file tmp/held on restore: No such file or "
                                                              "directory")


def test_the_catcher_reports_nothing_when_no_log_appeared(tmp_path):
    with criu_logs.RestoreLogCatcher("ee28", paths=[tmp_path / "restore.log"]) as catcher:
        time.sleep(0.02)
    assert catcher.path is None and catcher.text == "" and catcher.errors() == []
