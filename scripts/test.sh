#!/usr/bin/env bash
# Run the test suite: on SQLite, then on a throw-away PostgreSQL server.
#
#   scripts/test.sh [all|sqlite|pg] [pytest args...]
#
# Each run is `.venv/bin/python -m pytest` under a virtual X display
# (xvfb-run -a), so GUI tests have a screen. The PostgreSQL run gets
# CLINIC_TEST_DATABASE_URL from scripts/pg.sh (database emptied first); a
# server this script started is stopped and deleted on exit, on failure and on
# Ctrl-C. pytest's exit code 5 (no tests collected) counts as a failure.
# Exits non-zero if any run failed.
#
# Environment:
#   PYTEST_ARGS              extra pytest arguments (word-split)
#   CLINIC_SKIP_BOOTSTRAP=1  do not run scripts/bootstrap.sh first
#   CLINIC_TEST_RUN_TIMEOUT  seconds one pytest run may take (default 1500;
#                            0: no limit)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

mode="${1:-all}"
[ $# -gt 0 ] && shift
case "$mode" in
    all|sqlite|pg) ;;
    *) echo "usage: $0 [all|sqlite|pg] [pytest args...]" >&2; exit 2 ;;
esac

extra=("$@")
if [ -n "${PYTEST_ARGS:-}" ]; then
    read -r -a more <<<"$PYTEST_ARGS"
    extra+=("${more[@]}")
fi

if [ "${CLINIC_SKIP_BOOTSTRAP:-0}" != 1 ]; then
    bash scripts/bootstrap.sh
fi

PY="$ROOT/.venv/bin/python"
RUN_TIMEOUT="${CLINIC_TEST_RUN_TIMEOUT:-1500}"

# Let Qt pick the X server that xvfb-run provides.
unset QT_QPA_PLATFORM

run_pytest() {
    # run_pytest LABEL [env assignments...] -- pytest args
    local label="$1"; shift
    local envs=()
    while [ "$1" != "--" ]; do envs+=("$1"); shift; done
    shift
    local display=()
    if command -v xvfb-run >/dev/null 2>&1; then
        display=(xvfb-run -a -s "-screen 0 1920x1080x24")
    else
        echo "test.sh: xvfb-run not found; GUI tests may be skipped or fail" >&2
    fi
    echo "=== pytest on $label ===" >&2
    # Run in the background and `wait`, so that a Ctrl-C or TERM reaches our
    # trap at once; `timeout` makes its own process group, which the trap kills.
    local limit=()
    if [ "$RUN_TIMEOUT" != 0 ]; then
        limit=(timeout -k 30 "$RUN_TIMEOUT")
    fi
    local rc=0
    env "${envs[@]}" "${limit[@]}" "${display[@]}" "$PY" -m pytest --durations=15 "$@" &
    child=$!
    wait "$child" || rc=$?
    child=""
    case "$rc" in
        0) ;;
        5) echo "test.sh: pytest on $label collected no tests: counted as a failure" >&2 ;;
        124) echo "test.sh: pytest on $label took longer than ${RUN_TIMEOUT}s and was stopped" >&2 ;;
        *) echo "test.sh: pytest on $label failed (exit $rc)" >&2 ;;
    esac
    return "$rc"
}

started_pg=0
child=""
# shellcheck disable=SC2317  # called from traps
on_signal() {
    if [ -n "$child" ]; then
        kill -TERM -- "-$child" 2>/dev/null || kill -TERM "$child" 2>/dev/null || true
        wait "$child" 2>/dev/null || true
    fi
    exit "$1"
}
# shellcheck disable=SC2317
cleanup() {
    # A server this script started is thrown away; one that was already
    # running (a developer's `scripts/pg.sh start`) is left alone.
    if [ "$started_pg" = 1 ]; then
        bash scripts/pg.sh destroy || true
    fi
}
trap cleanup EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

sqlite_rc=skipped
pg_rc=skipped
failed=0

if [ "$mode" = all ] || [ "$mode" = sqlite ]; then
    sqlite_rc=0
    # -u: a CLINIC_TEST_DATABASE_URL from the caller's shell must not leak in.
    run_pytest SQLite -u CLINIC_TEST_DATABASE_URL -- "${extra[@]}" || sqlite_rc=$?
    [ "$sqlite_rc" = 0 ] || failed=1
fi

if [ "$mode" = all ] || [ "$mode" = pg ]; then
    pg_rc=0
    if ! bash scripts/pg.sh status >/dev/null 2>&1; then
        started_pg=1
    fi
    if bash scripts/pg.sh start >/dev/null && url="$(bash scripts/pg.sh reset)"; then
        echo "test.sh: PostgreSQL at $url" >&2
        # the API fuzzing runs at full depth on SQLite; on PostgreSQL at a third of it (every operation still
        # tried by every role, for the database's own errors) to keep the whole suite within CI's time
        run_pytest PostgreSQL "CLINIC_TEST_DATABASE_URL=$url" \
            "CLINIC_SCHEMATHESIS_EXAMPLES=${CLINIC_SCHEMATHESIS_EXAMPLES_PG:-4}" -- "${extra[@]}" || pg_rc=$?
    else
        echo "test.sh: could not start PostgreSQL" >&2
        pg_rc=1
    fi
    [ "$pg_rc" = 0 ] || failed=1
fi

echo "test.sh: results: sqlite=$sqlite_rc postgresql=$pg_rc" >&2
exit "$failed"
