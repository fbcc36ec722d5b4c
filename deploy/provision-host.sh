#!/usr/bin/env bash
# Make this machine a CRIU-capable Docker host, Podman host, or both.
#
# Usage: provision-host.sh [--docker] [--podman]
#   (no option)  a Docker host, as before
#   --podman     a Podman host: rootful Podman (Debian's package) with its REST
#                service, which `cryo-agent --engine podman` talks to; on a
#                machine run by systemd, podman.socket is enabled
#                (unix:///run/podman/podman.sock); otherwise start the service
#                yourself: podman system service --time 0 unix:///run/podman/podman.sock
#   --docker --podman   both (what `make test` needs)
#
# Installs Docker Engine (docker.io), the tools the test image and the test
# suite need, and a CRIU that really checkpoints on this kernel. An existing
# CRIU is kept only when it is at least $CRIU_MIN_VERSION and passes
# deploy/criu-probe.sh: `criu check`, then a dump and restore of a tiny process
# holding a listening TCP socket that must answer afterwards (`criu check` alone
# says "Looks good" for CRIU 4.1.1 on Linux >= 6.16, which cannot dump any
# process holding an INET socket there). Otherwise CRIU $CRIU_PINNED_VERSION is
# taken from Debian unstable ("sid", or "forky" while it carries the same
# versions) and unpacked into $CRIU_PREFIX (default /opt/criu4) together with
# the libraries it needs; a wrapper at /usr/local/sbin/criu runs it through that
# C library's own dynamic loader, so the system's libc is left untouched.
#
# The packages are pinned: every .deb fetched must have exactly the version in
# CRIU_PINS below, or provisioning stops and says which one differs (the suites
# move; snapshot.debian.org would keep old versions, but it is not reachable
# from every machine, so the pins are checked against the mirror instead).
# When a pinned version has left the mirror, point CRIU_MIRROR at a snapshot,
# e.g. http://snapshot.debian.org/archive/debian/20261127T000000Z, or update
# the pins after checking the new versions with deploy/criu-probe.sh.
#
# Every step is skipped when already satisfied; a second run only probes CRIU
# (about half a second). No daemon is started (deploy/dockerd-instance.sh does).
#
# It also writes /etc/criu/runc.conf (unless that file exists and is not
# Cryo's) with `tcp-established`: runc passes this file to CRIU on every
# checkpoint and restore, and it is the only way to let Docker carry a TCP
# connection that is established inside the container (Docker never asks runc
# for it). See the README's "Known engine limits" for what that means for
# connections to peers outside the container.
#
# Environment:
#   CRIU_PREFIX   where the pinned CRIU is unpacked (default /opt/criu4)
#   CRIU_MIRROR   Debian mirror (or snapshot) to fetch the pinned packages from
#                 (default: the Debian mirror already used in /etc/apt)
#   CRYO_CRIU_TCP_ESTABLISHED=no   leave /etc/criu/runc.conf alone (and remove
#                 Cryo's): checkpoints of containers holding an established TCP
#                 connection then fail, as with plain Docker
set -euo pipefail

export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin${PATH:+:$PATH}"
export DEBIAN_FRONTEND=noninteractive

COMMON_PACKAGES=(busybox-static gcc libc6-dev zstd redis-server iproute2 ca-certificates python3 curl)
DOCKER_PACKAGES=(docker.io)
# Debian's podman (4.3 on Debian 12) with runc, which hands /etc/criu/runc.conf to CRIU as it does for Docker.
PODMAN_PACKAGES=(podman runc conmon containernetworking-plugins)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

