"""The ``mangodesk`` command: the GUI by default, headless subcommands for scripts and IT.

Each command module registers its subcommands; a command gets the parsed arguments and a
context factory, and returns the exit code. Bad input: one clear line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from mangodesk.app import Context
    from mangodesk.cli.runtime import FrontEnd, GuiLauncher

# Modules with a ``register(subparsers)`` function, in the order their commands are listed.
COMMAND_MODULES = [
    "mangodesk.cli.core",
    "mangodesk.cli.engine",
    "mangodesk.cli.smartair",
    "mangodesk.cli.sync",
    "mangodesk.cli.comms",
    "mangodesk.cli.service",
]

ContextFactory = Callable[[], "Context"]


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error quotes the input cut short and never echoes control
    characters to the terminal (a 100,000-character argument gives one readable line)."""

    def error(self, message: str) -> NoReturn:
        from mangodesk.cli.inputs import tidy_message

        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {tidy_message(message)}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="mangodesk",
        description="Door codes for every guest's stay. Without a command, opens the desk window.",
    )
    parser.add_argument("--data-dir", type=Path, help="keep settings, database and logs here")
    parser.add_argument(
        "--temp-profile", action="store_true", help="use a throwaway profile deleted on exit"
    )
    parser.add_argument(
        "--demo", action="store_true", help="open a sample hotel with simulated locks and PMS"
    )
    parser.add_argument("--version", action="store_true",
                        help="print the versions of Mangodesk, Qt, PySide6, SQLAlchemy and the "
                             "database schema, check the shipped files, and exit")
    parser.add_argument("--self-test", action="store_true",
                        help="check this installation: a throwaway demo hotel, one code "
                             "created and revoked on a simulated lock, then exit (0 = working)")
    parser.add_argument("--minimized", action="store_true",
                        help="start in the tray without opening the window (for autostart)")
    parser.add_argument("--unit", metavar="NAME", dest="open_unit",
                        help="open this unit's passcodes (in the running desk, if one is open)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, default=str, ensure_ascii=False)
    sys.stdout.write("\n")


def main(argv: Sequence[str] | None = None, launch_gui: GuiLauncher | None = None,
         front_end: FrontEnd | None = None) -> int:
    from mangodesk.cli.runtime import run

    parser = build_parser()
    args = parser.parse_args(argv)
    return run(parser, args, launch_gui, front_end)
