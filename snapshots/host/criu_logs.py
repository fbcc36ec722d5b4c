"""CRIU's own words: its error lines from a dump or restore log, read on the engine's machine.

When CRIU fails under Docker, the engine's error only names CRIU's log:

    Cannot checkpoint container …: runc did not terminate successfully: exit status 1: criu failed:
    type NOTIFY errno 0 path= /run/…/io.containerd.runtime.v2.task/moby/<id>/criu-dump.log: unknown

    OCI runtime restore failed: criu failed: type NOTIFY errno 0
    log file: /run/…/io.containerd.runtime.v2.task/moby/<id>/work/restore.log: unknown

A failed dump leaves the container running and its log in place: read it right after the failure.
A failed restore does not: containerd deletes the task's work directory (and restore.log in it)
about a tenth of a second after CRIU gave up, before the engine even answers. `RestoreLogCatcher`
follows the directories where restore.log appears while the restore runs and opens the log as
soon as it exists; the open descriptor keeps the text readable after the engine deletes the file.

A CRIU log line looks like

    (00.039796) Error (criu/sockets.c:628): sockets: Can't get 1:16 opt: Operation not supported
    (00.184855)      1: Error (criu/sk-inet.c:912): inet: Connected TCP socket in image

(restore logs put the restoring task's pid first). What a person needs is the Error lines and the
line just before each, without timestamps, bounded in size, not the whole multi-megabyte log.

Standard library only (no Django): the host agent runs it on the engine's machine.
"""
import os
import re
import threading
from pathlib import Path

LINE = re.compile(r"^\((?P<time>\d+\.\d+)\)\s+(?:(?P<pid>\d+):\s+)?(?P<text>.*)$")
ERROR = re.compile(r"^(?:\d+: )?(?:pie: \d+: )?Error \(")
# Error lines CRIU prints on every run under runc, whatever happens next: never why it failed.
BENIGN = (re.compile(r"rlimit: Can't setup RLIMIT_NOFILE for self"),)
# Lines that only conclude that something above failed.
CONCLUSION = re.compile(r"(Dumping|Restoring) FAILED\.?$|Dump files \(pid: \d+\) failed with -?\d+$")
MAX_LINES = 16
MAX_CHARS = 3000
TAIL_BYTES = 4 << 20  # CRIU writes the failure at the end; a -v4 log of a big process runs to many MB
LOG_PATH = re.compile(r"(?:path=|log file:)\s*(/\S+?\.log)\b")
TASK_DIRS = (
    # dockerd's own containerd: its state lives under the data root, its bundles under the exec root
    "{root}/containerd/daemon/io.containerd.runtime.v2.task/moby/{id}",
    # a system containerd (Docker started with --containerd)
    "/var/lib/containerd/io.containerd.runtime.v2.task/moby/{id}",
)
BUNDLE_DIRS = (
    "/var/run/docker/containerd/daemon/io.containerd.runtime.v2.task/moby/{id}",
    "/run/containerd/io.containerd.runtime.v2.task/moby/{id}",
)


def _strip(raw):
    m = LINE.match(raw.rstrip("\r\n"))
    if not m:
        return None
    text = m.group("text").strip()
    return f"{m.group('pid')}: {text}" if m.group("pid") else text


def is_error(line):
    return bool(ERROR.match(line))


