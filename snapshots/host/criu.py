"""Can this machine's CRIU really checkpoint here? Version, `criu check`, a socket probe, and the verdict.

`criu check` is not enough: CRIU 4.1.1 on Linux >= 6.16 says "Looks good" and then cannot dump any
process holding a TCP or UDP socket (the kernel refuses SO_PASSCRED/SO_PASSSEC on INET sockets since
6.16, and CRIU before 4.2 treats that as fatal: criu#2705, criu#2718, criu#2804). So the probe dumps
and restores a tiny process holding a listening TCP socket on 127.0.0.1, and the socket must answer
afterwards. It needs root (as CRIU does); when it cannot run, the verdict falls back on the known
broken (CRIU, kernel) pairs.

Standard library only (no Django): the host agent calls it, and so does `deploy/criu-probe.sh` through
`python3 -m snapshots.host.criu` before any virtualenv exists.
"""
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

from . import criu_logs

SEARCH_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
FIXED_IN = (4, 2)  # first CRIU that dumps INET sockets on Linux >= 6.16
BROKEN_FROM_KERNEL = (6, 16)
SOCKET_OPT_ERROR = re.compile(r"Can't get 1:(16|34)(\(\d+\))? opt")
PROBE_ANSWER = b"cryo-probe-ok\n"

# The probe's process: listens on 127.0.0.1 (a free port it writes to a file), answers each connection
# with PROBE_ANSWER. Its standard streams are /dev/null and it leads its own session, so CRIU can dump it
# without --shell-job or external file descriptors.
SERVER = """
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(8)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    c, _ = s.accept()
    c.sendall(%r)
    c.close()
""" % PROBE_ANSWER


def find_criu():
    """The criu a container runtime would run (runc looks it up on PATH), or None."""
    return shutil.which("criu") or shutil.which("criu", path=SEARCH_PATH)


def parse_version(text):
    """(4, 2, 1) from "4.2.1", "Version: 4.2" or "4.2-rc1"; None when there is no version in it."""
    m = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text or "")
    if not m:
        return None
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


def short_version(version):
    """"6.18" from "6.18.44-fc-v657" (what people call a kernel); the text itself when unparsable."""
    parsed = parse_version(version)
    return f"{parsed[0]}.{parsed[1]}" if parsed else (version or "?")


