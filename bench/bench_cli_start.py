"""CLI start-up benchmark: how long a command that only reads the database takes, from
process start to exit, here and (with ``--before PATH``) in an older checkout.

Prints the median wall and CPU time of ``mangodesk units``, ``audit`` and ``codes "Room 101"``
over several runs on a demo-sized profile, the floor (``python -c "import sqlite3"``, measured
in the same run) and each command's ratio to it, which heavy modules each loaded (Qt, Alembic,
httpx, zeep, Jinja2, the OS keyring), and the ratio before/after. Bytecode is cached (in a
temporary ``PYTHONPYCACHEPREFIX``) as in an installed copy, even where the shell sets
``PYTHONDONTWRITEBYTECODE``. Not a timed test: the machine's load moves the numbers; the ratios
and the modules say what changed.

Run: ``PYTHONPATH=. .venv/bin/python bench/bench_cli_start.py --before /path/to/old/checkout``
(an older checkout is made with ``git worktree add /tmp/before <commit>``).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HEAVY = ("PySide6", "alembic", "httpx", "zeep", "jinja2", "keyring", "secretstorage")
COMMANDS = (["units"], ["audit"], ["codes", "Room 101"])
FLOOR = ["-c", "import sqlite3"]
# Compiled bytecode kept outside the tree and the shared environment, as an installed copy has.
PYCACHE = Path(tempfile.gettempdir()) / "mangodesk-bench-pycache"


def child_env(tree: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    return env
PROBE = """
import io, sys, contextlib
from mangodesk.__main__ import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main(sys.argv[1:])
print("LOADED " + (",".join(m for m in {heavy!r} if m in sys.modules) or "none"),
      file=sys.stderr)
sys.exit(code)
"""


def make_profile(base: Path) -> Path:
    from mangodesk.app import build_context
    from mangodesk.demo import seed_hotel, seed_manual_locks
    from mangodesk.domain.clock import SystemClock
    from mangodesk.paths import Paths
    from mangodesk.settings import Settings

    context = build_context(Paths.under(base), Settings(), actor="bench")
    seed_hotel(context, SystemClock().now())
    seed_manual_locks(context, SystemClock().now())
    context.close()
    return base


def run_once(tree: Path, data: Path, command: list[str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one run of the command."""
    env = child_env(tree)
    # Run outside any checkout: ``-m`` and ``-c`` put the working directory first on the path.
    args = [sys.executable, "-m", "mangodesk", "--data-dir", str(data), *command]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(args, env=env, cwd=data.parent, check=True, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def heavy_modules(tree: Path, data: Path, command: list[str]) -> str:
    env = child_env(tree)
    probe = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), "--data-dir", str(data), *command],
        env=env, cwd=data.parent, check=True, capture_output=True, text=True)
    loaded = [line for line in probe.stderr.splitlines() if line.startswith("LOADED ")]
    return loaded[-1].removeprefix("LOADED ") if loaded else "?"


def measure(trees: dict[str, Path], data: Path, command: list[str],
            runs: int) -> dict[str, tuple[float, float]]:
    """Median wall and CPU time per tree; runs alternate between the trees so that a
    change in the machine's load hits both alike."""
    for tree in trees.values():
        run_once(tree, data, command)  # warm the .pyc caches
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
    for _ in range(runs):
        for name, tree in trees.items():
            samples[name].append(run_once(tree, data, command))
    return {name: (statistics.median(w for w, _ in got), statistics.median(c for _, c in got))
            for name, got in samples.items()}


def floor(runs: int) -> tuple[float, float]:
    """Median wall and CPU time of a bare interpreter that imports sqlite3."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run([sys.executable, *FLOOR], check=True, env=child_env())
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="an older checkout to compare with")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        data = make_profile(Path(temp) / "profile")
        floor_wall, floor_cpu = floor(args.runs)
        print(f"python -c 'import sqlite3': wall {floor_wall * 1000:.0f} ms   cpu "
              f"{floor_cpu * 1000:.0f} ms")
        trees = {"now": ROOT}
        if args.before is not None:
            trees["before"] = args.before
        for command in COMMANDS:
            name = " ".join(command)
            results = measure(trees, data, command, args.runs)
            for which, (wall, cpu) in results.items():
                print(f"{name:<16} {which:<7} wall {wall * 1000:6.0f} ms "
                      f"({wall / floor_wall:4.1f}x bare)   cpu {cpu * 1000:6.0f} ms "
                      f"({cpu / max(floor_cpu, 1e-3):4.1f}x bare)   heavy modules: "
                      f"{heavy_modules(trees[which], data, command)}")
            if "before" in results:
                (wall_now, cpu_now), (wall_before, cpu_before) = results["now"], results["before"]
                print(f"{name:<16} ratio before/now: wall {wall_before / wall_now:.2f}, "
                      f"cpu {cpu_before / cpu_now:.2f}")


if __name__ == "__main__":
    main()
