"""CRIU's own words: its error lines from a dump or restore log, bounded in size.

A CRIU log line looks like

    (00.039796) Error (criu/sockets.c:628): sockets: Can't get 1:16 opt: Operation not supported
    (00.112233)      1: Error (criu/files-reg.c:2204): Can't open file tmp/held on restore: No such file ...

(restore logs put the restoring task's pid before the level). What a person needs is the Error lines
and the line just before each one, without the timestamps, and not the whole multi-megabyte log.
"""
import re

LINE = re.compile(r"^\((?P<time>\d+\.\d+)\)\s+(?:(?P<pid>\d+):\s+)?(?P<text>.*)$")
ERROR = re.compile(r"^(?:pie: \d+: )?Error \(")
# Error lines CRIU prints on every run under runc, whatever happens next: never the reason for a failure.
BENIGN = (
    re.compile(r"rlimit: Can't setup RLIMIT_NOFILE for self"),
)
# Lines that only say that something above failed.
GENERIC = (
    re.compile(r"Dumping FAILED\.$"),
    re.compile(r"Restoring FAILED\.$"),
    re.compile(r"Dump files \(pid: \d+\) failed with -?\d+$"),
    re.compile(r"Restoring FAILED"),
)
MAX_LINES = 16
MAX_CHARS = 3000
TAIL_BYTES = 4 << 20  # CRIU writes the failure at the end; a -v4 dump log of a big process is many MB


def _strip(raw):
    m = LINE.match(raw.rstrip("\n"))
    if not m:
        return None
    text = m.group("text").strip()
    return f"{m.group('pid')}: {text}" if m.group("pid") else text


def _is_error(text):
    return bool(ERROR.match(text.split(": ", 1)[1] if re.match(r"^\d+: ", text) else text))


def errors_from_text(text, *, max_lines=MAX_LINES, max_chars=MAX_CHARS):
    """CRIU's Error lines, each after the line that came just before it, timestamps removed.

    Errors CRIU prints on every run (BENIGN) are left out when there are others. At most max_lines
    lines and max_chars characters; when there are more, the first errors (where the failure started)
    and the last ones (what CRIU concluded) are kept.
    """
    lines = [s for s in (_strip(raw) for raw in (text or "").splitlines()) if s is not None]
    error_at = [i for i, s in enumerate(lines) if _is_error(s)]
    real = [i for i in error_at if not any(p.search(lines[i]) for p in BENIGN)]
    error_at = real or error_at
    picked = []
    for i in error_at:
        if i > 0 and not _is_error(lines[i - 1]) and (not picked or picked[-1] != i - 1):
            picked.append(i - 1)
        if not picked or picked[-1] != i:
            picked.append(i)
    out = [lines[i] for i in picked]
    if len(out) > max_lines:
        head = max_lines // 2
        out = out[:head] + ["…"] + out[-(max_lines - head - 1):]
    while out and sum(len(s) + 1 for s in out) > max_chars:
        out = out[:-2] + [out[-1][: max(0, max_chars // 4)]] if len(out) > 2 else [out[0][:max_chars]]
        if len(out) <= 1:
            break
    return out


def errors_from_file(path, **limits):
    """errors_from_text() of a log file's last TAIL_BYTES; [] when it cannot be read."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - TAIL_BYTES))
            data = fh.read()
    except OSError:
        return []
    return errors_from_text(data.decode("utf-8", "replace"), **limits)


def key_lines(lines, limit=4):
    """The Error lines that say why (no context lines, no "... FAILED" conclusions), at most `limit`."""
    errors = [s for s in lines if _is_error(s)]
    specific = [s for s in errors if not any(p.search(s) for p in GENERIC)]
    return (specific or errors)[:limit]