def criu_version(criu, timeout=20):
    """The version `criu --version` reports ("4.2.1"), or "" when it does not run."""
    try:
        out = subprocess.run([criu, "--version"], capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return ""
    m = re.search(r"^Version:\s*(\S+)", out.stdout, re.MULTILINE)
    return m.group(1) if m else ""


def criu_check(criu, timeout=60):
    """(passed, text) of `criu check`."""
    try:
        out = subprocess.run([criu, "check"], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"`criu check` did not finish within {timeout} s"
    except OSError as exc:
        return False, f"cannot run {criu}: {exc}"
    text = (out.stdout + out.stderr).strip()
    return out.returncode == 0 and "Looks good" in text, text


def sockets_known_broken(version, kernel):
    """True when this CRIU version cannot dump INET sockets on this kernel (CRIU < 4.2 on Linux >= 6.16)."""
    criu, linux = parse_version(version), parse_version(kernel)
    if not criu or not linux:
        return False
    return criu[:2] < FIXED_IN and linux[:2] >= BROKEN_FROM_KERNEL


def upgrade_message(version, kernel):
    return (f"CRIU {version} on kernel {short_version(kernel)} cannot checkpoint processes with network sockets: "
            f"upgrade to CRIU \u2265 {FIXED_IN[0]}.{FIXED_IN[1]} (deploy/provision-host.sh installs one)")


@dataclass
class ProbeResult:
    """What the socket probe saw. `stage` is where it stopped: start, dump, restore, answer or done."""

    ok: bool
    stage: str
    seconds: float
    detail: str = ""
    criu_errors: list = field(default_factory=list)
    port: int = None

    @property
    def socket_options_refused(self):
        return any(SOCKET_OPT_ERROR.search(line) for line in self.criu_errors)


def probe_sockets(criu, *, timeout=30, python=None, tmp_root=None):
    """Dump and restore a tiny process holding a listening TCP socket; the socket must answer afterwards.

    Needs root. Leaves nothing behind: the original process is gone after the dump, the restored one is
    killed, and the image directory is removed. `seconds` covers all of it, clean-up included.
    """
    started = time.monotonic()
    outcome = _probe(criu, timeout=timeout, python=python or sys.executable or "python3", tmp_root=tmp_root)
    outcome.seconds = round(time.monotonic() - started, 3)
    return outcome


def _probe(criu, *, timeout, python, tmp_root):
    workdir = tempfile.mkdtemp(prefix="cryo-criu-probe.", dir=tmp_root)
    images = os.path.join(workdir, "images")
    os.mkdir(images)
    port_file = os.path.join(workdir, "port")
    restored_pid = port = None

    def result(ok, stage, detail="", log_name=None):
        errors = criu_logs.errors_from_file(os.path.join(images, log_name)) if log_name else []
        return ProbeResult(ok, stage, 0.0, detail, errors, port)

    def run_criu(args):
        return subprocess.run([criu, *args], capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    try:
        with open(os.devnull, "rb") as null_in, open(os.devnull, "wb") as null_out:
            server = subprocess.Popen([python, "-I", "-S", "-c", SERVER, port_file], cwd="/", stdin=null_in,
                                      stdout=null_out, stderr=null_out, start_new_session=True)
        try:
            port = _wait_for_port(port_file, server, timeout=10)
            if port is None:
                return result(False, "start", f"the probe's own server ({python}) did not start")
            try:
                dump = run_criu(["dump", "-t", str(server.pid), "-D", images, "-o", "dump.log", "-v4"])
            except subprocess.TimeoutExpired:
                return result(False, "dump", f"criu dump did not finish within {timeout} s", "dump.log")
            if dump.returncode != 0:
                return result(False, "dump", f"criu dump failed (exit {dump.returncode})", "dump.log")
            # The dumped process was killed by CRIU; reap it so its pid is free for the restore.
            server.wait(timeout=10)
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
        pid_file = os.path.join(workdir, "restored.pid")
        try:
            restore = run_criu(["restore", "-D", images, "-o", "restore.log", "-v4", "-d", "--pidfile", pid_file])
        except subprocess.TimeoutExpired:
            return result(False, "restore", f"criu restore did not finish within {timeout} s", "restore.log")
        restored_pid = _read_pid(pid_file)
        if restore.returncode != 0:
            return result(False, "restore", f"criu restore failed (exit {restore.returncode})", "restore.log")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
                answer = _read_all(conn, len(PROBE_ANSWER))
        except OSError as exc:
            return result(False, "answer", f"the restored socket on 127.0.0.1:{port} does not answer: {exc}")
        if answer != PROBE_ANSWER:
            return result(False, "answer", f"the restored socket on 127.0.0.1:{port} answered {answer!r}")
        return result(True, "done")
    except (OSError, subprocess.SubprocessError) as exc:
        return result(False, "start", f"cannot run the probe: {exc}")
    finally:
        if restored_pid:
            _kill(restored_pid)
        shutil.rmtree(workdir, ignore_errors=True)


def facts(criu=None, *, probe=True, kernel=None):
    """The host's CRIU facts: criu_ok, criu_version, criu_message, criu_sockets_ok, criu_sockets_message.

    criu_ok: `criu check` passes. criu_sockets_ok: the probe dumped and restored a listening TCP
    socket (or, when the probe cannot run here, the version pair is not a known broken one).
    The messages say why not, in words a person can act on; they are empty when all is well.
    """
    kernel = kernel or platform.release()
    found = {"criu_ok": False, "criu_version": "", "criu_message": "", "criu_sockets_ok": False,
             "criu_sockets_message": ""}
    criu = criu or find_criu()
    if not criu:
        found["criu_message"] = "criu is not installed (deploy/provision-host.sh installs a working one)"
        found["criu_sockets_message"] = "criu is not installed"
        return found
    version = criu_version(criu)
    found["criu_version"] = version
    if not version:
        found["criu_message"] = f"{criu} does not run (`criu --version` fails)"
        found["criu_sockets_message"] = found["criu_message"]
        return found
    passed, text = criu_check(criu)
    found["criu_ok"] = passed
    if not passed:
        found["criu_message"] = (text.splitlines() or ["criu check failed"])[-1][:500]
    known_broken = sockets_known_broken(version, kernel)
    if not passed:
        found["criu_sockets_message"] = (
            upgrade_message(version, kernel) if known_broken else "not probed: `criu check` fails")
        return found
    if not probe or os.geteuid() != 0:  # the probe needs root: judge from the version pair alone
        found["criu_sockets_ok"] = not known_broken
        found["criu_sockets_message"] = upgrade_message(version, kernel) if known_broken else ""
        return found
    outcome = probe_sockets(criu)
    found["criu_sockets_ok"] = outcome.ok
    found["criu_sockets_message"] = "" if outcome.ok else sockets_message(version, kernel, outcome)
    return found


def sockets_message(version, kernel, outcome):
    """Why the probe failed, in a person's words, with CRIU's own error lines when there are some."""
    if outcome.socket_options_refused or (outcome.stage == "dump" and sockets_known_broken(version, kernel)):
        return upgrade_message(version, kernel)
    said = "; ".join(criu_logs.key_lines(outcome.criu_errors))
    text = (f"CRIU {version} on kernel {short_version(kernel)} could not checkpoint and restore a process with a "
            f"listening TCP socket ({outcome.stage}: {outcome.detail})")
    return f"{text}: {said}"[:1000] if said else text


_cache = {}


def cached_facts(max_age=60, **kwargs):
    """facts(), reused for max_age seconds: a starting worker asks twice within a second (enrollment, then
    its first heartbeat), and the probe does not need to run twice for that."""
    key = tuple(sorted(kwargs.items()))
    hit = _cache.get(key)
    if hit and time.monotonic() - hit[0] < max_age:
        return dict(hit[1])
    found = facts(**kwargs)
    _cache[key] = (time.monotonic(), found)
    return dict(found)


def _wait_for_port(path, process, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(path, encoding="ascii") as fh:
                return int(fh.read())
        except (OSError, ValueError):
            pass
        if process.poll() is not None:
            return None
        time.sleep(0.005)
    return None


def _read_pid(path):
    try:
        with open(path, encoding="ascii") as fh:
            return int(fh.read().strip())
    except (OSError, ValueError):
        return None


def _read_all(conn, size):
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def _kill(pid):
    """Kill the restored probe process and wait until it is dead (a zombie left to init counts)."""
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        return
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:  # our child when CRIU restored it under us; otherwise init reaps it
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        except ChildProcessError:
            pass
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
                if fh.read().rpartition(")")[2].split()[0] in ("Z", "X"):
                    return
        except (OSError, IndexError):
            return
        time.sleep(0.005)


def main(argv=None):
    """`python3 -m snapshots.host.criu [--criu PATH] [--facts]`: run the probe, print the verdict.

    Exit 0 when `criu check` passes and the socket probe succeeds, 1 otherwise (the reason on
    standard error, with CRIU's own error lines).
    """
    import argparse

    parser = argparse.ArgumentParser(prog="criu-probe", description=main.__doc__.splitlines()[0])
    parser.add_argument("--criu", help="the criu to probe (default: criu on PATH)")
    parser.add_argument("--facts", action="store_true", help="print the host facts as JSON")
    args = parser.parse_args(argv)
    criu = args.criu or find_criu()
    if not criu:
        print("criu-probe: criu is not installed", file=sys.stderr)
        return 1
    if args.facts:
        import json

        found = facts(criu)
        print(json.dumps(found, indent=2, ensure_ascii=False))
        return 0 if found["criu_ok"] and found["criu_sockets_ok"] else 1
    if os.geteuid() != 0:
        print("criu-probe: must run as root (CRIU needs it)", file=sys.stderr)
        return 1
    version = criu_version(criu) or "?"
    passed, text = criu_check(criu)
    if not passed:
        print(f"criu-probe: {criu} ({version}): `criu check` fails:\n{text}", file=sys.stderr)
        return 1
    outcome = probe_sockets(criu)
    if not outcome.ok:
        print(f"criu-probe: {criu} ({version}): {sockets_message(version, platform.release(), outcome)}",
              file=sys.stderr)
        for line in outcome.criu_errors:
            print(f"  {line}", file=sys.stderr)
        return 1
    print(f"criu-probe: {criu} (CRIU {version}) passes `criu check` and dumped and restored a listening TCP "
          f"socket that answers afterwards ({outcome.seconds:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
