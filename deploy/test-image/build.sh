#!/usr/bin/env bash
# Build the local test image on one Docker daemon, without any registry.
#
# Usage: build.sh DOCKER_HOST_URL [TAG]     (TAG defaults to cryo-counter:1)
#
# The image is a root filesystem made of busybox-static (/bin/busybox and a
# symlink in /bin for each of its applets: sh, cat, sleep, ...) and /counter
# (counter.c, linked statically), imported with `docker import`. Its default
# command is ["/counter","16"]. The image carries the label cryo.build, the
# sha256 of counter.c and build.sh; when the daemon already has TAG with the
# same label, nothing is rebuilt. Prints TAG as the last line of standard output.
set -euo pipefail

export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin${PATH:+:$PATH}"
unset DOCKER_HOST DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH

log() { echo "test-image: $*" >&2; }
die() {
    echo "test-image: ERROR: $*" >&2
    exit 1
}

if [[ $# -lt 1 || $# -gt 2 ]]; then
    echo "usage: $0 DOCKER_HOST_URL [TAG]   (e.g. $0 unix:///run/cryo-docker/cryo-a/docker.sock cryo-counter:1)" >&2
    exit 2
fi
URL=$1
TAG=${2:-cryo-counter:1}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# CRYO_ENGINE=podman: URL is a Podman service (its REST API answers the same commands through `podman --url`).
if [[ ${CRYO_ENGINE:-docker} == podman ]]; then
    dk() { podman --url "$URL" "$@"; }
else
    dk() { docker -H "$URL" "$@"; }
fi

command -v "${CRYO_ENGINE:-docker}" >/dev/null 2>&1 || die "${CRYO_ENGINE:-docker} client not found; run deploy/provision-host.sh"
dk version --format '{{.Server.Version}}' >/dev/null 2>&1 ||
    die "no Docker daemon answers on $URL (start one with deploy/dockerd-instance.sh start NAME)"

BUILD_HASH=$(cat "$HERE/counter.c" "$HERE/build.sh" | sha256sum | cut -d' ' -f1)

current=$(dk image inspect --format '{{index .Config.Labels "cryo.build"}}' "$TAG" 2>/dev/null || true)
if [[ $current == "$BUILD_HASH" ]]; then
    log "$TAG is up to date on $URL"
    echo "$TAG"
    exit 0
fi

command -v gcc >/dev/null 2>&1 || die "gcc not found; install gcc and libc6-dev (deploy/provision-host.sh does)"
BUSYBOX=$(command -v busybox || true)
[[ -n $BUSYBOX ]] || die "busybox not found; install busybox-static (deploy/provision-host.sh does)"
if ldd "$BUSYBOX" >/dev/null 2>&1; then
    die "$BUSYBOX is dynamically linked; install busybox-static instead of busybox"
fi

ROOTFS=$(mktemp -d /tmp/cryo-test-image.XXXXXX)
trap 'rm -rf "$ROOTFS"' EXIT

mkdir -p "$ROOTFS"/{bin,dev,etc,proc,sys,tmp}
chmod 1777 "$ROOTFS/tmp"
install -m 0755 "$BUSYBOX" "$ROOTFS/bin/busybox"
# Same result as `busybox --install -s /bin` run inside the image: one relative
# symlink per applet (run on the host, --install would link to the host's path).
for applet in $("$BUSYBOX" --list); do
    [[ $applet == busybox ]] && continue
    ln -sf busybox "$ROOTFS/bin/$applet"
done
for applet in sh cat sleep; do
    [[ -L $ROOTFS/bin/$applet ]] || die "busybox at $BUSYBOX has no '$applet' applet"
done

gcc -static -O2 -Wall -Wextra -o "$ROOTFS/counter" "$HERE/counter.c" ||
    die "compiling counter.c failed; a static build needs libc6-dev (libc.a)"

log "importing $TAG into $URL"
tar --numeric-owner --owner=0 --group=0 -C "$ROOTFS" -c . |
    dk import \
        --change 'CMD ["/counter","16"]' \
        --change "LABEL cryo.build=$BUILD_HASH" \
        - "$TAG" >/dev/null
[[ $(dk image inspect --format '{{index .Config.Labels "cryo.build"}}' "$TAG" 2>/dev/null) == "$BUILD_HASH" ]] ||
    die "the import of $TAG into $URL did not produce the expected image"
echo "$TAG"
