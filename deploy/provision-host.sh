#!/usr/bin/env bash
# Make this machine a CRIU-capable Docker host.
#
# Installs Docker Engine (docker.io), the tools the test image and the test
# suite need, and a CRIU that passes `criu check` on this kernel. When the
# distribution's own criu is missing or fails its self-check, CRIU 4 is taken
# from Debian 13 "trixie" and unpacked into $CRIU_PREFIX (default /opt/criu4)
# together with the trixie libraries it needs; a wrapper at
# /usr/local/sbin/criu runs it through trixie's own dynamic loader, so the
# system's libc is left untouched.
#
# Every step is skipped when already satisfied; a second run is a quick no-op.
# No daemon is started (see deploy/dockerd-instance.sh for that).
#
# Environment:
#   CRIU_PREFIX   where the trixie CRIU is unpacked (default /opt/criu4)
#   CRIU_MIRROR   Debian mirror to fetch trixie packages from
#                 (default: the Debian mirror already used in /etc/apt)
set -euo pipefail

export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin${PATH:+:$PATH}"
export DEBIAN_FRONTEND=noninteractive

APT_PACKAGES=(docker.io busybox-static gcc libc6-dev zstd redis-server iproute2 ca-certificates)

CRIU_PREFIX=${CRIU_PREFIX:-/opt/criu4}
CRIU_WRAPPER=/usr/local/sbin/criu
CRIU_SUITE=trixie
CRIU_WORKDIR=/var/cache/cryo-criu4
# criu from trixie plus every shared library it loads (directly or indirectly).
CRIU_PACKAGES=(
    criu libcompel1 libc6 libgnutls30t64 libnftables1 libnl-3-200 libprotobuf-c1
    libbsd0 libnet1 libuuid1 libmd0 libnftnl11 libmnl0 libjansson4 libxtables12
    libgmp10 libnettle8t64 libhogweed6t64 libidn2-0 libunistring5 libtasn1-6
    libp11-kit0 libffi8 libzstd1 libbrotli1 zlib1g libedit2 libbz2-1.0
)
DEBIAN_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

log() { echo "provision-host: $*" >&2; }
die() {
    echo "provision-host: ERROR: $*" >&2
    exit 1
}

# ---------------------------------------------------------------------------
# Preconditions
# ---------------------------------------------------------------------------
check_host() {
    local problems=()
    if [[ $(id -u) -ne 0 ]]; then
        problems+=("must run as root (try: sudo $0)")
    fi
    local os_id="" os_like=""
    if [[ -r /etc/os-release ]]; then
        # shellcheck source=/dev/null
        os_id=$(. /etc/os-release && echo "${ID:-}")
        # shellcheck source=/dev/null
        os_like=$(. /etc/os-release && echo "${ID_LIKE:-}")
    fi
    case " $os_id $os_like " in
        *" debian "* | *" ubuntu "*) ;;
        *) problems+=("needs Debian or Ubuntu (found ID='${os_id:-unknown}' in /etc/os-release)") ;;
    esac
    local tool
    for tool in apt-get dpkg dpkg-query; do
        command -v "$tool" >/dev/null 2>&1 || problems+=("'$tool' not found: this script needs a Debian/Ubuntu package manager")
    done
    if [[ ${#problems[@]} -gt 0 ]]; then
        local p
        for p in "${problems[@]}"; do
            echo "provision-host: ERROR: $p" >&2
        done
        exit 1
    fi
}

# ---------------------------------------------------------------------------
# Distribution packages
# ---------------------------------------------------------------------------
APT_UPDATED=0
apt_update_once() {
    if [[ $APT_UPDATED -eq 0 ]]; then
        log "apt-get update"
        apt-get update -q >&2 || die "apt-get update failed; check /etc/apt/sources.list* and network access to the package mirror"
        APT_UPDATED=1
    fi
}

is_installed() {
    [[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null) == "ii"* ]]
}

# Keep package maintainer scripts from starting services (dockerd, containerd,
# redis-server) during installation, unless the machine already has a policy.
POLICY_RC=/usr/sbin/policy-rc.d
POLICY_RC_OURS=0
block_service_starts() {
    if [[ ! -e $POLICY_RC ]]; then
        printf '#!/bin/sh\n# Temporary: do not start services while provisioning.\nexit 101\n' >"$POLICY_RC"
        chmod 0755 "$POLICY_RC"
        POLICY_RC_OURS=1
    fi
}
restore_service_starts() {
    if [[ $POLICY_RC_OURS -eq 1 ]]; then
        rm -f "$POLICY_RC"
        POLICY_RC_OURS=0
    fi
}
trap restore_service_starts EXIT

install_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        is_installed "$pkg" || missing+=("$pkg")
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        return 0
    fi
    apt_update_once
    log "installing: ${missing[*]}"
    block_service_starts
    apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 ||
        die "apt-get install ${missing[*]} failed (see the apt output above)"
    restore_service_starts
}

