"""The pre-flight can see a container's TCP connections to peers outside it, from /proc/<pid>/net.

The texts are real: a cryo-pingpong:1 container (--network none: a server on 127.0.0.1:7000 and its
one client), a host process connected to a Debian mirror, and IPv6 loopback and v4-mapped connections.
"""
from pathlib import Path

import pytest

from snapshots.host import connections

FIXTURES = Path(__file__).parent / "fixtures" / "proc-net"
PINGPONG = (FIXTURES / "pingpong-tcp.txt").read_text()
MIRROR = (FIXTURES / "mirror-tcp.txt").read_text()
LOOPBACK6 = (FIXTURES / "loopback-tcp6.txt").read_text()


def test_a_connection_between_two_processes_of_the_container_is_inside():
    found = connections.parse(PINGPONG)
    assert [str(c) for c in found] == ["127.0.0.1:7000 -> 127.0.0.1:36054", "127.0.0.1:36054 -> 127.0.0.1:7000"]
    assert all(c.inside for c in found), "listening sockets are not connections, loopback peers are inside"


def test_a_connection_to_another_machine_is_outside():
    (found,) = connections.parse(MIRROR)
    assert (found.local, found.local_port, found.remote, found.remote_port) == ("192.0.2.2", 46932, "203.0.113.80", 80)
    assert not found.inside
    assert str(found) == "192.0.2.2:46932 -> 203.0.113.80:80"


def test_ipv6_loopback_and_v4_mapped_loopback_are_inside():
    found = connections.parse(LOOPBACK6)
    assert [str(c) for c in found] == ["[::1]:43329 -> [::1]:41722",
                                       "[::ffff:127.0.0.1]:56415 -> [::ffff:127.0.0.1]:45096"]
    assert all(c.inside for c in found)


def write_proc(tmp_path, tcp, tcp6=None):
    net = tmp_path / "4242" / "net"
    net.mkdir(parents=True)
    (net / "tcp").write_text(tcp)
    if tcp6 is not None:
        (net / "tcp6").write_text(tcp6)
    return tmp_path


def test_outside_peers_lists_only_connections_that_leave_the_container(tmp_path):
    proc = write_proc(tmp_path, PINGPONG + MIRROR.split("\n", 1)[1], LOOPBACK6)
    assert len(connections.established(4242, proc=proc)) == 5
    assert [str(c) for c in connections.outside_peers(4242, proc=proc)] == ["192.0.2.2:46932 -> 203.0.113.80:80"]


def test_in_a_shared_network_namespace_every_connection_may_leave_the_container(tmp_path):
    proc = write_proc(tmp_path, PINGPONG)
    assert connections.outside_peers(4242, proc=proc) == []
    assert len(connections.outside_peers(4242, shared_network=True, proc=proc)) == 2


def test_a_kernel_without_ipv6_still_answers(tmp_path):
    assert len(connections.established(4242, proc=write_proc(tmp_path, PINGPONG))) == 2


def test_a_process_that_is_not_there_is_an_error_not_an_empty_list(tmp_path):
    with pytest.raises(ProcessLookupError, match="is the container running"):
        connections.established(0, proc=tmp_path)
    with pytest.raises(ProcessLookupError):
        connections.established(999999, proc=tmp_path)
