#!/usr/bin/env bash
# Create .venv and install the pinned requirements (runtime and test) and the `cryo` and `cryo-agent` commands
# when they changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
    echo "python-env: Python 3.11 or newer is needed as \$PYTHON (found: $("$PYTHON" --version 2>&1 || echo none))" >&2
    exit 1
fi
if [[ ! -x .venv/bin/python ]]; then
    "$PYTHON" -m venv .venv || { echo "python-env: cannot create .venv (on Debian: apt-get install python3-venv)" >&2; exit 1; }
fi
stamp=.venv/.requirements.sha256
want=$(cat requirements.txt requirements-dev.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -r requirements-dev.txt
    # The `cryo` and `cryo-agent` commands, from this checkout (editable: no copy of the code).
    .venv/bin/python -m pip install --quiet --no-deps --editable .
    echo "$want" > "$stamp"
fi
