#!/usr/bin/env bash
# A throw-away PostgreSQL server for this checkout's tests.
#
#   scripts/pg.sh start    start it (initdb on first use), create database
#                          clinic_test, print its SQLAlchemy URL
#   scripts/pg.sh url      print the URL of the running server
#   scripts/pg.sh reset    drop all databases but postgres, create an empty
#                          clinic_test, print the URL (server must run)
#   scripts/pg.sh status   exit 0 if running
#   scripts/pg.sh stop     stop it (keeps the data directory)
#   scripts/pg.sh destroy  stop it and delete the data directory
#
# The cluster is not the system's default one: it lives in
# /tmp/clinic-pg-<uid>-<hash of this checkout's path> (override with
# CLINIC_PG_DIR), listens only on 127.0.0.1 on a free port (54329 when free),
# trusts loopback connections, and keeps its Unix socket in its own folder.
# Run as root, the server runs as the `postgres` system user.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DB_NAME="clinic_test"
DB_USER="postgres"
PREFERRED_PORT="${CLINIC_PG_PORT:-54329}"

hash="$(printf '%s' "$ROOT" | sha1sum | cut -c1-10)"
BASE="${CLINIC_PG_DIR:-/tmp/clinic-pg-$(id -u)-$hash}"
DATA="$BASE/data"
LOGFILE="$BASE/server.log"

die() { printf 'pg.sh: %s\n' "$*" >&2; exit 1; }
say() { printf 'pg.sh: %s\n' "$*" >&2; }

find_bindir() {
    if [ -n "${PG_BINDIR:-}" ]; then
        printf '%s\n' "$PG_BINDIR"; return 0
    fi
    local d newest=""
    # The newest installed major version (a glob sorts 10 before 9: use sort -V).
    newest="$(for d in /usr/lib/postgresql/*/bin; do
                  [ -x "$d/pg_ctl" ] && printf '%s\n' "$d"
              done | sort -V | tail -n 1 || true)"
    if [ -n "$newest" ]; then
        printf '%s\n' "$newest"; return 0
    fi
    if command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v pg_ctl)")"; return 0
    fi
    die "PostgreSQL server binaries not found (run scripts/bootstrap.sh, or set PG_BINDIR)"
}
BINDIR="$(find_bindir)"

# Run a PostgreSQL binary as the user that owns the cluster.
if [ "$(id -u)" = 0 ]; then
    getent passwd postgres >/dev/null || die "no 'postgres' system user (is the postgresql package installed?)"
    RUNUSER="$(command -v runuser || echo /usr/sbin/runuser)"
    # cd / first: the checkout may sit in a folder that postgres cannot enter.
    as_owner() { (cd / && "$RUNUSER" -u postgres -- "$@"); }
    OWNER=postgres
else
    as_owner() { "$@"; }
    OWNER="$(id -un)"
fi

pg() { as_owner "$BINDIR/$1" "${@:2}"; }

is_running() {
    [ -f "$DATA/PG_VERSION" ] && pg pg_ctl -D "$DATA" status >/dev/null 2>&1
}

# Port of the running server: line 4 of postmaster.pid.
running_port() {
    sed -n 4p "$DATA/postmaster.pid" 2>/dev/null
}

port_free() {
    python3 - "$1" <<'PY' 2>/dev/null
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()
PY
}

pick_port() {
    local p
    for p in "$PREFERRED_PORT" $(seq 54330 54399); do
        if port_free "$p"; then printf '%s\n' "$p"; return 0; fi
    done
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

url() {
    printf 'postgresql+psycopg://%s@127.0.0.1:%s/%s\n' "$DB_USER" "$(running_port)" "$DB_NAME"
}

psql_cmd() {
    pg psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$(running_port)" -U "$DB_USER" -d postgres "$@"
}

ensure_db() {
    local exists
    exists="$(psql_cmd -tA -c "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")"
    if [ "$exists" != 1 ]; then
        psql_cmd -c "CREATE DATABASE $DB_NAME"
    fi
}

init_cluster() {
    local want_version
    want_version="$("$BINDIR/pg_ctl" --version | sed -E 's/^[^0-9]*([0-9]+).*/\1/')"
    if [ -f "$DATA/PG_VERSION" ] && [ "$(cat "$DATA/PG_VERSION")" = "$want_version" ] \
        && [ -f "$DATA/postgresql.conf" ]; then
        return 0
    fi
    # First use, a half-made cluster, or one from another PostgreSQL version.
    rm -rf "$BASE"
    mkdir -p "$BASE"
    chmod 700 "$BASE"
    [ "$OWNER" = "$(id -un)" ] || chown "$OWNER": "$BASE"
    say "initdb in $DATA"
    pg initdb -D "$DATA" -U "$DB_USER" --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
        >"$BASE/initdb.log" 2>&1 || { cat "$BASE/initdb.log" >&2; die "initdb failed"; }
    cat >"$BASE/pg_hba.conf" <<HBA
# Throw-away test cluster: loopback only, no passwords.
local   all all              trust
host    all all 127.0.0.1/32 trust
HBA
    as_owner cp "$BASE/pg_hba.conf" "$DATA/pg_hba.conf"
    # Durability is worthless here; speed is not.
    as_owner sh -c "cat >> '$DATA/postgresql.conf'" <<CONF

# --- clinic test cluster ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$BASE'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
log_min_messages = warning
CONF
}

start() {
    if is_running; then
        ensure_db
        url
        return 0
    fi
    init_cluster
    local port
    for _ in 1 2 3 4 5; do
        port="$(pick_port)"
        if pg pg_ctl -D "$DATA" -l "$LOGFILE" -w -t 60 -o "-p $port" start >/dev/null 2>&1; then
            ensure_db
            url
            return 0
        fi
        # Another process may have taken the port between the check and the start.
        if grep -q -i "could not bind\|address already in use" "$LOGFILE" 2>/dev/null; then
            say "port $port was taken, trying another"
            continue
        fi
        break
    done
    tail -n 30 "$LOGFILE" >&2 || true
    die "could not start PostgreSQL (log: $LOGFILE)"
}

stop() {
    if is_running; then
        pg pg_ctl -D "$DATA" -m fast -w -t 60 stop >/dev/null
        say "stopped"
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    url)
        is_running || die "not running (scripts/pg.sh start)"
        url ;;
    reset)
        # Drop every database but postgres and the templates (tests may make
        # their own), then create an empty clinic_test.
        is_running || die "not running (scripts/pg.sh start)"
        for db in $(psql_cmd -tA -c "SELECT datname FROM pg_database
                                     WHERE datname NOT IN ('postgres', 'template0', 'template1')"); do
            psql_cmd -c "DROP DATABASE \"$db\" WITH (FORCE)"
        done
        psql_cmd -c "CREATE DATABASE $DB_NAME"
        url ;;
    status)
        if is_running; then say "running: $(url) (data: $DATA)"; else say "not running"; exit 1; fi ;;
    destroy)
        stop
        rm -rf "$BASE" ;;
    *)
        echo "usage: $0 start|stop|url|reset|status|destroy" >&2
        exit 2 ;;
esac
