"""``python -m mangodesk`` and the ``mangodesk`` command: the only place that joins the
Qt-free core to the Qt front end."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mangodesk.paths import Paths
    from mangodesk.settings import Settings


def launch_gui(paths: Paths, settings: Settings, demo: bool) -> int:
    from mangodesk.ui.application import run_gui

    return int(run_gui(paths, settings, demo=demo))


def main(argv: Sequence[str] | None = None) -> int:
    from mangodesk.cli import main as cli_main

    return cli_main(argv, launch_gui)


if __name__ == "__main__":
    sys.exit(main())
