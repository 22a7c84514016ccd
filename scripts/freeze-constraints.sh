#!/usr/bin/env bash
# Write packaging/constraints.txt from the venv the tests just passed in (pip freeze, without
# Mangodesk itself), so the build and bootstrap install exactly those versions.
set -euo pipefail
cd "$(dirname "$0")/.."
{
  echo "# The versions the test suite passed with (pip freeze of the tested venv, without Mangodesk)."
  echo "# Used by scripts/bootstrap.sh and packaging/build-linux.sh so builds ship exactly these."
  echo "# Regenerate: scripts/freeze-constraints.sh"
  .venv/bin/python -m pip freeze --exclude-editable 2>/dev/null | grep -iv "^mangodesk"
} > packaging/constraints.txt
echo "wrote packaging/constraints.txt ($(grep -cv '^#' packaging/constraints.txt) packages)"
