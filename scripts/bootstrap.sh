#!/usr/bin/env bash
# Install what `make run` and `make test` need, then create/refresh .venv.
#
# Idempotent and quick when everything is present: it only asks dpkg what is
# installed, and runs `apt-get update` + `apt-get install` only when something
# is missing. The venv is (re)installed only when pyproject.toml is newer than
# the stamp file .venv/.clinic-installed.
#
# Environment:
#   CLINIC_SKIP_APT=1   never touch system packages (e.g. a non-root developer
#                       who installed them already)
#   PYTHON=python3.12   interpreter used to create .venv (default: python3)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PYTHON="${PYTHON:-python3}"
VENV="$ROOT/.venv"
STAMP="$VENV/.clinic-installed"

log() { printf 'bootstrap: %s\n' "$*" >&2; }

# ---------------------------------------------------------------------------
# System packages. Each entry is "name" or "name|alternative|..." (the
# alternatives cover renamed packages, e.g. Ubuntu 24.04's *t64 libraries);
# an entry is satisfied when any of its names is installed.
# ---------------------------------------------------------------------------
SYSTEM_PACKAGES=(
    make
    # Qt 6 runtime libraries the PySide6 wheels link against (xcb platform
    # plugin, EGL/GL, fonts, D-Bus, input, sound), for a headless machine.
    libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libdbus-1-3 libfontconfig1
    libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
    libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xfixes0 libxcb-xkb1
    libxrender1 libxi6 "libglib2.0-0|libglib2.0-0t64" libpulse0
    # A virtual X display for GUI tests (xvfb-run needs xauth).
    xvfb xauth
    # A Chinese TrueType font (TTC with TrueType outlines, usable by PDF
    # writers that cannot embed CFF/OpenType fonts) for prescriptions and UI.
    "fonts-wqy-zenhei|fonts-arphic-uming"
    # pdftoppm, to turn generated PDFs into images in tests.
    poppler-utils
    # PostgreSQL server binaries; scripts/pg.sh runs its own throw-away cluster.
    postgresql
)

is_installed() {
    # True when dpkg reports package $1 as installed.
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = installed ]
}

has_candidate() {
    local cand
    cand="$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2; exit}')"
    [ -n "$cand" ] && [ "$cand" != "(none)" ]
}

python_ok() {
    command -v "$PYTHON" >/dev/null 2>&1 &&
        "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null
}

venv_works() {
    # Can $PYTHON create a venv with pip? (Debian splits ensurepip into python3-venv.)
    local tmp rc
    tmp="$(mktemp -d)"
    if "$PYTHON" -m venv "$tmp/v" >/dev/null 2>&1 && [ -x "$tmp/v/bin/pip" ]; then rc=0; else rc=1; fi
    rm -rf "$tmp"
    return "$rc"
}

venv_healthy() {
    [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1
}

install_system_packages() {
    if [ "${CLINIC_SKIP_APT:-0}" = 1 ]; then
        log "CLINIC_SKIP_APT=1: not checking system packages"
        return 0
    fi
    if ! command -v dpkg-query >/dev/null 2>&1; then
        log "no dpkg on this machine: install the packages listed in docs/setup.md yourself"
        return 0
    fi

    local wanted=("${SYSTEM_PACKAGES[@]}")
    if ! python_ok; then
        # No usable interpreter: Debian's python3 (3.11 on Debian 12) and its venv.
        wanted+=(python3 python3-venv)
    elif ! venv_healthy && ! venv_works; then
        # python3-venv only when creating a venv actually fails.
        wanted+=(python3-venv)
    fi

    local missing=() entry alt ok
    for entry in "${wanted[@]}"; do
        ok=0
        IFS='|' read -r -a alts <<<"$entry"
        for alt in "${alts[@]}"; do
            if is_installed "$alt"; then ok=1; break; fi
        done
        [ "$ok" = 1 ] || missing+=("$entry")
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        return 0
    fi

    if [ "$(id -u)" != 0 ]; then
        log "missing system packages: ${missing[*]}"
        log "run this script as root (or install them with sudo apt-get install), or set CLINIC_SKIP_APT=1"
        return 1
    fi

    export DEBIAN_FRONTEND=noninteractive
    log "missing: ${missing[*]}; running apt-get update"
    apt-get update -qq

    local to_install=() chosen
    for entry in "${missing[@]}"; do
        chosen=""
        IFS='|' read -r -a alts <<<"$entry"
        for alt in "${alts[@]}"; do
            if has_candidate "$alt"; then chosen="$alt"; break; fi
        done
        if [ -z "$chosen" ]; then
            log "WARNING: no installable package for '$entry' on this system; skipping it"
            continue
        fi
        to_install+=("$chosen")
    done
    if [ "${#to_install[@]}" -gt 0 ]; then
        log "apt-get install ${to_install[*]}"
        apt-get install -y -qq --no-install-recommends "${to_install[@]}"
    fi
}

create_venv() {
    if ! python_ok; then
        log "need Python >= 3.11 as '$PYTHON' (set PYTHON=... to choose another interpreter)"
        return 1
    fi
    if [ -e "$VENV" ] && ! venv_healthy; then
        log "$VENV is broken (its interpreter is gone?); recreating it"
        rm -rf "$VENV"
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        log "creating $VENV"
        "$PYTHON" -m venv "$VENV"
        rm -f "$STAMP"
    fi
    if [ ! -f "$STAMP" ] || [ "$ROOT/pyproject.toml" -nt "$STAMP" ]; then
        log "pip install -e '.[test]'"
        "$VENV/bin/python" -m pip install --disable-pip-version-check -q -e "${ROOT}[test]"
        touch "$STAMP"
    fi
}

install_system_packages
create_venv
