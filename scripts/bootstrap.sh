#!/usr/bin/env bash
# Creates .venv with Mangodesk and its test tools, and the system libraries Qt needs on
# Debian/Ubuntu. Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

qt_libs="libegl1 libgl1 libx11-6 libxcb1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 \
libfreetype6 libglib2.0-0 libdbus-1-3 libxcb-cursor0 libxcb-icccm4 libxcb-image0 \
libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xfixes0 libxcb-xkb1 \
libx11-xcb1 xvfb xauth"
if command -v dpkg-query >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  missing=""
  for pkg in $qt_libs; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
      || missing="$missing $pkg"
  done
  if [ -n "$missing" ]; then
    echo "Installing system libraries for Qt:$missing"
    sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq $missing >/dev/null
  fi
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
stamp=.venv/.mangodesk-installed

# Runs pip quietly and stops the bootstrap when pip fails: its whole output is shown, and the
# stamp is not written, so the next run tries again instead of trusting a half-installed venv.
pip_or_stop() {
  local output status=0
  output=$(.venv/bin/python -m pip "$@" 2>&1) || status=$?
  if [ "$status" -ne 0 ]; then
    printf '%s\n' "$output" >&2
    echo "bootstrap: 'pip $*' failed (exit $status; its output is above). Nothing was marked" \
         "installed: fix the cause (network, disk space, Python version) and run" \
         "scripts/bootstrap.sh again." >&2
    exit 1
  fi
  # pip's notice about constraints for packages not installed is noise; anything else is shown.
  printf '%s\n' "$output" | grep -v "is ignored" || true
}

if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ packaging/constraints.txt -nt "$stamp" ]; then
  rm -f "$stamp"
  if ! .venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1; then
    echo "bootstrap: could not upgrade pip; going on with $(.venv/bin/python -m pip --version)" >&2
  fi
  # The versions CI tested: packaging/constraints.txt (scripts/freeze-constraints.sh writes it).
  pip_or_stop install -q -c packaging/constraints.txt -e ".[dev,packaging]"
  pip_or_stop check
  .venv/bin/python -c "import mangodesk, PySide6, sqlalchemy, zeep, apscheduler"
  touch "$stamp"
fi