# ---------------------------------------------------------------------------
# CRIU
# ---------------------------------------------------------------------------
criu_looks_good() {
    command -v criu >/dev/null 2>&1 || return 1
    local out
    out=$(criu check 2>&1) || true
    [[ $out == *"Looks good"* ]]
}

# Sets TRIPLET (library directory name) and LOADER (dynamic loader file name).
TRIPLET=""
LOADER=""
detect_multiarch() {
    local arch
    arch=$(dpkg --print-architecture)
    case "$arch" in
        amd64) TRIPLET=x86_64-linux-gnu LOADER=ld-linux-x86-64.so.2 ;;
        arm64) TRIPLET=aarch64-linux-gnu LOADER=ld-linux-aarch64.so.1 ;;
        *) die "no CRIU fallback for architecture '$arch': install a CRIU >= 4 that passes 'criu check' by hand" ;;
    esac
}

# The Debian mirror this machine already uses (from /etc/apt/sources.list and
# /etc/apt/sources.list.d/*.{list,sources}); deb.debian.org when none is found
# (for example on Ubuntu).
debian_mirror() {
    if [[ -n ${CRIU_MIRROR:-} ]]; then
        echo "${CRIU_MIRROR%/}"
        return
    fi
    local uri
    uri=$(
        {
            # One-line format: deb [options] URI suite components
            cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
                sed -n -E 's/^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+).*/\2/p'
            # deb822 format: URIs: one or more URIs
            cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
                sed -n -E 's/^URIs:[[:space:]]*(.*)$/\1/p' | tr -s ' \t' '\n'
        } | grep -E '^https?://[^/]+/debian/?$' | head -n 1
    ) || true
    uri=${uri:-http://deb.debian.org/debian}
    echo "${uri%/}"
}

install_criu_fallback() {
    local triplet=$TRIPLET loader=$LOADER

    if [[ ! -r $DEBIAN_KEYRING ]]; then
        install_packages debian-archive-keyring
    fi
    [[ -r $DEBIAN_KEYRING ]] || die "$DEBIAN_KEYRING is missing; install the debian-archive-keyring package"

    local mirror
    mirror=$(debian_mirror)
    log "CRIU: fetching criu 4 from Debian $CRIU_SUITE ($mirror) into $CRIU_PREFIX"

    # Private apt configuration: its own sources list, lists, state and cache,
    # so the machine's own apt state is not touched.
    rm -rf "$CRIU_WORKDIR"
    mkdir -p "$CRIU_WORKDIR"/{lists/partial,cache/archives/partial,debs}
    : >"$CRIU_WORKDIR/status"
    echo "deb [signed-by=$DEBIAN_KEYRING] $mirror $CRIU_SUITE main" >"$CRIU_WORKDIR/sources.list"
    local apt_opts=(
        -o "Dir::State::Lists=$CRIU_WORKDIR/lists"
        -o "Dir::State::status=$CRIU_WORKDIR/status"
        -o "Dir::Cache=$CRIU_WORKDIR/cache"
        -o "Dir::Etc::SourceList=$CRIU_WORKDIR/sources.list"
        -o "Dir::Etc::SourceParts=/dev/null"
        -o "Dir::Etc::Preferences=/dev/null"
        -o "Dir::Etc::PreferencesParts=/dev/null"
        -o "APT::Sandbox::User=root"
    )
    apt-get "${apt_opts[@]}" update -q >&2 ||
        die "could not read the Debian $CRIU_SUITE package lists from $mirror (set CRIU_MIRROR to a reachable Debian mirror)"
    (cd "$CRIU_WORKDIR/debs" && apt-get "${apt_opts[@]}" download "${CRIU_PACKAGES[@]}" >&2) ||
        die "could not download the CRIU packages from Debian $CRIU_SUITE: ${CRIU_PACKAGES[*]}"

    # Unpack into a fresh directory, then swap it in.
    local staging="$CRIU_PREFIX.new" deb
    rm -rf "$staging"
    mkdir -p "$staging"
    for deb in "$CRIU_WORKDIR"/debs/*.deb; do
        dpkg -x "$deb" "$staging"
    done
    [[ -x $staging/usr/sbin/criu ]] || die "the unpacked packages contain no usr/sbin/criu"
    [[ -e $staging/usr/lib/$triplet/$loader ]] || die "the unpacked packages contain no usr/lib/$triplet/$loader"
    (cd "$CRIU_WORKDIR/debs" && ls -1 ./*.deb) >"$staging/.cryo-packages"
    rm -rf "$CRIU_PREFIX"
    mv "$staging" "$CRIU_PREFIX"
    rm -rf "$CRIU_WORKDIR"

    write_criu_wrapper "$triplet" "$loader"
}

write_criu_wrapper() {
    local triplet=$1 loader=$2 tmp
    local libdir="$CRIU_PREFIX/usr/lib/$triplet"
    mkdir -p "$(dirname "$CRIU_WRAPPER")"
    tmp=$(mktemp "$CRIU_WRAPPER.XXXXXX")
    cat >"$tmp" <<EOF
#!/bin/sh
# CRIU 4 from Debian $CRIU_SUITE, run with its own C library (installed by deploy/provision-host.sh).
exec "$libdir/$loader" --library-path "$libdir:$CRIU_PREFIX/lib/$triplet" "$CRIU_PREFIX/usr/sbin/criu" "\$@"
EOF
    chmod 0755 "$tmp"
    mv -f "$tmp" "$CRIU_WRAPPER"
}

ensure_criu() {
    if criu_looks_good; then
        return 0
    fi
    if command -v criu >/dev/null 2>&1; then
        log "CRIU: '$(command -v criu) check' does not say 'Looks good'; installing CRIU 4 from Debian $CRIU_SUITE"
    else
        log "CRIU: not installed; installing CRIU 4 from Debian $CRIU_SUITE"
    fi
    detect_multiarch
    # An earlier complete unpack only needs its wrapper back.
    if [[ -f $CRIU_PREFIX/.cryo-packages && -x $CRIU_PREFIX/usr/sbin/criu ]]; then
        write_criu_wrapper "$TRIPLET" "$LOADER"
    fi
    if ! criu_looks_good; then
        install_criu_fallback
    fi

    local found
    found=$(command -v criu || true)
    if [[ $found != "$CRIU_WRAPPER" ]]; then
        die "'criu' on PATH is '${found:-nothing}', not $CRIU_WRAPPER: put /usr/local/sbin before /usr/sbin in PATH"
    fi
    if ! criu_looks_good; then
        echo "provision-host: 'criu check' output:" >&2
        criu check >&2 || true
        die "CRIU is installed at $CRIU_WRAPPER but 'criu check' does not say 'Looks good' (see above); this kernel may lack checkpoint/restore support"
    fi
}

# ---------------------------------------------------------------------------
main() {
    check_host
    install_packages "${APT_PACKAGES[@]}"
    local tool
    for tool in dockerd containerd runc docker; do
        command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found after installing docker.io; check the docker.io package"
    done
    ensure_criu

    local dockerd_version criu_version
    dockerd_version=$(dockerd --version 2>/dev/null | sed -E 's/^Docker version ([^,]+).*/\1/')
    criu_version=$(criu --version 2>/dev/null | sed -n -E 's/^Version: *//p' | head -n 1)
    echo "provision-host: ready: dockerd ${dockerd_version:-?}, criu ${criu_version:-?} ($(command -v criu))"
}

main "$@"
