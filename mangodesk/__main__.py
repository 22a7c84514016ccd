"""``python -m mangodesk`` and the ``mangodesk`` command: the only place that joins the
Qt-free core to the Qt front end."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from mangodesk.cli.runtime import FrontEnd

if TYPE_CHECKING:
    from mangodesk.app import DeskOptions
    from mangodesk.paths import Paths
    from mangodesk.settings import Settings


def launch_gui(paths: Paths, settings: Settings, options: DeskOptions) -> int:
    from mangodesk.ui.application import run_gui

    return int(run_gui(paths, settings, options))


def qt_versions() -> list[str]:
    from mangodesk.ui.application import qt_versions as loaded

    return loaded()


def self_test() -> int:
    from mangodesk.ui.self_test import run_self_test

    return run_self_test()


def main(argv: Sequence[str] | None = None) -> int:
    from mangodesk.cli import main as cli_main

    return cli_main(argv, launch_gui, FrontEnd(qt_versions=qt_versions, self_test=self_test))


if __name__ == "__main__":
    sys.exit(main())
