"""The socket probe runs this machine's CRIU for real: a listening TCP socket dumped, restored, answering."""
import os

import pytest

from snapshots.host import criu

from ..harness.engine import missing_engine

pytestmark = [pytest.mark.engine]


@pytest.fixture
def host_criu():
    if os.geteuid() != 0:
        missing_engine("the CRIU probe needs root")
    path = criu.find_criu()
    if not path:
        missing_engine("criu is not installed (deploy/provision-host.sh installs it)")
    return path


def test_the_probe_dumps_and_restores_a_listening_socket_and_leaves_nothing_behind(host_criu, tmp_path):
    outcome = criu.probe_sockets(host_criu, tmp_root=tmp_path)
    assert outcome.ok, f"{outcome.stage}: {outcome.detail}\n" + "\n".join(outcome.criu_errors)
    assert outcome.stage == "done" and outcome.criu_errors == []
    assert 0 < outcome.seconds < 30
    assert list(tmp_path.iterdir()) == [], "the image directory is removed"


def test_the_restored_probe_process_is_gone_afterwards(host_criu, tmp_path):
    before = _probe_servers()
    outcome = criu.probe_sockets(host_criu, tmp_root=tmp_path)
    assert outcome.ok and outcome.port
    assert _probe_servers() - before == set(), "no probe server keeps running"
    listening = {int(fields[1].split(":")[1], 16) for fields in (line.split() for line in
                 open("/proc/net/tcp").read().splitlines()[1:]) if fields[3] == "0A"}
    assert outcome.port not in listening, "nothing listens on the probe's port any more"


def test_the_host_facts_of_this_machine_say_criu_can_checkpoint_sockets(host_criu):
    found = criu.facts(host_criu)
    assert found["criu_ok"] and found["criu_sockets_ok"], found
    assert found["criu_message"] == found["criu_sockets_message"] == ""
    assert criu.parse_version(found["criu_version"]) >= (4, 2, 0), "provisioning installs CRIU 4.2 or newer"


def _probe_servers():
    """Live (not zombie) processes running the probe's server code."""
    found = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmdline = fh.read()
            with open(f"/proc/{pid}/stat") as fh:
                state = fh.read().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if b"cryo-probe-ok" in cmdline and state not in ("Z", "X"):
            found.add(int(pid))
    return found


