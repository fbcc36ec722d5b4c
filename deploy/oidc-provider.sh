#!/usr/bin/env bash
# The OpenID Connect provider the single sign-on tests start (tests/oidc: oidc-provider from npm, pinned by its
# package-lock.json). Installs it with `npm ci` when the lock file changed; the tests start and stop it themselves.
set -euo pipefail
cd "$(dirname "$0")/../tests/oidc"
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin${PATH:+:$PATH}"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
    else
        echo "oidc-provider: node and npm are missing; install Node.js 20.19 or newer (apt-get install nodejs npm)" >&2
        exit 1
    fi
fi
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; then
    echo "oidc-provider: Node.js $(node --version) is too old; oidc-provider needs 20.19 or newer" >&2
    exit 1
fi
stamp=node_modules/.package-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
    npm ci --no-audit --no-fund --loglevel=error
    echo "$want" > "$stamp"
fi