def errors_from_text(text, *, max_lines=MAX_LINES, max_chars=MAX_CHARS):
    """CRIU's Error lines, each after the line that came just before it, timestamps removed.

    Errors CRIU prints on every run (BENIGN) are left out when there are others. At most max_lines
    lines and max_chars characters: when there are more, the first errors (where the failure started)
    and the last ones (what CRIU concluded) are kept, with "…" between them.
    """
    lines = [s for s in (_strip(raw) for raw in (text or "").splitlines()) if s is not None]
    error_at = [i for i, s in enumerate(lines) if is_error(s)]
    real = [i for i in error_at if not any(p.search(lines[i]) for p in BENIGN)]
    picked = []
    for i in real or error_at:
        if i > 0 and not is_error(lines[i - 1]) and (not picked or picked[-1] < i - 1):
            picked.append(i - 1)
        if not picked or picked[-1] < i:
            picked.append(i)
    out = [lines[i] for i in picked]
    out = [s if len(s) <= max_chars // 4 else s[: max_chars // 4 - 1] + "…" for s in out]
    return _bounded(out, max_lines, max_chars)


def _bounded(lines, max_lines, max_chars):
    """The first and last lines, with "…" for those left out between, within both limits."""
    def size(head, tail):
        return sum(len(s) + 1 for s in lines[:head] + lines[len(lines) - tail:]) + 2

    if len(lines) <= max_lines and sum(len(s) + 1 for s in lines) <= max_chars:
        return lines
    head, tail = 0, 0
    while head + tail < min(len(lines), max_lines - 1):
        if tail < head and size(head, tail + 1) <= max_chars:
            tail += 1
        elif size(head + 1, tail) <= max_chars:
            head += 1
        elif size(head, tail + 1) <= max_chars:
            tail += 1
        else:
            break
    return lines[:head] + ["…"] + (lines[len(lines) - tail:] if tail else [])


def errors_from_file(path, **limits):
    """errors_from_text() of a log file's last TAIL_BYTES; [] when it cannot be read."""
    try:
        with open(path, "rb") as fh:
            return errors_from_text(_tail(fh), **limits)
    except OSError:
        return []


def key_lines(lines, limit=4):
    """The Error lines that say why: not the context lines, not the "... FAILED" conclusions, nor what
    CRIU's clean-up reported after concluding; at most `limit`."""
    errors = []
    for line in lines:
        if is_error(line) and CONCLUSION.search(line):
            if line.endswith(("Dumping FAILED.", "Restoring FAILED.")):
                break
            continue
        if is_error(line) and not any(p.search(line) for p in BENIGN):
            errors.append(line)
    return errors[:limit] or [s for s in lines if is_error(s)][:limit]


def log_paths(engine_error):
    """The CRIU log paths an engine's error names (dump: "path= …", restore: "log file: …")."""
    return list(dict.fromkeys(m.group(1) for m in LOG_PATH.finditer(engine_error or "")))


def dump_log_candidates(engine_error, container_id=None, docker_root_dir=None):
    """Where a failed dump's log can be: the path the engine named, then the usual bundle and work
    directories of the container's task (for an engine that did not name it)."""
    found = [Path(p) for p in log_paths(engine_error)]
    if container_id:
        for pattern in BUNDLE_DIRS:
            found.append(Path(pattern.format(id=container_id)) / "criu-dump.log")
        for pattern in TASK_DIRS:
            found.append(Path(pattern.format(root=docker_root_dir or "/var/lib/docker", id=container_id)) / "dump.log")
    return list(dict.fromkeys(found))


def restore_log_candidates(container_id, docker_root_dir=None):
    """Where CRIU writes restore.log while it restores the container (the task's work directory)."""
    return [Path(pattern.format(root=docker_root_dir or "/var/lib/docker", id=container_id)) / "restore.log"
            for pattern in TASK_DIRS]


def dump_errors(engine_error, container_id=None, docker_root_dir=None):
    """(log path, CRIU's error lines) of a failed dump, read right after the failure; (None, [])
    when no log can be read here (the engine runs on another machine, or the file is gone)."""
    for path in dump_log_candidates(engine_error, container_id, docker_root_dir):
        lines = errors_from_file(path)
        if lines:
            return str(path), lines
    return None, []


def with_criu_words(engine_error, lines, path=None):
    """The engine's error followed by CRIU's own key error lines, as a job's error text."""
    said = key_lines(lines)
    if not said:
        return engine_error
    where = f" ({path})" if path else ""
    return f"{engine_error}\nCRIU said{where}:\n" + "\n".join(f"  {s}" for s in said)


class RestoreLogCatcher:
    """Keeps CRIU's restore log readable after the engine deletes it.

    Use around the restore call:

        with RestoreLogCatcher(container_id, docker_root_dir) as catcher:
            engine.start(container_id, checkpoint=name)     # raises on failure
        ... on failure: catcher.errors(), catcher.path

    A thread tries to open restore.log in the task's work directories every `interval` seconds until
    the restore ends; the first open descriptor is kept, so the text stays readable when containerd
    deletes the directory. A failed restore keeps its log for about a tenth of a second here, so
    the default interval of 5 ms sees it many times over.
    """

    def __init__(self, container_id, docker_root_dir=None, *, paths=None, interval=0.005):
        self.paths = [Path(p) for p in (paths or restore_log_candidates(container_id, docker_root_dir))]
        self.interval = interval
        self.path = None
        self._fh = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="criu-restore-log", daemon=True)
        self._text = None

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def _follow(self):
        while not self._stop.is_set():
            for path in self.paths:
                try:
                    self._fh = open(path, "rb")  # noqa: SIM115 - kept open on purpose
                    self.path = str(path)
                    return
                except OSError:
                    continue
            self._stop.wait(self.interval)

    def stop(self):
        """Stop following and read what CRIU wrote (once)."""
        self._stop.set()
        self._thread.join(timeout=5)
        if self._text is None:
            self._text = ""
            if self._fh is not None:
                try:
                    self._text = _tail(self._fh)
                finally:
                    self._fh.close()
        return self._text

    @property
    def text(self):
        return self.stop()

    def errors(self, **limits):
        return errors_from_text(self.text, **limits)


def _tail(fh):
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    fh.seek(max(0, size - TAIL_BYTES))
    return fh.read().decode("utf-8", "replace")