CRIU_PREFIX=${CRIU_PREFIX:-/opt/criu4}
CRIU_WRAPPER=/usr/local/sbin/criu
CRIU_MIN_VERSION=4.2
CRIU_PINNED_VERSION=4.2.1
# Suites searched for the pinned versions, in this order.
CRIU_SUITES=(sid forky)
CRIU_WORKDIR=/var/cache/cryo-criu
# criu and every shared library it loads (directly or indirectly), at the exact
# versions checked on Linux 6.18 (same versions for amd64 and arm64).
CRIU_PINS=(
    criu=4.2.1-1 libcompel1=4.2.1-1 libc6=2.43-7 libgnutls30t64=3.8.13-1
    libnftables1=1.1.7-3 libnl-3-200=3.12.0-2+b1 libprotobuf-c1=1.5.1-1+b2
    libbsd0=0.12.2-3 libnet9=1.3+dfsg-3+b2 libuuid1=2.42.4-1 libmd0=1.3.0-1
    libnftnl11=1.3.2-1 libmnl0=1.0.5-3+b2 libjansson4=2.15.1-1
    libxtables12=1.8.13-1 libgmp10=2:6.3.0+dfsg-5+b2 libnettle8t64=3.10.2-1+b1
    libhogweed6t64=3.10.2-1+b1 libidn2-0=2.3.8-5 libunistring5=1.4.2-1
    libtasn1-6=4.21.0-2+b1 libp11-kit0=0.26.5-1 libffi8=3.8.0-2
)
# CRIU's own Python module for its images (pycriu, with crit), at the same version: Cryo's agent reads what a
# checkpoint holds with it (snapshots/host/contents.py), from $CRIU_PREFIX/usr/lib/python3/dist-packages.
PYCRIU_PINS=(python3-pycriu=4.2.1-1)
DEBIAN_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
RUNC_CRIU_CONF=/etc/criu/runc.conf
RUNC_CRIU_CONF_MARK="# Written by Cryo's deploy/provision-host.sh (CRYO_CRIU_TCP_ESTABLISHED=no removes it)."

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
# The version the criu at $1 reports ("4.2.1"), or nothing when it does not run.
criu_version_of() {
    "$1" --version 2>/dev/null | sed -n -E 's/^Version: *([0-9][0-9.]*).*/\1/p' | head -n 1
}

# Is the dotted version $1 at least $2?
version_at_least() {
    [[ $(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1) == "$2" ]]
}

# Does the criu at $1 (default: the one on PATH) really checkpoint on this
# kernel? Says why not on standard error.
criu_works() {
    local criu=${1:-} version out
    [[ -n $criu ]] || criu=$(command -v criu || true)
    [[ -n $criu ]] || return 1
    version=$(criu_version_of "$criu")
    if [[ -z $version ]]; then
        log "CRIU: $criu does not run"
        return 1
    fi
    if ! version_at_least "$version" "$CRIU_MIN_VERSION"; then
        log "CRIU: $criu is CRIU $version; this host needs CRIU >= $CRIU_MIN_VERSION"
        return 1
    fi
    if out=$(bash "$HERE/criu-probe.sh" --criu "$criu" 2>&1); then
        return 0
    fi
    log "CRIU: $criu ($version) fails the probe: $out"
    return 1
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
        *) die "no CRIU fallback for architecture '$arch': install a CRIU >= $CRIU_MIN_VERSION that passes deploy/criu-probe.sh by hand" ;;
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

# The unpacked CRIU at $1 is complete and made from exactly the pinned packages.
criu_unpack_current() {
    [[ -x $1/usr/sbin/criu && -f $1/.cryo-pins && $(cat "$1/.cryo-pins") == "${CRIU_PINS[*]}" ]]
}

