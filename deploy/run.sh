#!/usr/bin/env bash
# `make run`: Cryo for one person on this machine, on embedded defaults.
#   - the dashboard (gunicorn) on http://127.0.0.1:8000, SQLite in var/, Redis on 127.0.0.1:6379;
#   - a worker for the local Docker engine (host "local").
# Uses the system Docker engine when it is CRIU-capable; otherwise, as root on Debian/Ubuntu, provisions one
# (deploy/provision-host.sh) and runs a Cryo-owned daemon beside any other. Ctrl-C stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin${PATH:+:$PATH}"
export CRYO_VAR_DIR=${CRYO_VAR_DIR:-$PWD/var}
BIND=${CRYO_BIND:-127.0.0.1:8000}
HOST_NAME=${CRYO_HOST_NAME:-local}
mkdir -p "$CRYO_VAR_DIR"

say() { echo "cryo: $*" >&2; }
pids=()
started_daemon=""
started_redis=""
stopping=""
cleanup() {
    trap - EXIT INT TERM
    stopping=1
    say "stopping"
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [[ -n $started_daemon ]]; then CRYO_KEEP_CONTAINERS=1 bash deploy/dockerd-instance.sh stop "$started_daemon" || true; fi
    if [[ -n $started_redis ]]; then redis-cli -h 127.0.0.1 shutdown nosave >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT INT TERM

criu_ready() { command -v criu >/dev/null && criu check 2>&1 | grep -q "Looks good"; }
engine_ready() { [[ $(docker -H "$1" info --format '{{.ExperimentalBuild}}' 2>/dev/null) == true ]] && criu_ready; }

bash deploy/python-env.sh
PY=.venv/bin/python

# -- the Docker engine ---------------------------------------------------------------------
DOCKER_URL=${CRYO_DOCKER_URL:-}
if [[ -z $DOCKER_URL ]]; then
    if [[ -S /var/run/docker.sock ]] && engine_ready unix:///var/run/docker.sock; then
        DOCKER_URL=unix:///var/run/docker.sock
    elif [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        bash deploy/provision-host.sh
        DOCKER_URL=$(bash deploy/dockerd-instance.sh start cryo-local | tail -1)
        started_daemon=cryo-local
        if bash deploy/test-image/build.sh "$DOCKER_URL" cryo-counter:1 >/dev/null; then
            if ! docker -H "$DOCKER_URL" inspect demo-counter >/dev/null 2>&1; then
                docker -H "$DOCKER_URL" run -d --name demo-counter --network none cryo-counter:1 /counter 64 1000 >/dev/null
                say "started a demo container 'demo-counter' (a counter holding 64 MiB) to try checkpoints on"
            elif [[ $(docker -H "$DOCKER_URL" inspect -f '{{.State.Running}}' demo-counter) != true ]]; then
                docker -H "$DOCKER_URL" start demo-counter >/dev/null && say "started the demo container 'demo-counter' again"
            fi
        fi
    else
        say "no CRIU-capable Docker engine here, and this is not a root shell on Debian/Ubuntu to provision one."
        say "Need: Docker with \"experimental\": true in /etc/docker/daemon.json, and CRIU passing \`criu check\`."
        say "Fix: run \`sudo make run\` (it runs deploy/provision-host.sh), or set CRYO_DOCKER_URL to such an engine."
        exit 1
    fi
fi
say "Docker engine: $DOCKER_URL"

# -- Redis ---------------------------------------------------------------------------------
if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
    bash deploy/services.sh redis
    started_redis=1
fi

# -- Django --------------------------------------------------------------------------------
if [[ -z ${CRYO_SECRET_KEY:-}${CRYO_SECRET_KEY_FILE:-} ]]; then
    [[ -s $CRYO_VAR_DIR/secret-key ]] || (umask 077; $PY -c 'import secrets; print(secrets.token_urlsafe(50))' > "$CRYO_VAR_DIR/secret-key")
    export CRYO_SECRET_KEY_FILE=$CRYO_VAR_DIR/secret-key
fi
$PY manage.py migrate --noinput -v 0
$PY manage.py collectstatic --noinput -v 0
$PY manage.py cryo bootstrap --admin-password-file "$CRYO_VAR_DIR/admin-password" \
    --token-file "$CRYO_VAR_DIR/enrollment-token"
export CRYO_ENROLLMENT_TOKEN
CRYO_ENROLLMENT_TOKEN=$(cat "$CRYO_VAR_DIR/enrollment-token")

$PY manage.py cryo worker --host "$HOST_NAME" --docker-url "$DOCKER_URL" > "$CRYO_VAR_DIR/worker.log" 2>&1 &
pids+=($!)
# The control worker: team notifications (webhooks, e-mail) from the queue cryo.control.
.venv/bin/celery -A dashboard worker --queues cryo.control --hostname "control@%h" --concurrency 2 \
    --loglevel INFO > "$CRYO_VAR_DIR/control.log" 2>&1 &
pids+=($!)
# ASGI under gunicorn: pages run in threads, open pages' event streams (/events/) wait on Redis without one.
.venv/bin/gunicorn dashboard.asgi:application --worker-class uvicorn_worker.UvicornWorker --bind "$BIND" \
    --workers 2 --access-logfile - --error-logfile - > "$CRYO_VAR_DIR/web.log" 2>&1 &
pids+=($!)

for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/${BIND%:*}/${BIND#*:}") 2>/dev/null && break
    sleep 0.2
done
say "dashboard: http://$BIND/  (sign in as admin; password in $CRYO_VAR_DIR/admin-password)"
say "worker for host '$HOST_NAME' logs to $CRYO_VAR_DIR/worker.log; web log: $CRYO_VAR_DIR/web.log;"
say "control worker (notifications) log: $CRYO_VAR_DIR/control.log"
say "press Ctrl-C to stop"
wait -n "${pids[@]}" || true
[[ -n $stopping ]] || say "a process exited; see $CRYO_VAR_DIR/worker.log and $CRYO_VAR_DIR/web.log"
