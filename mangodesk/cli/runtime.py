"""Turns parsed arguments into a running front end: paths, settings, context, then the GUI
or a headless command. Everything with side effects starts here, not at import time."""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from mangodesk import __version__
from mangodesk.cli.inputs import shorten, tidy_message
from mangodesk.domain.errors import MangodeskError, ProviderError
from mangodesk.paths import Paths, create_private_file, restrict_file
from mangodesk.settings import Settings, load_settings

if TYPE_CHECKING:
    from mangodesk.app import Context, DeskOptions

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


def resolve_paths(args: argparse.Namespace) -> tuple[Paths, Callable[[], None]]:
    """The profile to use and how to clean it up (a throwaway one is deleted on exit)."""
    if args.temp_profile or args.demo:
        base = Path(tempfile.mkdtemp(prefix="mangodesk-"))
        return Paths.under(base), lambda: shutil.rmtree(base, ignore_errors=True)
    if args.data_dir is not None:
        return Paths.under(args.data_dir.expanduser().resolve()), lambda: None
    return Paths.for_user(), lambda: None


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """The log file (and each new one after a rotation) readable by this user only."""

    def _open(self) -> Any:
        if not os.path.exists(self.baseFilename):
            create_private_file(Path(self.baseFilename))
        else:
            restrict_file(Path(self.baseFilename))
        return super()._open()


