#!/usr/bin/env python3
"""Exit 1 (naming each difference) when this venv does not hold exactly the versions pinned
in packaging/constraints.txt, so a build never ships versions the tests did not pass with."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

CONSTRAINTS = Path(__file__).resolve().parent.parent / "packaging" / "constraints.txt"


def _name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text).lower()


def differences(constraints: Path = CONSTRAINTS) -> list[str]:
    frozen = subprocess.run([sys.executable, "-m", "pip", "freeze", "--exclude-editable"],
                            capture_output=True, text=True, check=True).stdout.splitlines()
    installed = {_name(n): v for n, _, v in (line.partition("==") for line in frozen) if v}
    problems = []
    for line in constraints.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, _, pinned = line.partition("==")
        have = installed.get(_name(name))
        if have != pinned:
            problems.append(f"{name}: pinned {pinned}, installed {have or 'nothing'}")
    return problems


def main() -> int:
    problems = differences()
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print("This venv differs from packaging/constraints.txt: reinstall with "
              "`pip install -c packaging/constraints.txt -e .[dev,packaging]`, or, after the "
              "tests pass with the new versions, run scripts/freeze-constraints.sh.",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
