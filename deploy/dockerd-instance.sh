#!/usr/bin/env bash
# Run a separate, self-contained Docker daemon ("host") on this machine.
#
# Usage: dockerd-instance.sh start|stop|status|socket NAME
#
# Each NAME ([a-z0-9-]+) gets its own dockerd (and its own containerd):
#   socket      unix:///run/cryo-docker/NAME/docker.sock
#   data root   /var/lib/cryo-docker/NAME   (a shared bind mount of itself)
#   exec root   /run/cryo-docker/NAME/exec
#   pid file    /run/cryo-docker/NAME/docker.pid
#   config      /run/cryo-docker/NAME/daemon.json  (empty; /etc/docker/daemon.json is not read)
#   log         /var/log/cryo-docker-NAME.log
# The daemon is experimental (needed for checkpoint/restore) and has no
# bridge network and no iptables rules: run its containers with --network none.
#
#   start   starts the daemon unless it already runs, waits until it answers,
#           and prints its socket URL as the last line of standard output
#   stop    removes every container of that daemon (kept when
#           CRYO_KEEP_CONTAINERS=1), stops it and its
#           containerd, and unmounts its data root; other daemons are untouched
#   status  prints the state; exit 0 running, 1 not answering, 3 stopped
#   socket  prints the socket URL
#
# Run deploy/provision-host.sh first (Docker Engine and a working CRIU).
set -euo pipefail

export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin${PATH:+:$PATH}"
# The docker client must talk to the socket given with -H, nothing else.
unset DOCKER_HOST DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH

RUN_BASE=/run/cryo-docker
DATA_BASE=/var/lib/cryo-docker
LOG_DIR=/var/log
START_TIMEOUT=${CRYO_DOCKERD_START_TIMEOUT:-60}
STOP_TIMEOUT=${CRYO_DOCKERD_STOP_TIMEOUT:-30}

usage() {
    echo "usage: $0 start|stop|status|socket NAME   (NAME: lowercase letters, digits and '-')" >&2
    exit 2
}
log() { echo "dockerd-instance[$NAME]: $*" >&2; }
die() {
    echo "dockerd-instance[$NAME]: ERROR: $*" >&2
    exit 1
}