def setup_logging(paths: Paths, *, verbose: bool = False) -> logging.Handler:
    paths.ensure()
    handler = PrivateRotatingFileHandler(
        paths.log_file, maxBytes=2_000_000, backupCount=5, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    # httpx logs full URLs (which can carry tokens in query strings): keep it quiet. The
    # handler refuses those records rather than changing the libraries' own logger levels.
    handler.addFilter(_quiet_http_libraries)
    return handler


def install_exception_logging() -> Callable[[], None]:
    """Make every uncaught exception loud: in the main thread and in any other thread it is
    written to the log with its traceback (then Python's own handling runs). Returns what
    puts the previous hooks back."""
    previous_sys = sys.excepthook
    previous_thread = threading.excepthook

    def log_uncaught(kind: type[BaseException], error: BaseException,
                     tb: TracebackType | None) -> None:
        if not issubclass(kind, KeyboardInterrupt):
            logging.getLogger("mangodesk").critical(
                "unexpected error: %s", kind.__name__, exc_info=(kind, error, tb))
        previous_sys(kind, error, tb)

    def log_thread(hook_args: threading.ExceptHookArgs) -> None:
        if hook_args.exc_value is not None and not isinstance(hook_args.exc_value, SystemExit):
            name = hook_args.thread.name if hook_args.thread is not None else "?"
            logging.getLogger("mangodesk").critical(
                "unexpected error in thread %s: %s", name, hook_args.exc_type.__name__,
                exc_info=(hook_args.exc_type, hook_args.exc_value, hook_args.exc_traceback))
        previous_thread(hook_args)

    sys.excepthook = log_uncaught
    threading.excepthook = log_thread

    def restore() -> None:
        sys.excepthook = previous_sys
        threading.excepthook = previous_thread

    return restore


def _quiet_http_libraries(record: logging.LogRecord) -> bool:
    if record.name.startswith(("httpx", "httpcore")):
        return record.levelno >= logging.WARNING
    return True


def fail(message: str, code: int = EXIT_BAD_INPUT) -> int:
    """One clear line on stderr (any input it quotes cut short, control characters shown
    as escapes)."""
    sys.stderr.write(f"mangodesk: {tidy_message(message)}\n")
    return code


GuiLauncher = Callable[[Paths, Settings, "DeskOptions"], int]


@dataclass(frozen=True)
class FrontEnd:
    """What only the Qt side can do, handed in by ``mangodesk.__main__`` (the core never
    imports Qt): its versions, and the whole-installation self-test."""

    qt_versions: Callable[[], list[str]]
    self_test: Callable[[], int]


def print_version(args: argparse.Namespace, front_end: FrontEnd | None) -> int:
    """Versions of everything a support call needs, and whether every shipped file is there.
    Exit 1 (with the missing files named) when the installation is incomplete."""
    import sqlalchemy

    import mangodesk
    from mangodesk import assets
    from mangodesk.app import profile_schema, shipped_schema

    lines = [f"Mangodesk {__version__}", f"Python {sys.version.split()[0]}"]
    if front_end is not None:
        lines += front_end.qt_versions()
    else:
        from importlib.metadata import PackageNotFoundError, version

        try:
            lines.append(f"PySide6 {version('PySide6-Essentials')} (Qt not loaded)")
        except PackageNotFoundError:
            lines.append("PySide6 not installed")
    lines.append(f"SQLAlchemy {sqlalchemy.__version__}")
    lines.append(f"Database schema {', '.join(shipped_schema())}")
    if not args.temp_profile and not args.demo:
        try:
            paths = (Paths.under(args.data_dir.expanduser().resolve())
                     if args.data_dir is not None else Paths.for_user())
            existing = profile_schema(paths)
        except (OSError, ValueError):
            existing = None
        if existing is not None:
            lines.append(f"This profile's database: schema {existing} ({paths.database_file})")
    missing = assets.missing()
    lines.append(f"Installed at {Path(mangodesk.__file__).parent}")
    lines.append(f"Shipped files: {len(assets.REQUIRED) - len(missing)} of "
                 f"{len(assets.REQUIRED)} found")
    print("\n".join(lines))
    if missing:
        return fail("This installation is incomplete; missing: " + ", ".join(missing)
                    + ". Install Mangodesk again.", EXIT_FAILED)
    return EXIT_OK


def run(parser: argparse.ArgumentParser, args: argparse.Namespace,
        launch_gui: GuiLauncher | None = None, front_end: FrontEnd | None = None) -> int:
    if args.version:
        return print_version(args, front_end)
    if args.self_test:
        if front_end is None:
            return fail("The self-test needs the desk (Qt) part of Mangodesk.", EXIT_FAILED)
        return front_end.self_test()
    try:
        paths, cleanup = resolve_paths(args)
    except (OSError, ValueError) as exc:
        return fail(f"The profile folder cannot be used: {exc}.", EXIT_FAILED)
    try:
        try:
            settings = load_settings(paths.settings_file)
            log_handler = setup_logging(paths)
        except MangodeskError as exc:
            return fail(str(exc), EXIT_FAILED)
        except (OSError, ValueError) as exc:
            return fail(f"The profile folder {shorten(str(paths.data_dir.parent), 200)} "
                        f"cannot be used ({type(exc).__name__}: {exc}).", EXIT_FAILED)
        args.profile = (paths, settings)  # for commands that run before a database opens
        contexts: list[Context] = []

        def make_context() -> Context:
            from mangodesk.app import build_context

            if not contexts:
                contexts.append(build_context(paths, settings))
            return contexts[0]

        restore_hooks = install_exception_logging()
        try:
            if args.command is None:
                if launch_gui is None:
                    parser.print_help()
                    return EXIT_BAD_INPUT
                from mangodesk.app import DeskOptions

                return launch_gui(paths, settings, DeskOptions(
                    demo=bool(args.demo), minimized=bool(args.minimized), unit=args.open_unit))
            if args.demo:
                from mangodesk.demo import start_demo

                demo = start_demo(paths, settings)
                contexts.append(demo.context)
            handler = args.func
            return int(handler(args, make_context))
        except ProviderError as exc:  # the provider failed, not the input
            return fail(str(exc), EXIT_FAILED)
        except MangodeskError as exc:
            return fail(str(exc))
        except (KeyboardInterrupt, EOFError):
            return fail("Stopped before finishing; nothing more was done.", EXIT_FAILED)
        except Exception:
            log.exception("the command %s failed unexpectedly", args.command)
            return fail("An unexpected error stopped this command. The details are in the log "
                        f"file {paths.log_file}; please send it to your IT contact.",
                        EXIT_FAILED)
        finally:
            try:
                for context in contexts:
                    context.close()
            finally:
                restore_hooks()
                logging.getLogger().removeHandler(log_handler)
                log_handler.close()
    finally:
        cleanup()
