#!/usr/bin/env bash
# `make run`: Cryo for one person on this machine, on embedded defaults.
#   - the dashboard (gunicorn) on http://127.0.0.1:8000, SQLite in var/, and its control process;
#   - Cryo's own broker (a Redis on 127.0.0.1:6380 with a password; the machine's Redis is left alone);
#   - the agent of host "local", which joins with a one-time token and then holds only its own credential.
# Uses the system Docker engine when it is CRIU-capable; otherwise, as root on Debian/Ubuntu, provisions one
# (deploy/provision-host.sh) and runs a Cryo-owned daemon beside any other. Ctrl-C stops what it started.
# CRYO_ENGINE=podman serves a local Podman host instead: the system's Podman service when it answers on
# unix:///run/podman/podman.sock (or CRYO_PODMAN_URL), otherwise a Cryo-owned one (deploy/podman-instance.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
umask 077  # everything in var/ (database, keys, tokens) is private to its owner
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin${PATH:+:$PATH}"
export CRYO_VAR_DIR=${CRYO_VAR_DIR:-$PWD/var}
BIND=${CRYO_BIND:-127.0.0.1:8000}
export CRYO_PUBLIC_URL=${CRYO_PUBLIC_URL:-http://$BIND}
HOST_NAME=${CRYO_HOST_NAME:-local}
ENGINE=${CRYO_ENGINE:-docker}
[[ $ENGINE == docker || $ENGINE == podman ]] || { echo "cryo: CRYO_ENGINE must be docker or podman, not '$ENGINE'" >&2; exit 1; }
mkdir -p "$CRYO_VAR_DIR"
chmod 0700 "$CRYO_VAR_DIR"

say() { echo "cryo: $*" >&2; }
pids=()
started_daemon=""
started_podman=""
started_broker=""
stopping=""
cleanup() {
    trap - EXIT INT TERM
    stopping=1
    say "stopping"
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [[ -n $started_daemon ]]; then CRYO_KEEP_CONTAINERS=1 bash deploy/dockerd-instance.sh stop "$started_daemon" || true; fi
    if [[ -n $started_podman ]]; then CRYO_KEEP_CONTAINERS=1 bash deploy/podman-instance.sh stop "$started_podman" || true; fi
    if [[ -n $started_broker ]]; then kill "$(cat "$CRYO_VAR_DIR/redis/redis.pid" 2>/dev/null)" 2>/dev/null || true; fi
}
trap cleanup EXIT INT TERM

criu_ready() { command -v criu >/dev/null && criu check 2>&1 | grep -q "Looks good"; }
engine_ready() { [[ $(docker -H "$1" info --format '{{.ExperimentalBuild}}' 2>/dev/null) == true ]] && criu_ready; }

bash deploy/python-env.sh
PY=.venv/bin/python

# -- the Docker engine ---------------------------------------------------------------------
demo() {  # demo NAME IMAGE ARGS...: a demo container to try checkpoints on, started when missing or stopped
    local name=$1; shift
    if ! docker -H "$DOCKER_URL" inspect "$name" >/dev/null 2>&1; then
        docker -H "$DOCKER_URL" run -d --name "$name" --network none "$@" >/dev/null && say "started a demo container '$name'"
    elif [[ $(docker -H "$DOCKER_URL" inspect -f '{{.State.Running}}' "$name") != true ]]; then
        docker -H "$DOCKER_URL" start "$name" >/dev/null && say "started the demo container '$name' again"
    fi
}
podman_demo() {  # podman_demo NAME IMAGE ARGS...: as demo, on the Podman service (with the limits this VM accepts)
    local name=$1; shift
    local pm=(podman --url "$ENGINE_URL")
    if ! "${pm[@]}" container exists "$name" 2>/dev/null; then
        "${pm[@]}" run -d --name "$name" --network none --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 "$@" \
            >/dev/null && say "started a demo container '$name'"
    elif [[ $("${pm[@]}" inspect -f '{{.State.Running}}' "$name") != true ]]; then
        "${pm[@]}" start "$name" >/dev/null && say "started the demo container '$name' again"
    fi
}
podman_answers() { [[ -S ${1#unix://} ]] && curl -sf --max-time 5 --unix-socket "${1#unix://}" http://d/v4.0.0/libpod/_ping >/dev/null 2>&1; }
DOCKER_URL=${CRYO_DOCKER_URL:-}
ENGINE_URL=""
if [[ $ENGINE == podman ]]; then
    ENGINE_URL=${CRYO_PODMAN_URL:-}
    if [[ -z $ENGINE_URL ]] && podman_answers unix:///run/podman/podman.sock && criu_ready; then
        ENGINE_URL=unix:///run/podman/podman.sock
    elif [[ -z $ENGINE_URL && $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        bash deploy/provision-host.sh --podman
        ENGINE_URL=$(bash deploy/podman-instance.sh start cryo-local-podman | tail -1)
        started_podman=cryo-local-podman
        if CRYO_ENGINE=podman bash deploy/test-image/build.sh "$ENGINE_URL" cryo-counter:1 >/dev/null; then
            podman_demo demo-counter cryo-counter:1 /counter 64 1000  # a counter holding 64 MiB
        fi
        if CRYO_ENGINE=podman bash deploy/test-image/build-service.sh "$ENGINE_URL" redis cryo-redis:1 >/dev/null; then
            podman_demo demo-redis cryo-redis:1
        fi
    elif [[ -z $ENGINE_URL ]]; then
        say "no Podman service here, and this is not a root shell on Debian/Ubuntu to provision one."
        say "Fix: run \`sudo CRYO_ENGINE=podman make run\`, or set CRYO_PODMAN_URL to a rootful Podman service."
        exit 1
    fi
    say "Podman service: $ENGINE_URL"
elif [[ -z $DOCKER_URL ]]; then
    if [[ -S /var/run/docker.sock ]] && engine_ready unix:///var/run/docker.sock; then
        DOCKER_URL=unix:///var/run/docker.sock
    elif [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        bash deploy/provision-host.sh
        DOCKER_URL=$(bash deploy/dockerd-instance.sh start cryo-local | tail -1)
        started_daemon=cryo-local
        if bash deploy/test-image/build.sh "$DOCKER_URL" cryo-counter:1 >/dev/null; then
            demo demo-counter cryo-counter:1 /counter 64 1000  # a counter holding 64 MiB
        fi
        if bash deploy/test-image/build-service.sh "$DOCKER_URL" redis cryo-redis:1 >/dev/null; then
            demo demo-redis cryo-redis:1  # this machine's redis-server, listening on the container's loopback
        fi
    else
        say "no CRIU-capable Docker engine here, and this is not a root shell on Debian/Ubuntu to provision one."
        say "Need: Docker with \"experimental\": true in /etc/docker/daemon.json, and CRIU passing \`criu check\`."
        say "Fix: run \`sudo make run\` (it runs deploy/provision-host.sh), or set CRYO_DOCKER_URL to such an engine."
        exit 1
    fi
fi
[[ $ENGINE == podman ]] || say "Docker engine: $DOCKER_URL"

# -- the broker ----------------------------------------------------------------------------
broker_out=$(bash deploy/services.sh broker "$CRYO_VAR_DIR" 2>&1)
[[ -z $broker_out ]] || echo "$broker_out" >&2
[[ $broker_out != *started* ]] || started_broker=1

# -- Django (the secret key and the broker's address are read from var/ by default) ----------
[[ -s $CRYO_VAR_DIR/secret-key ]] || $PY -c 'import secrets; print(secrets.token_urlsafe(50))' > "$CRYO_VAR_DIR/secret-key"
[[ -s $CRYO_VAR_DIR/store-kek ]] || $PY -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())' \
    > "$CRYO_VAR_DIR/store-kek"
$PY manage.py migrate --noinput -v 0
$PY manage.py collectstatic --noinput -v 0
$PY manage.py cryo bootstrap --var-dir "$CRYO_VAR_DIR" --host "$HOST_NAME"

# ASGI under gunicorn: pages run in threads; open pages' event streams (/events/) wait on Redis without one.
.venv/bin/gunicorn dashboard.asgi:application --worker-class uvicorn_worker.UvicornWorker --bind "$BIND" \
    --workers 2 --access-logfile - --error-logfile - > "$CRYO_VAR_DIR/web.log" 2>&1 &
pids+=($!)
$PY manage.py cryo control > "$CRYO_VAR_DIR/control.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/${BIND%:*}/${BIND#*:}") 2>/dev/null && break
    sleep 0.2
done

# -- the agent of this host: only the dashboard's URL and its own credential (var/agent/credential) --------
join=()
if [[ -s $CRYO_VAR_DIR/join-token ]]; then
    join=(--join "$(cat "$CRYO_VAR_DIR/join-token")")
    rm -f "$CRYO_VAR_DIR/join-token"  # a join token works once
fi
if [[ $ENGINE == podman ]]; then
    engine_args=(--engine podman --podman-url "$ENGINE_URL")
else
    engine_args=(--docker-url "$DOCKER_URL")
fi
env -i PATH="$PATH" HOME="${HOME:-/root}" LANG=C.UTF-8 \
    .venv/bin/cryo-agent --url "$CRYO_PUBLIC_URL" --state-dir "$CRYO_VAR_DIR/agent" "${engine_args[@]}" \
    "${join[@]}" > "$CRYO_VAR_DIR/agent.log" 2>&1 &
pids+=($!)

say "dashboard: $CRYO_PUBLIC_URL/  (sign in as admin; password in $CRYO_VAR_DIR/admin-password)"
say "from another shell here: .venv/bin/cryo hosts   (it uses the admin token in $CRYO_VAR_DIR/admin-token)"
say "logs: $CRYO_VAR_DIR/web.log, control.log, agent.log"
say "press Ctrl-C to stop"
wait -n "${pids[@]}" || true
[[ -n $stopping ]] || say "a process exited; see the logs in $CRYO_VAR_DIR"
