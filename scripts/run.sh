#!/usr/bin/env bash
# `make run`: a working service on a machine without a screen.
#
# Bootstraps, creates/upgrades the schema, loads the demo data (idempotent),
# then runs `clinic-server serve` in the foreground on $CLINIC_HOST:$CLINIC_PORT
# (127.0.0.1:8000) with the patient simulator in the background, started once
# the server answers /healthz and stopped when the server stops (Ctrl-C).
#
# Data goes to $CLINIC_DATA_DIR (default: var/data in this checkout, removed
# by `make clean`); set CLINIC_DATABASE_URL to use PostgreSQL instead of the
# SQLite file there.
#
# Environment: CLINIC_HOST, CLINIC_PORT, SIM_PATIENTS (5), SIM_PACE (2),
# CLINIC_SKIP_BOOTSTRAP=1, CLINIC_NO_SIMULATOR=1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

HOST="${CLINIC_HOST:-127.0.0.1}"
PORT="${CLINIC_PORT:-8000}"
SIM_PATIENTS="${SIM_PATIENTS:-5}"
SIM_PACE="${SIM_PACE:-2}"
BASE_URL="http://$HOST:$PORT"

export CLINIC_DATA_DIR="${CLINIC_DATA_DIR:-$ROOT/var/data}"
export CLINIC_PUBLIC_BASE_URL="${CLINIC_PUBLIC_BASE_URL:-$BASE_URL}"
# the simulated patients all come from this machine: the per-address SMS cap is for the real internet
export CLINIC_SMS_HOURLY_CAP_PER_CLIENT="${CLINIC_SMS_HOURLY_CAP_PER_CLIENT:-100000}"
mkdir -p "$CLINIC_DATA_DIR"

log() { printf 'run.sh: %s\n' "$*" >&2; }

if [ "${CLINIC_SKIP_BOOTSTRAP:-0}" != 1 ]; then
    bash scripts/bootstrap.sh
fi

BIN="$ROOT/.venv/bin"
PY="$BIN/python"

port_busy() {
    "$PY" - "$HOST" "$PORT" <<'PY'
import socket, sys
s = socket.socket()
s.settimeout(1)
sys.exit(0 if s.connect_ex((sys.argv[1], int(sys.argv[2]))) == 0 else 1)
PY
}
if port_busy; then
    log "something already listens on $HOST:$PORT (set CLINIC_PORT=... to use another port)"
    exit 1
fi

wait_healthy() {
    # Poll /healthz for up to 120 s; give up early if the server is gone.
    "$PY" - "$BASE_URL/healthz" "$1" <<'PY'
import os, sys, time, urllib.request
url, server_pid = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            if r.status == 200:
                sys.exit(0)
    except OSError:
        pass
    try:
        os.kill(server_pid, 0)
    except ProcessLookupError:
        sys.exit(1)
    time.sleep(0.5)
sys.exit(1)
PY
}

sim_pid=""
stop_simulator() {
    if [ -n "$sim_pid" ] && kill -0 "$sim_pid" 2>/dev/null; then
        kill -TERM "$sim_pid" 2>/dev/null || true
        wait "$sim_pid" 2>/dev/null || true
    fi
    sim_pid=""
}
start_simulator_when_up() {  # $1: pid that must stay alive while we wait; more args go to simulate
    local watch="$1"; shift
    (
        if wait_healthy "$watch"; then
            echo "run.sh: server is up; starting the simulator ($SIM_PATIENTS patients, pace ${SIM_PACE}s)" >&2
            exec "$BIN/clinic-server" simulate --base-url "$BASE_URL" \
                --patients "$SIM_PATIENTS" --pace "$SIM_PACE" "$@"
        fi
        echo "run.sh: server did not answer $BASE_URL/healthz; simulator not started" >&2
    ) &
    sim_pid=$!
}

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ "${CLINIC_NO_WORKSTATION:-0}" != 1 ]; then
    # The workstation on its embedded default (its own SQLite backend with demo data, signed in as doctor1),
    # on a fixed port so that the simulator keeps checking patients in to it.
    trap stop_simulator EXIT
    log "starting the workstation (embedded backend on $BASE_URL); closing it stops everything"
    CLINIC_WS_EMBEDDED_PORT="$PORT" "$BIN/clinic-workstation" &
    ws_pid=$!
    if [ "${CLINIC_NO_SIMULATOR:-0}" != 1 ]; then
        # the workstation signs in as doctor1, the demo's doctor 1: its patients fill that queue
        start_simulator_when_up "$ws_pid" --doctor 1
    fi
    rc=0
    wait "$ws_pid" || rc=$?
    stop_simulator
    exit "$rc"
fi
log "no display: running the service and the simulator (the workstation needs a screen)"

"$BIN/clinic-server" init-db
"$BIN/clinic-server" demo-data

trap stop_simulator EXIT

log "serving on $BASE_URL (data: $CLINIC_DATA_DIR); Ctrl-C stops it"
if [ "${CLINIC_NO_SIMULATOR:-0}" != 1 ]; then
    start_simulator_when_up "$$"
fi

rc=0
"$BIN/clinic-server" serve --host "$HOST" --port "$PORT" || rc=$?
stop_simulator
exit "$rc"
