"""Established TCP connections of a container, as its network namespace shows them, for the pre-flight.

With `tcp-established` in /etc/criu/runc.conf (deploy/provision-host.sh writes it), CRIU checkpoints a
container's established TCP connections and restores them with it. That is sound for a connection whose
two ends are both inside the container (both are frozen and restored together, on the container's own
loopback), and not for one whose peer is outside: that peer is neither frozen nor restored, so a clone,
a migration, a second restore of the same checkpoint or a restore from a leave-running checkpoint would
bring back a connection the peer no longer has, or a second copy of one it still has.

`/proc/<pid>/net/tcp` and `tcp6` list the sockets of the network namespace of <pid> (the container's
main process, `State.Pid`); any user may read them, so an unprivileged agent can look.

Standard library only (no Django): the host agent runs it on the engine's machine.
"""
import ipaddress
import os
import sys
from dataclasses import dataclass

ESTABLISHED = "01"


@dataclass(frozen=True)
class Connection:
    local: str
    local_port: int
    remote: str
    remote_port: int

    @property
    def inside(self):
        """Both ends on the namespace's loopback: the peer is a process of the same network namespace."""
        return _is_loopback(self.remote)

    def __str__(self):
        return f"{_show(self.local)}:{self.local_port} -> {_show(self.remote)}:{self.remote_port}"


def parse(text):
    """The ESTABLISHED connections in the text of /proc/<pid>/net/tcp or tcp6."""
    found = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 4 or fields[3] != ESTABLISHED:
            continue
        (local, local_port), (remote, remote_port) = _address(fields[1]), _address(fields[2])
        found.append(Connection(local, local_port, remote, remote_port))
    return found


def established(pid, proc="/proc"):
    """The established TCP connections (IPv4 and IPv6) of the network namespace process `pid` is in."""
    if not pid or not os.path.isdir(f"{proc}/{pid}"):
        raise ProcessLookupError(f"no process {pid}: is the container running?")
    found = []
    for name in ("tcp", "tcp6"):
        try:
            with open(f"{proc}/{pid}/net/{name}", encoding="ascii") as fh:
                found.extend(parse(fh.read()))
        except FileNotFoundError:
            if name == "tcp":
                raise
            # no IPv6 in this kernel
    return found


def outside_peers(pid, *, shared_network=False, proc="/proc"):
    """Connections whose peer is outside the container: every one whose remote end is not on loopback,
    and every one at all when the container shares its network namespace (network mode host or
    container:<other>), because loopback is then shared with processes outside the container."""
    return [c for c in established(pid, proc) if shared_network or not c.inside]


def _address(field):
    hex_ip, hex_port = field.split(":")
    raw = bytes.fromhex(hex_ip)
    # The kernel prints each 32-bit word of the address in the machine's byte order.
    if sys.byteorder == "little":
        raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    address = ipaddress.ip_address(raw)
    mapped = getattr(address, "ipv4_mapped", None)
    return (f"::ffff:{mapped}" if mapped else str(address)), int(hex_port, 16)


def _is_loopback(text):
    address = ipaddress.ip_address(text)
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def _show(text):
    return f"[{text}]" if ":" in text else text
