#!/usr/bin/env bash
# Build the Linux one-folder app into dist/mangodesk with the pinned versions, then run its
# self-test and print the folder's size and start-up time.
#   packaging/build-linux.sh [--no-test]
# PYTHON (default .venv/bin/python) must have Mangodesk's dependencies and PyInstaller.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
run_test=1
[ "${1:-}" = "--no-test" ] && run_test=0

if ! "$python" -c "import PyInstaller" 2>/dev/null; then
  "$python" -m pip install -q -c packaging/constraints.txt "pyinstaller>=6.10"
fi
"$python" scripts/check_pins.py  # ship only the versions the tests passed with
"$python" scripts/build_resources.py --check
build_dir=${MANGODESK_BUILD_DIR:-build/pyinstaller}
# PyInstaller's analysis cache under $build_dir makes a rebuild take seconds, not minutes.
"$python" -m PyInstaller --noconfirm --log-level WARN \
  --workpath "$build_dir" --distpath dist packaging/mangodesk.spec
app=dist/mangodesk
cp resources/linux/no.mangodesk.Mangodesk.desktop resources/linux/no.mangodesk.Mangodesk.metainfo.xml "$app/"
cp resources/icons/mangodesk-256.png "$app/no.mangodesk.Mangodesk.png"
cp packaging/linux/install.sh packaging/linux/mangodesk.service "$app/"
echo "built $app ($(du -sh "$app" | cut -f1))"
if [ "$run_test" = 1 ]; then
  packaging/frozen-self-test.sh "$app"
fi
