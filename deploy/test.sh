#!/usr/bin/env bash
# `make test`: provision what the suite needs on this machine, then run the whole suite.
# Under CI=true the whole suite runs on PostgreSQL (production's database), then what can differ per database runs
# again on SQLite (make run's): the unit tier (queries, constraints, the audit chain's guards) and one
# integration file whose dashboard, control process and agents share one SQLite file as make run's do. The engine
# tiers above that exercise agents and engines, not the database, so they run once. Extra arguments go to pytest
# (and then replace the tier selection).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin${PATH:+:$PATH}"

step() { echo "==> $*" >&2; }

step "Docker engine, Podman and CRIU"
if [[ $(id -u) -eq 0 ]]; then
    bash deploy/provision-host.sh --docker --podman
else
    echo "test: not root: the engine tests need root to start their own Docker daemons and Podman services" >&2
fi
step "Redis"
bash deploy/services.sh redis
step "Python environment"
bash deploy/python-env.sh
step "Chromium for the browser tests"
bash deploy/browser.sh
step "OpenID Connect provider for the single sign-on tests"
bash deploy/oidc-provider.sh

run_suite() {
    local label=$1; shift
    step "Test suite on $label"
    local status=0
    .venv/bin/python -m pytest --durations=15 "$@" || status=$?
    if [[ $status -eq 5 ]]; then
        echo "test: no test was collected" >&2
        return 1
    fi
    return $status
}

if [[ "${CI:-}" == "true" || "${CI:-}" == "1" ]]; then
    step "PostgreSQL"
    pg_url=$(bash deploy/services.sh postgres)
    DATABASE_URL="$pg_url" run_suite "PostgreSQL" "$@"
    if [[ $# -gt 0 ]]; then
        (unset DATABASE_URL; run_suite "SQLite" "$@")
    else
        (unset DATABASE_URL; run_suite "SQLite (unit, one integration file)" tests/unit \
            tests/integration/test_checkpoint_and_restore.py)
    fi
else
    if [[ -n ${DATABASE_URL:-} ]]; then run_suite "DATABASE_URL" "$@"; else run_suite "SQLite" "$@"; fi
fi