[[ $# -eq 2 ]] || usage
ACTION=$1
NAME=$2
[[ $NAME =~ ^[a-z0-9-]+$ ]] || { echo "dockerd-instance: ERROR: invalid NAME '$NAME': use lowercase letters, digits and '-'" >&2; exit 2; }
# Keeps containerd's socket paths below the 108-byte limit of unix sockets.
[[ ${#NAME} -le 40 ]] || { echo "dockerd-instance: ERROR: NAME '$NAME' is longer than 40 characters" >&2; exit 2; }

RUN_DIR=$RUN_BASE/$NAME
SOCK=$RUN_DIR/docker.sock
URL=unix://$SOCK
EXEC_ROOT=$RUN_DIR/exec
PID_FILE=$RUN_DIR/docker.pid
CONFIG_FILE=$RUN_DIR/daemon.json
DATA_ROOT=$DATA_BASE/$NAME
LOG_FILE=$LOG_DIR/cryo-docker-$NAME.log
CONTAINERD_SOCK=$EXEC_ROOT/containerd/containerd.sock
CONTAINERD_PID_FILE=$EXEC_ROOT/containerd/containerd.pid

dk() { docker -H "$URL" "$@"; }

require_root() {
    [[ $(id -u) -eq 0 ]] || die "must run as root (dockerd needs it; try: sudo $0 $ACTION $NAME)"
}

require_tools() {
    local tool missing=()
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    done
    [[ ${#missing[@]} -eq 0 ]] || die "not found on PATH: ${missing[*]}; run deploy/provision-host.sh first"
}

# Is PID a live process whose executable name is COMM? (A killed process not yet reaped, a zombie, is not.)
pid_is() {
    local pid=$1 comm=$2 state
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ -r /proc/$pid/comm ]] || return 1
    state=$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$pid/stat" 2>/dev/null || true)
    [[ $state != Z && $state != X ]] || return 1
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$comm" ]]
}

# PID of this instance's dockerd, or nothing.
daemon_pid() {
    local pid
    [[ -f $PID_FILE ]] || return 0
    pid=$(cat "$PID_FILE" 2>/dev/null || true)
    if pid_is "$pid" dockerd; then
        echo "$pid"
    fi
}

responds() {
    [[ -S $SOCK ]] && dk info --format '{{.ID}}' >/dev/null 2>&1
}

wait_gone() {
    local pid=$1 seconds=$2 i
    for ((i = 0; i < seconds * 10; i++)); do
        [[ -d /proc/$pid ]] || return 0
        sleep 0.1
    done
    [[ ! -d /proc/$pid ]]
}

# dockerd flags beyond the paths; a flag this dockerd does not know is left out.
daemon_flags() {
    local help flag
    help=$(dockerd --help 2>&1 || true)
    [[ $help == *"--experimental"* ]] || die "this dockerd has no --experimental flag; checkpoint/restore needs Docker Engine with experimental features"
    FLAGS=(--experimental)
    for flag in --bridge=none --iptables=false --ip-masq=false --ip-forward=false; do
        if [[ $help == *"${flag%%=*} "* ]]; then
            FLAGS+=("$flag")
        else
            log "note: dockerd does not accept ${flag%%=*}; leaving it out"
        fi
    done
}

# The data root must be a shared mount: CRIU's restore on a daemon whose data
# root is not one fails ("mnt-v2: Failed to copy sharing").
ensure_shared_data_root() {
    mkdir -p "$DATA_ROOT"
    if ! mountpoint -q "$DATA_ROOT"; then
        mount --bind "$DATA_ROOT" "$DATA_ROOT" || die "could not bind-mount $DATA_ROOT onto itself"
    fi
    mount --make-shared "$DATA_ROOT" || die "could not make $DATA_ROOT a shared mount"
}

cmd_start() {
    require_root
    require_tools dockerd containerd runc docker mount mountpoint setsid nohup
    if ! command -v criu >/dev/null 2>&1; then
        log "warning: criu not found on PATH; checkpoint/restore will fail (run deploy/provision-host.sh)"
    fi

    local pid
    pid=$(daemon_pid)
    if [[ -n $pid ]]; then
        log "already running (pid $pid)"
    else
        if [[ -e $PID_FILE ]]; then
            log "removing stale pid file $PID_FILE"
            rm -f "$PID_FILE"
        fi
        if [[ -e $CONTAINERD_PID_FILE ]] && ! pid_is "$(cat "$CONTAINERD_PID_FILE" 2>/dev/null || true)" containerd; then
            rm -f "$CONTAINERD_PID_FILE"
        fi
        mkdir -p "$RUN_DIR" "$EXEC_ROOT"
        chmod 0711 "$RUN_DIR"
        ensure_shared_data_root
        [[ -f $CONFIG_FILE ]] || echo '{}' >"$CONFIG_FILE"
        daemon_flags

        log "starting dockerd (log: $LOG_FILE)"
        echo "=== $(date -u +%Y-%m-%dT%H:%M:%SZ) starting dockerd $NAME" >>"$LOG_FILE"
        (
            cd /
            exec setsid nohup dockerd \
                --config-file "$CONFIG_FILE" \
                --host "$URL" \
                --data-root "$DATA_ROOT" \
                --exec-root "$EXEC_ROOT" \
                --pidfile "$PID_FILE" \
                "${FLAGS[@]}" \
                </dev/null >>"$LOG_FILE" 2>&1
        ) &
        pid=$!
    fi

    local i
    for ((i = 0; i < START_TIMEOUT * 5; i++)); do
        if responds; then
            break
        fi
        if ! [[ -d /proc/$pid ]]; then
            echo "--- last lines of $LOG_FILE:" >&2
            tail -n 20 "$LOG_FILE" >&2 || true
            die "dockerd exited during start-up (see $LOG_FILE)"
        fi
        sleep 0.2
    done
    responds || die "dockerd (pid $pid) did not answer on $URL within ${START_TIMEOUT}s (see $LOG_FILE)"

    local experimental
    experimental=$(dk version --format '{{.Server.Experimental}}' 2>/dev/null || true)
    [[ $experimental == true ]] || die "dockerd on $URL is not experimental (Server.Experimental=$experimental); checkpoints need it"

    log "running (pid $(daemon_pid), data root $DATA_ROOT)"
    echo "$URL"
}

# containerd-shim processes that belong to this instance's containerd.
instance_shims() {
    local dir pid cmdline
    for dir in /proc/[0-9]*; do
        pid=${dir#/proc/}
        [[ $(cat "$dir/comm" 2>/dev/null) == containerd-shim* ]] || continue
        cmdline=$(tr '\0' ' ' <"$dir/cmdline" 2>/dev/null || true)
        [[ " $cmdline " == *" $CONTAINERD_SOCK "* ]] && echo "$pid"
    done
    return 0
}

cmd_stop() {
    require_root
    local pid
    pid=$(daemon_pid)
    if [[ -n $pid ]]; then
        if responds && [[ -z ${CRYO_KEEP_CONTAINERS:-} ]]; then
            local ids
            ids=$(dk ps -aq 2>/dev/null || true)
            if [[ -n $ids ]]; then
                log "removing containers: ${ids//$'\n'/ }"
                # shellcheck disable=SC2086
                dk rm -f $ids >/dev/null || log "warning: could not remove every container"
            fi
        fi
        log "stopping dockerd (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        if ! wait_gone "$pid" "$STOP_TIMEOUT"; then
            log "dockerd did not exit within ${STOP_TIMEOUT}s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
            wait_gone "$pid" 10 || die "dockerd (pid $pid) does not die"
        fi
    else
        log "not running"
    fi

    # dockerd stops its containerd on exit; make sure it is gone.
    local cpid
    cpid=$(cat "$CONTAINERD_PID_FILE" 2>/dev/null || true)
    if pid_is "$cpid" containerd; then
        if ! wait_gone "$cpid" 15; then
            log "containerd (pid $cpid) still running; killing it"
            kill -KILL "$cpid" 2>/dev/null || true
            wait_gone "$cpid" 10 || die "containerd (pid $cpid) does not die"
        fi
    fi
    local shims
    shims=$(instance_shims)
    if [[ -n $shims ]]; then
        log "killing leftover containerd-shim processes: ${shims//$'\n'/ }"
        # shellcheck disable=SC2086
        kill -KILL $shims 2>/dev/null || true
    fi
    rm -f "$PID_FILE" "$CONTAINERD_PID_FILE"

    if mountpoint -q "$DATA_ROOT" 2>/dev/null; then
        if ! umount "$DATA_ROOT" 2>/dev/null; then
            log "warning: $DATA_ROOT is busy; detaching it lazily"
            umount -l "$DATA_ROOT" || die "could not unmount $DATA_ROOT"
        fi
    fi
    log "stopped"
}

cmd_status() {
    local pid
    pid=$(daemon_pid)
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
    *) usage ;;
esac
