#!/usr/bin/env bash
# Build a real-service test image on one Docker daemon, from this machine's own
# programs and without any registry.
#
# Usage: build-service.sh DOCKER_HOST_URL redis|pingpong [TAG]
#
#   redis     cryo-redis:1 (default TAG): this machine's redis-server and
#             redis-cli with the shared libraries they load (as ldd lists them)
#             and busybox-static. Default command: redis-server listening on
#             the container's loopback (127.0.0.1:6379) with no snapshots;
#             /data is its working directory (for --appendonly yes).
#   pingpong  cryo-pingpong:1 (default TAG): busybox-static and /pingpong
#             (pingpong.c, linked statically): a TCP server on 127.0.0.1:7000
#             and a client in the same container that keeps one connection to
#             it. Default command: ["/pingpong","7000","200"].
#
# Run the containers with --network none. The image carries the label
# cryo.build, the sha256 of this script and of what went into the image; when
# the daemon already has TAG with the same label, nothing is rebuilt. Prints
# TAG as the last line of standard output.
set -euo pipefail

export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin${PATH:+:$PATH}"
unset DOCKER_HOST DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH

log() { echo "test-image: $*" >&2; }
die() {
    echo "test-image: ERROR: $*" >&2
    exit 1
}

if [[ $# -lt 2 || $# -gt 3 ]]; then
    echo "usage: $0 DOCKER_HOST_URL redis|pingpong [TAG]   (e.g. $0 unix:///run/cryo-docker/cryo-a/docker.sock redis)" >&2
    exit 2
fi
URL=$1
KIND=$2
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
case "$KIND" in
    redis) TAG=${3:-cryo-redis:1} ;;
    pingpong) TAG=${3:-cryo-pingpong:1} ;;
    *) die "unknown image kind '$KIND': use redis or pingpong" ;;
esac

# CRYO_ENGINE=podman: URL is a Podman service (its REST API answers the same commands through `podman --url`).
if [[ ${CRYO_ENGINE:-docker} == podman ]]; then
    dk() { podman --url "$URL" "$@"; }
else
    dk() { docker -H "$URL" "$@"; }
fi

command -v "${CRYO_ENGINE:-docker}" >/dev/null 2>&1 || die "${CRYO_ENGINE:-docker} client not found; run deploy/provision-host.sh"
dk version --format '{{.Server.Version}}' >/dev/null 2>&1 ||
    die "no Docker daemon answers on $URL (start one with deploy/dockerd-instance.sh start NAME)"

BUSYBOX=$(command -v busybox || true)
[[ -n $BUSYBOX ]] || die "busybox not found; install busybox-static (deploy/provision-host.sh does)"
if ldd "$BUSYBOX" >/dev/null 2>&1; then
    die "$BUSYBOX is dynamically linked; install busybox-static instead of busybox"
fi

# What goes into the image decides its hash: a new redis-server package or an
# edited pingpong.c gives a new image.
case "$KIND" in
    redis)
        REDIS_SERVER=$(command -v redis-server || true)
        REDIS_CLI=$(command -v redis-cli || true)
        [[ -n $REDIS_SERVER && -n $REDIS_CLI ]] ||
            die "redis-server and redis-cli not found; install redis-server (deploy/provision-host.sh does)"
        REDIS_SERVER=$(readlink -f "$REDIS_SERVER")
        REDIS_CLI=$(readlink -f "$REDIS_CLI")
        BUILD_HASH=$(cat "$HERE/build-service.sh" "$REDIS_SERVER" "$REDIS_CLI" "$BUSYBOX" | sha256sum | cut -d' ' -f1)
        ;;
    pingpong)
        BUILD_HASH=$(cat "$HERE/build-service.sh" "$HERE/pingpong.c" "$BUSYBOX" | sha256sum | cut -d' ' -f1)
        ;;
esac

current=$(dk image inspect --format '{{index .Config.Labels "cryo.build"}}' "$TAG" 2>/dev/null || true)
if [[ $current == "$BUILD_HASH" ]]; then
    log "$TAG is up to date on $URL"
    echo "$TAG"
    exit 0
fi

ROOTFS=$(mktemp -d /tmp/cryo-service-image.XXXXXX)
trap 'rm -rf "$ROOTFS"' EXIT

mkdir -p "$ROOTFS"/{bin,dev,etc,proc,sys,tmp,data}
chmod 1777 "$ROOTFS/tmp"
install -m 0755 "$BUSYBOX" "$ROOTFS/bin/busybox"
# One relative symlink per applet, as `busybox --install -s /bin` inside the image would make.
for applet in $("$BUSYBOX" --list); do
    [[ $applet == busybox ]] && continue
    ln -sf busybox "$ROOTFS/bin/$applet"
done
for applet in sh cat nc; do
    [[ -L $ROOTFS/bin/$applet ]] || die "busybox at $BUSYBOX has no '$applet' applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$ROOTFS/etc/passwd"
printf 'root:x:0:\n' >"$ROOTFS/etc/group"

# Copies a dynamically linked program and every shared library ldd resolves for
# it (and the dynamic loader) to the same paths inside the image.
add_program() {
    local program=$1 target=$2 lib
    install -D -m 0755 "$program" "$ROOTFS$target"
    ldd "$program" >/dev/null 2>&1 || die "ldd cannot read $program"
    if ldd "$program" | grep -q 'not found'; then
        die "$program needs libraries that are not installed: $(ldd "$program" | grep 'not found' | tr -s ' \t\n' ' ')"
    fi
    # "libX.so => /path (addr)" and "/lib64/ld-linux-x86-64.so.2 (addr)"; linux-vdso has no file.
    for lib in $(ldd "$program" | sed -n -E 's/.*=> (\/[^ ]+) .*/\1/p; s/^[[:space:]]*(\/[^ ]+) \(.*/\1/p'); do
        [[ -e $ROOTFS$lib ]] && continue
        mkdir -p "$ROOTFS$(dirname "$lib")"
        cp -L "$lib" "$ROOTFS$lib"
    done
}

case "$KIND" in
    redis)
        add_program "$REDIS_SERVER" /usr/bin/redis-server
        add_program "$REDIS_CLI" /usr/bin/redis-cli
        CHANGES=(
            --change 'CMD ["/usr/bin/redis-server","--bind","127.0.0.1","--port","6379","--save","","--appendonly","no","--dir","/data"]'
            --change 'WORKDIR /data'
        )
        ;;
    pingpong)
        command -v gcc >/dev/null 2>&1 || die "gcc not found; install gcc and libc6-dev (deploy/provision-host.sh does)"
        gcc -static -O2 -Wall -Wextra -o "$ROOTFS/pingpong" "$HERE/pingpong.c" ||
            die "compiling pingpong.c failed; a static build needs libc6-dev (libc.a)"
        CHANGES=(--change 'CMD ["/pingpong","7000","200"]')
        ;;
esac

log "importing $TAG into $URL"
tar --numeric-owner --owner=0 --group=0 -C "$ROOTFS" -c . |
    dk import "${CHANGES[@]}" --change "LABEL cryo.build=$BUILD_HASH" - "$TAG" >/dev/null
[[ $(dk image inspect --format '{{index .Config.Labels "cryo.build"}}' "$TAG" 2>/dev/null) == "$BUILD_HASH" ]] ||
    die "the import of $TAG into $URL did not produce the expected image"
echo "$TAG"
