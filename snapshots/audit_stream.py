"""Every audit row, also as one JSON line on a file or on syslog (CRYO_AUDIT_STREAM), for a copy the database's
users cannot rewrite.

A line is written inside the transaction that adds the row, before it commits. With CRYO_AUDIT_FAIL_CLOSED a line
that cannot be written raises AuditUnavailable, so the transaction (and with it the action) is rolled back: no
committed row is missing from the stream. A line whose transaction rolled back later has no row; its `seq` is then
taken by the next row, which comes after it in the stream.
"""
import json
import logging
import os
import socket
import threading
from datetime import datetime
from datetime import timezone as dt_timezone
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .errors import AuditUnavailable

log = logging.getLogger(__name__)
LINE_FIELDS = (
    "id", "seq", "at", "actor_id", "actor_name", "action", "outcome", "host_name", "target_host_name",
    "container_name", "checkpoint_name", "job_id", "source", "request_id", "details", "prev_hash", "row_hash",
)
SYSLOG_AUTHPRIV_INFO = 10 * 8 + 6  # facility authpriv, severity informational


def line(event):
    data = {name: getattr(event, "pk" if name == "id" else name) for name in LINE_FIELDS}
    data["at"] = event.at.astimezone(dt_timezone.utc).isoformat(timespec="microseconds")
    data["job_id"] = str(event.job_id) if event.job_id else None
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


class FileSink:
    """Appends lines to a file; reopens it when log rotation moved it away."""

    def __init__(self, path):
        self.path = path
        self.fh = None
        self.ino = None

    def _open(self):
        try:
            ino = os.stat(self.path).st_ino
        except FileNotFoundError:
            ino = None
        if self.fh is None or ino != self.ino:
            if self.fh is not None:
                self.fh.close()
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            self.fh = os.fdopen(fd, "a", encoding="utf-8")
            self.ino = os.fstat(fd).st_ino
        return self.fh

    def write(self, lines):
        fh = self._open()
        try:
            fh.write("".join(f"{text}\n" for text in lines))
            fh.flush()
        except OSError:
            self.fh = None  # the next write starts with a fresh handle
            raise


class SyslogSink:
    """RFC 5424 messages to a local syslog socket (datagrams) or to a server over UDP or TCP."""

    def __init__(self, kind, address):
        self.kind, self.address = kind, address
        self.sock = None

    def _connect(self):
        if self.sock is None:
            if self.kind == "unix":
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            else:
                family = socket.getaddrinfo(*self.address)[0][0]
                sock = socket.socket(family, socket.SOCK_STREAM if self.kind == "tcp" else socket.SOCK_DGRAM)
            sock.settimeout(5)
            try:
                sock.connect(self.address)
            except OSError:
                sock.close()
                raise
            self.sock = sock
        return self.sock

    def _message(self, text):
        stamp = datetime.now(dt_timezone.utc).isoformat(timespec="microseconds")
        return f"<{SYSLOG_AUTHPRIV_INFO}>1 {stamp} {socket.gethostname()} cryo {os.getpid()} audit - {text}"

    def write(self, lines):
        try:
            sock = self._connect()
            for text in lines:
                data = self._message(text).encode()
                if self.kind == "tcp":
                    sock.sendall(data + b"\n")
                else:
                    sock.send(data)
        except OSError:
            if self.sock is not None:
                self.sock.close()
            self.sock = None
            raise


def parse_target(target):
    """The sink a CRYO_AUDIT_STREAM value names; ImproperlyConfigured for anything else."""
    if target.startswith("file:"):
        path = target[len("file:"):]
        if not os.path.isabs(path):
            raise ImproperlyConfigured(f"CRYO_AUDIT_STREAM={target!r}: the file must be an absolute path")
        return FileSink(path)
    if target == "syslog":
        return SyslogSink("unix", "/dev/log")
    if target.startswith("syslog:/"):
        return SyslogSink("unix", target[len("syslog:"):])
    if target.startswith(("syslog+udp://", "syslog+tcp://")):
        parts = urlsplit(target)
        if not parts.hostname or not parts.port:
            raise ImproperlyConfigured(f"CRYO_AUDIT_STREAM={target!r}: give a host and a port")
        return SyslogSink(parts.scheme.split("+")[1], (parts.hostname, parts.port))
    raise ImproperlyConfigured(
        f"CRYO_AUDIT_STREAM={target!r} is not one of file:/PATH, syslog, syslog:/SOCKET, "
        "syslog+udp://HOST:PORT, syslog+tcp://HOST:PORT"
    )


_sinks = {}
_lock = threading.Lock()


def _sink(target):
    with _lock:
        if target not in _sinks:
            _sinks[target] = parse_target(target)
        return _sinks[target]


def publish(events):
    """Stream new audit rows, if a stream is configured."""
    target = getattr(settings, "CRYO_AUDIT_STREAM", "")
    if not target or not events:
        return
    lines = [line(event) for event in events]
    try:
        sink = _sink(target)
        with _lock:
            sink.write(lines)
    except OSError as exc:
        message = f"the audit stream {target} cannot be written ({exc.strerror or exc})"
        if getattr(settings, "CRYO_AUDIT_FAIL_CLOSED", False):
            raise AuditUnavailable(f"{message}; nothing was done") from exc
        log.error("%s; %d audit row(s) are only in the database", message, len(lines))
