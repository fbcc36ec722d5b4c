#!/usr/bin/env bash
# Debian's Chromium for the Playwright browser tests (tests/browser). Playwright's own browser download is never used.
set -euo pipefail
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin${PATH:+:$PATH}"
export DEBIAN_FRONTEND=noninteractive

if [[ -x /usr/bin/chromium ]]; then
    exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "browser: /usr/bin/chromium is missing; install it as root: apt-get install chromium" >&2
    exit 1
fi
command -v apt-get >/dev/null || { echo "browser: not a Debian/Ubuntu machine; install Chromium at /usr/bin/chromium" >&2; exit 1; }
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
/usr/bin/chromium --version >&2
