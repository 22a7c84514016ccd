#!/usr/bin/env bash
# Run a built one-folder app's --self-test: it must exit 0 with nothing on stderr.
# Prints the folder size and the start-up time (to --version, and the whole self-test).
set -euo pipefail
app=${1:-dist/mangodesk}
exe="$app/mangodesk"
[ -x "$exe" ] || { echo "no built app at $exe (run packaging/build-linux.sh)" >&2; exit 1; }
err=$(mktemp); trap 'rm -f "$err"' EXIT
start=$(date +%s.%N)
"$exe" --version >/dev/null
version_done=$(date +%s.%N)
env -u DISPLAY -u WAYLAND_DISPLAY QT_QPA_PLATFORM=offscreen "$exe" --self-test 2>"$err"
end=$(date +%s.%N)
if [ -s "$err" ]; then
  echo "the self-test wrote to stderr:" >&2; cat "$err" >&2; exit 1
fi
echo "folder size: $(du -sh "$app" | cut -f1) ($(du -sb "$app" | cut -f1) bytes)"
awk -v a="$start" -v b="$version_done" -v c="$end" \
  'BEGIN { printf "start-up to --version: %.2f s; whole self-test: %.2f s\n", b - a, c - b }'
