#!/usr/bin/env bash
# `make bench`: run Cryo's benchmarks (bench/run.py); results go to bench/results/ with the machine's facts.
#   bash deploy/bench.sh              every benchmark
#   bash deploy/bench.sh dashboard    only the dashboard one
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/python-env.sh
# The engine benchmarks drive real Docker daemons (and Podman) and agents: the same provisioning as the tests.
if [[ $(id -u) -eq 0 ]]; then bash deploy/provision-host.sh; fi
bash deploy/services.sh redis
exec .venv/bin/python bench/run.py "$@"