# Fetch the pinned packages ($@, default: CRIU_PINS) into $CRIU_WORKDIR/debs and check their versions.
download_pinned_criu() {
    local pins=("$@")
    [[ ${#pins[@]} -gt 0 ]] || pins=("${CRIU_PINS[@]}")
    if [[ ! -r $DEBIAN_KEYRING ]]; then
        install_packages debian-archive-keyring
    fi
    [[ -r $DEBIAN_KEYRING ]] || die "$DEBIAN_KEYRING is missing; install the debian-archive-keyring package"

    local mirror suite
    mirror=$(debian_mirror)
    log "CRIU: fetching CRIU $CRIU_PINNED_VERSION (pinned packages) from Debian ${CRIU_SUITES[*]} at $mirror"

    # Private apt configuration: its own sources list, lists, state and cache,
    # so the machine's own apt state is not touched.
    rm -rf "$CRIU_WORKDIR"
    mkdir -p "$CRIU_WORKDIR"/{lists/partial,cache/archives/partial,debs}
    : >"$CRIU_WORKDIR/status"
    : >"$CRIU_WORKDIR/sources.list"
    for suite in "${CRIU_SUITES[@]}"; do
        echo "deb [signed-by=$DEBIAN_KEYRING] $mirror $suite main" >>"$CRIU_WORKDIR/sources.list"
    done
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
    # A snapshot's Release files are past their Valid-Until date by design.
    [[ $mirror == *snapshot.debian.org* ]] && apt_opts+=(-o "Acquire::Check-Valid-Until=false")
    apt-get "${apt_opts[@]}" update -q >&2 ||
        die "could not read the Debian ${CRIU_SUITES[*]} package lists from $mirror (set CRIU_MIRROR to a reachable Debian mirror)"
    if ! (cd "$CRIU_WORKDIR/debs" && apt-get "${apt_opts[@]}" download "${pins[@]}" >&2); then
        die "could not download the pinned CRIU packages from Debian ${CRIU_SUITES[*]} at $mirror (see apt's message above: a pinned version has probably left the suites). Pins: ${CRIU_PINS[*]}. Set CRIU_MIRROR to a Debian snapshot that has them (http://snapshot.debian.org/archive/debian/<timestamp>), or update CRIU_PINS in deploy/provision-host.sh after checking the new versions with deploy/criu-probe.sh"
    fi

    # apt checked each file against the signed index; check that each is the pinned version.
    local pin name version deb found problems=()
    for pin in "${pins[@]}"; do
        name=${pin%%=*} version=${pin#*=} found=""
        for deb in "$CRIU_WORKDIR"/debs/"${name}"_*.deb; do
            [[ -e $deb ]] || continue
            [[ $(dpkg-deb -f "$deb" Package) == "$name" ]] || continue
            found=$(dpkg-deb -f "$deb" Version)
        done
        if [[ -z $found ]]; then
            problems+=("$name: not downloaded")
        elif [[ $found != "$version" ]]; then
            problems+=("$name: got $found, pinned $version")
        fi
    done
    if [[ ${#problems[@]} -gt 0 ]]; then
        die "the downloaded CRIU packages are not the pinned versions (${problems[*]}); refusing to install them"
    fi
}

# Unpack the pinned CRIU into $CRIU_PREFIX: into a staging directory first,
# probed through its own wrapper, then swapped in.
install_pinned_criu() {
    local triplet=$TRIPLET loader=$LOADER staging="$CRIU_PREFIX.new" deb
    download_pinned_criu
    rm -rf "$staging"
    mkdir -p "$staging"
    for deb in "$CRIU_WORKDIR"/debs/*.deb; do
        dpkg -x "$deb" "$staging"
    done
    [[ -x $staging/usr/sbin/criu ]] || die "the unpacked packages contain no usr/sbin/criu"
    [[ -e $staging/usr/lib/$triplet/$loader ]] || die "the unpacked packages contain no usr/lib/$triplet/$loader"
    local missing
    missing=$("$staging/usr/lib/$triplet/$loader" --library-path "$staging/usr/lib/$triplet:$staging/lib/$triplet" \
        --list "$staging/usr/sbin/criu" 2>&1 | grep 'not found' || true)
    [[ -z $missing ]] || die "the pinned packages lack libraries criu needs: $missing (add their packages to CRIU_PINS)"
    (cd "$CRIU_WORKDIR/debs" && ls -1 ./*.deb) >"$staging/.cryo-packages"
    echo "${CRIU_PINS[*]}" >"$staging/.cryo-pins"

    local trial="$CRIU_WORKDIR/criu"
    write_criu_wrapper "$staging" "$trial"
    criu_works "$trial" || die "CRIU $CRIU_PINNED_VERSION unpacked in $staging fails the probe (see above); $CRIU_WRAPPER was left as it was"

    # Two renames: a criu started meanwhile by a running daemon finds one tree or the other.
    rm -rf "$CRIU_PREFIX.old"
    [[ -e $CRIU_PREFIX ]] && mv "$CRIU_PREFIX" "$CRIU_PREFIX.old"
    mv "$staging" "$CRIU_PREFIX"
    rm -rf "$CRIU_PREFIX.old" "$CRIU_WORKDIR"
}

# Writes an executable at $2 that runs the criu unpacked at $1 with its own loader.
write_criu_wrapper() {
    local prefix=$1 target=$2 tmp
    local libdir="$prefix/usr/lib/$TRIPLET"
    mkdir -p "$(dirname "$target")"
    tmp=$(mktemp "$target.XXXXXX")
    cat >"$tmp" <<EOF
#!/bin/sh
# CRIU $CRIU_PINNED_VERSION from Debian (pinned packages), run with its own C library (installed by deploy/provision-host.sh).
exec "$libdir/$LOADER" --library-path "$libdir:$prefix/lib/$TRIPLET" "$prefix/usr/sbin/criu" "\$@"
EOF
    chmod 0755 "$tmp"
    mv -f "$tmp" "$target"
}

ensure_criu() {
    if criu_works; then
        return 0
    fi
    log "CRIU: installing CRIU $CRIU_PINNED_VERSION from Debian into $CRIU_PREFIX"
    detect_multiarch
    # An earlier unpack of the same pins only needs its wrapper back.
    if ! criu_unpack_current "$CRIU_PREFIX"; then
        install_pinned_criu
    fi
    write_criu_wrapper "$CRIU_PREFIX" "$CRIU_WRAPPER"

    local found
    found=$(command -v criu || true)
    if [[ $found != "$CRIU_WRAPPER" ]]; then
        die "'criu' on PATH is '${found:-nothing}', not $CRIU_WRAPPER: put /usr/local/sbin before /usr/sbin in PATH"
    fi
    criu_works "$CRIU_WRAPPER" ||
        die "CRIU is installed at $CRIU_WRAPPER but fails the probe (see above); this kernel may lack checkpoint/restore support"
}

# pycriu beside the pinned CRIU (also on a machine whose CRIU was unpacked before pycriu was part of it).
ensure_pycriu() {
    local site="$CRIU_PREFIX/usr/lib/python3/dist-packages" deb
    if [[ -f $site/pycriu/images/__init__.py && -f $site/.cryo-pycriu-pins &&
        $(cat "$site/.cryo-pycriu-pins") == "${PYCRIU_PINS[*]}" ]]; then
        return 0
    fi
    log "CRIU: installing CRIU's Python images module (${PYCRIU_PINS[*]}) into $site"
    download_pinned_criu "${PYCRIU_PINS[@]}"
    mkdir -p "$CRIU_PREFIX"
    for deb in "$CRIU_WORKDIR"/debs/*.deb; do
        dpkg -x "$deb" "$CRIU_PREFIX"
    done
    [[ -f $site/pycriu/images/__init__.py ]] || die "the pinned python3-pycriu package has no pycriu/images in $site"
    echo "${PYCRIU_PINS[*]}" >"$site/.cryo-pycriu-pins"
    rm -rf "$CRIU_WORKDIR"
}

# runc (>= 1.0) hands /etc/criu/runc.conf to CRIU on every checkpoint and
# restore, and its settings override what runc asked for. Only a file Cryo
# wrote is ever changed or removed.
ensure_runc_criu_config() {
    local wanted=${CRYO_CRIU_TCP_ESTABLISHED:-yes} ours=0
    if [[ -e $RUNC_CRIU_CONF ]]; then
        if ! grep -qF "$RUNC_CRIU_CONF_MARK" "$RUNC_CRIU_CONF"; then
            if ! grep -qE '^[[:space:]]*(--)?tcp-established' "$RUNC_CRIU_CONF"; then
                log "note: $RUNC_CRIU_CONF is not Cryo's and has no tcp-established: containers holding an established TCP connection cannot be checkpointed"
            fi
            return 0
        fi
        ours=1
    fi
    case "$wanted" in
        no | false | 0)
            if [[ $ours -eq 1 ]]; then
                log "CRIU: removing $RUNC_CRIU_CONF (CRYO_CRIU_TCP_ESTABLISHED=$wanted)"
                rm -f "$RUNC_CRIU_CONF"
            fi
            return 0
            ;;
    esac
    local content
    content=$(printf '%s\n' \
        "$RUNC_CRIU_CONF_MARK" \
        "# runc passes this file to CRIU on every checkpoint and restore. Docker cannot ask for" \
        "# tcp-established itself; without it, CRIU refuses to dump a container that holds an" \
        "# established TCP connection, even one between two of its own processes." \
        "tcp-established")
    if [[ -f $RUNC_CRIU_CONF && $(cat "$RUNC_CRIU_CONF") == "$content" ]]; then
        return 0
    fi
    log "CRIU: writing $RUNC_CRIU_CONF (tcp-established)"
    mkdir -p "$(dirname "$RUNC_CRIU_CONF")"
    local tmp
    tmp=$(mktemp "$RUNC_CRIU_CONF.XXXXXX")
    printf '%s\n' "$content" >"$tmp"
    chmod 0644 "$tmp"
    mv -f "$tmp" "$RUNC_CRIU_CONF"
}

# ---------------------------------------------------------------------------
# The Podman service Cryo's agent talks to: systemd's socket unit where systemd
# runs the machine; otherwise the command to start it is printed.
ensure_podman_service() {
    if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
        systemctl enable --now podman.socket >&2 || die "could not enable podman.socket"
        log "Podman: the REST service answers on unix:///run/podman/podman.sock (podman.socket)"
    else
        log "Podman: no systemd here; start its service with: podman system service --time 0 unix:///run/podman/podman.sock"
    fi
}

main() {
    local docker=0 podman=0 arg
    for arg in "$@"; do
        case "$arg" in
            --docker) docker=1 ;;
            --podman) podman=1 ;;
            -h | --help) sed -n '2,20p' "$0"; exit 0 ;;
            *) die "unknown option '$arg' (use --docker and/or --podman)" ;;
        esac
    done
    [[ $docker -eq 1 || $podman -eq 1 ]] || docker=1
    check_host
    local packages=("${COMMON_PACKAGES[@]}")
    [[ $docker -eq 0 ]] || packages+=("${DOCKER_PACKAGES[@]}")
    [[ $podman -eq 0 ]] || packages+=("${PODMAN_PACKAGES[@]}")
    install_packages "${packages[@]}"
    local tool
    if [[ $docker -eq 1 ]]; then
        for tool in dockerd containerd runc docker; do
            command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found after installing docker.io; check the docker.io package"
        done
    fi
    if [[ $podman -eq 1 ]]; then
        for tool in podman conmon runc; do
            command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found after installing podman; check the podman package"
        done
    fi
    ensure_criu
    ensure_pycriu
    ensure_runc_criu_config
    [[ $podman -eq 0 ]] || ensure_podman_service

    local engines="" criu_version
    [[ $docker -eq 0 ]] || engines+="dockerd $(dockerd --version 2>/dev/null | sed -E 's/^Docker version ([^,]+).*/\1/'), "
    [[ $podman -eq 0 ]] || engines+="podman $(podman --version 2>/dev/null | sed -E 's/^podman version //'), "
    criu_version=$(criu --version 2>/dev/null | sed -n -E 's/^Version: *//p' | head -n 1)
    echo "provision-host: ready: ${engines}criu ${criu_version:-?} ($(command -v criu))"
}

main "$@"
