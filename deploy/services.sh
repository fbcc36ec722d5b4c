#!/usr/bin/env bash
# Make sure the services Cryo needs answer on loopback, starting (or installing, as root on Debian) what is missing.
#   services.sh redis         Redis on 127.0.0.1:6379 (installed if missing)
#   services.sh broker DIR    Cryo's own broker for `make run`: a Redis on 127.0.0.1:$CRYO_BROKER_PORT (6380) with a
#                             password kept in DIR/broker-url (0600); the dashboard gives each host its own user on it
#   services.sh postgres      PostgreSQL on 127.0.0.1:5432; prints the DATABASE_URL to use
# Prints "started" on stderr for a service it started itself, so callers can stop it later.
set -euo pipefail
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin${PATH:+:$PATH}"
export DEBIAN_FRONTEND=noninteractive

log() { echo "services: $*" >&2; }
die() { echo "services: ERROR: $*" >&2; exit 1; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
apt_install() {
    [[ $(id -u) -eq 0 ]] || die "$* is missing; install it (apt-get install $*) or run as root"
    command -v apt-get >/dev/null || die "$* is missing and this is not a Debian/Ubuntu machine; install it"
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

redis() {
    if port_open 6379; then return 0; fi
    command -v redis-server >/dev/null || apt_install redis-server
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
        --dir /tmp --logfile /tmp/cryo-redis.log --pidfile /tmp/cryo-redis.pid
    for _ in $(seq 50); do port_open 6379 && { log "started Redis on 127.0.0.1:6379"; echo started >&2; return 0; }; sleep 0.1; done
    die "Redis did not start; see /tmp/cryo-redis.log"
}

broker() {
    local dir=$1 port=${CRYO_BROKER_PORT:-6380}
    command -v redis-server >/dev/null || apt_install redis-server
    mkdir -p "$dir/redis"
    chmod 0700 "$dir/redis"
    if [[ ! -s $dir/broker-url ]]; then
        (umask 077; echo "redis://:$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')@127.0.0.1:$port/0" > "$dir/broker-url")
    fi
    local password
    password=$(sed -E 's|^redis://:([^@]*)@.*$|\1|' "$dir/broker-url")
    if port_open "$port"; then
        redis-cli -p "$port" -a "$password" --no-auth-warning ping 2>/dev/null | grep -q PONG && return 0
        die "something else listens on 127.0.0.1:$port; set CRYO_BROKER_PORT to a free port"
    fi
    # The password goes in through a private config file, not the command line (which every user can read).
    (umask 077; printf 'requirepass %s\n' "$password" > "$dir/redis/redis.conf")
    redis-server "$dir/redis/redis.conf" --daemonize yes --bind 127.0.0.1 --port "$port" --save "" \
        --appendonly no --dir "$dir/redis" --logfile "$dir/redis/redis.log" --pidfile "$dir/redis/redis.pid"
    for _ in $(seq 50); do port_open "$port" && { log "started Cryo's broker on 127.0.0.1:$port"; echo started >&2; return 0; }; sleep 0.1; done
    die "the broker did not start; see $dir/redis/redis.log"
}

postgres() {
    local url="postgres://postgres@127.0.0.1:5432/cryo"
    if ! port_open 5432; then
        if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
            apt_install postgresql
        fi
        local version
        version=$(ls /etc/postgresql | sort -V | tail -1)
        pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || pg_ctlcluster "$version" main start
        for _ in $(seq 100); do port_open 5432 && break; sleep 0.1; done
        port_open 5432 || die "PostgreSQL did not start"
        log "started PostgreSQL $version"
    fi
    if ! psql "postgres://postgres@127.0.0.1:5432/postgres" -Atc 'select 1' >/dev/null 2>&1; then
        # A fresh cluster asks for a password on TCP: give the postgres role one for local tests.
        [[ $(id -u) -eq 0 ]] || die "cannot connect to PostgreSQL as postgres on 127.0.0.1; set DATABASE_URL"
        su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'cryo-local'\"" >/dev/null
        url="postgres://postgres:cryo-local@127.0.0.1:5432/cryo"
    fi
    echo "$url"
}

case "${1:-}" in
    redis) redis ;;
    broker) broker "${2:?usage: $0 broker DIR}" ;;
    postgres) postgres ;;
    *) echo "usage: $0 redis|broker DIR|postgres" >&2; exit 2 ;;
esac
