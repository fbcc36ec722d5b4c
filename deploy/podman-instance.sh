#!/usr/bin/env bash
# Run a separate, self-contained rootful Podman service ("host") on this machine.
#
# Usage: podman-instance.sh start|stop|status|socket|cli NAME [PODMAN ARGS...]
#
# Each NAME ([a-z0-9-]+) gets its own store and state, so that it never sees
# the containers of the machine's own Podman or of another instance:
#   socket      unix:///run/cryo-podman/NAME/podman.sock   (Podman's REST API)
#   store       /var/lib/cryo-podman/NAME                  (--root, a shared bind mount of itself)
#   run root    /run/cryo-podman/NAME/run                  (--runroot)
#   libpod tmp  /run/cryo-podman/NAME/libpod               (--tmpdir: locks, exit files, events)
#   pid file    /run/cryo-podman/NAME/service.pid
#   log         /var/log/cryo-podman-NAME.log
# Containers are run with --network none by Cryo's tests; the service uses
# cgroupfs and file events so that it needs neither systemd nor journald.
#
#   start   starts the service unless it already runs, waits until it answers,
#           and prints its socket URL as the last line of standard output
#   stop    removes every container of that store (only stops them when
#           CRYO_KEEP_CONTAINERS=1: Podman's containers would outlive the
#           service), then stops the service; other instances are untouched
#   status  prints the state; exit 0 running, 1 not answering, 3 stopped
#   socket  prints the socket URL
#   cli     runs `podman` on that store with the arguments that follow
#
# Run deploy/provision-host.sh --podman first (Podman and a working CRIU).
set -euo pipefail

export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin${PATH:+:$PATH}"
unset CONTAINER_HOST CONTAINER_CONNECTION

RUN_BASE=/run/cryo-podman
DATA_BASE=/var/lib/cryo-podman
START_TIMEOUT=${CRYO_PODMAN_START_TIMEOUT:-60}

usage() {
    echo "usage: $0 start|stop|status|socket|cli NAME [ARGS...]   (NAME: lowercase letters, digits and '-')" >&2
    exit 2
}
log() { echo "podman-instance[$NAME]: $*" >&2; }
die() {
    echo "podman-instance[$NAME]: ERROR: $*" >&2
    exit 1
}

