#!/usr/bin/env bash
# Does this machine's CRIU really checkpoint on this kernel?
#
# Usage: criu-probe.sh [--criu PATH] [--facts]
#
# Runs `criu check`, then dumps and restores a tiny process holding a listening
# TCP socket on 127.0.0.1; after the restore the socket must answer. (`criu
# check` alone is not enough: CRIU 4.1.1 says "Looks good" on Linux >= 6.16 and
# then cannot dump any process holding a TCP or UDP socket.) Exit 0 and one
# line on standard output when it passes; exit 1 with the reason and CRIU's own
# error lines on standard error when it does not. --facts prints the host facts
# Cryo reports (JSON). Needs root and python3 (standard library only); takes
# about a third of a second. The probe is snapshots/host/criu.py, the same code
# the host agent runs.
set -euo pipefail
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin${PATH:+:$PATH}"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=$(command -v python3 || true)
[[ -n $PYTHON ]] || { echo "criu-probe: python3 not found (deploy/provision-host.sh installs it)" >&2; exit 1; }
cd "$ROOT"
exec "$PYTHON" -m snapshots.host.criu "$@"