[[ $# -ge 2 ]] || usage
ACTION=$1
NAME=$2
shift 2
[[ $NAME =~ ^[a-z0-9-]+$ ]] || { echo "podman-instance: ERROR: invalid NAME '$NAME'" >&2; exit 2; }
[[ ${#NAME} -le 40 ]] || { echo "podman-instance: ERROR: NAME '$NAME' is longer than 40 characters" >&2; exit 2; }

RUN_DIR=$RUN_BASE/$NAME
SOCK=$RUN_DIR/podman.sock
URL=unix://$SOCK
PID_FILE=$RUN_DIR/service.pid
DATA_ROOT=$DATA_BASE/$NAME
LOG_FILE=/var/log/cryo-podman-$NAME.log
STORE_FLAGS=(--root "$DATA_ROOT" --runroot "$RUN_DIR/run" --tmpdir "$RUN_DIR/libpod"
    --cgroup-manager cgroupfs --events-backend file)

pm() { podman "${STORE_FLAGS[@]}" "$@"; }

require_root() {
    [[ $(id -u) -eq 0 ]] || die "must run as root (checkpoints need rootful Podman; try: sudo $0 $ACTION $NAME)"
}

service_pid() {
    local pid
    [[ -f $PID_FILE ]] || return 0
    pid=$(cat "$PID_FILE" 2>/dev/null || true)
    if [[ $pid =~ ^[0-9]+$ && $(cat "/proc/$pid/comm" 2>/dev/null) == podman ]]; then
        echo "$pid"
    fi
}

responds() {
    [[ -S $SOCK ]] && curl -sf --max-time 5 --unix-socket "$SOCK" http://d/v4.0.0/libpod/_ping >/dev/null 2>&1
}

# CRIU restores a container's mounts with their propagation; a store that is not
# a shared mount makes a restore on a second store fail (as for Docker's data root).
ensure_shared_data_root() {
    mkdir -p "$DATA_ROOT"
    if ! mountpoint -q "$DATA_ROOT"; then
        mount --bind "$DATA_ROOT" "$DATA_ROOT" || die "could not bind-mount $DATA_ROOT onto itself"
    fi
    mount --make-shared "$DATA_ROOT" || die "could not make $DATA_ROOT a shared mount"
}

cmd_start() {
    require_root
    command -v podman >/dev/null 2>&1 || die "podman not found; run deploy/provision-host.sh --podman"
    command -v curl >/dev/null 2>&1 || die "curl not found; run deploy/provision-host.sh --podman"
    command -v criu >/dev/null 2>&1 || log "warning: criu not found on PATH; checkpoints will fail"
    local pid
    pid=$(service_pid)
    if [[ -n $pid ]]; then
        log "already running (pid $pid)"
    else
        rm -f "$PID_FILE" "$SOCK"
        mkdir -p "$RUN_DIR/run" "$RUN_DIR/libpod"
        chmod 0711 "$RUN_DIR"
        ensure_shared_data_root
        log "starting the Podman service (log: $LOG_FILE)"
        echo "=== $(date -u +%Y-%m-%dT%H:%M:%SZ) starting podman service $NAME" >>"$LOG_FILE"
        (
            cd /
            exec setsid nohup podman "${STORE_FLAGS[@]}" system service --time 0 "$URL" </dev/null >>"$LOG_FILE" 2>&1
        ) &
        pid=$!
        echo "$pid" >"$PID_FILE"
    fi
    local i
    for ((i = 0; i < START_TIMEOUT * 5; i++)); do
        responds && break
        if ! [[ -d /proc/$pid ]]; then
            tail -n 20 "$LOG_FILE" >&2 || true
            die "the Podman service exited during start-up (see $LOG_FILE)"
        fi
        sleep 0.2
    done
    responds || die "the Podman service (pid $pid) did not answer on $URL within ${START_TIMEOUT}s (see $LOG_FILE)"
    log "running (pid $(service_pid), store $DATA_ROOT)"
    echo "$URL"
}

cmd_stop() {
    require_root
    if [[ -n ${CRYO_KEEP_CONTAINERS:-} && -d $DATA_ROOT ]]; then
        pm stop -a -t 5 >/dev/null 2>&1 || log "warning: could not stop every container"
    elif [[ -d $DATA_ROOT ]]; then
        local ids
        ids=$(pm ps -aq 2>/dev/null || true)
        if [[ -n $ids ]]; then
            log "removing containers: ${ids//$'\n'/ }"
            # shellcheck disable=SC2086
            pm rm -f -t 1 $ids >/dev/null 2>&1 || log "warning: could not remove every container"
        fi
    fi
    local pid
    pid=$(service_pid)
    if [[ -n $pid ]]; then
        log "stopping the Podman service (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        local i
        for ((i = 0; i < 100; i++)); do
            [[ -d /proc/$pid ]] || break
            sleep 0.1
        done
        [[ -d /proc/$pid ]] && kill -KILL "$pid" 2>/dev/null || true
    else
        log "not running"
    fi
    rm -f "$PID_FILE" "$SOCK"
    log "stopped"
}

cmd_status() {
    local pid
    pid=$(service_pid)
    if [[ -z $pid ]]; then
        echo "$NAME stopped"
        exit 3
    fi
    if responds; then
        echo "$NAME running pid=$pid $URL"
        exit 0
    fi
    echo "$NAME not-answering pid=$pid $URL"
    exit 1
}

case "$ACTION" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    socket) echo "$URL" ;;
    cli) pm "$@" ;;
    *) usage ;;
esac
