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
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from mangodesk import __version__
from mangodesk.cli.inputs import shorten, tidy_message
from mangodesk.domain.errors import MangodeskError
from mangodesk.paths import Paths, create_private_file, restrict_file
from mangodesk.settings import Settings, load_settings
from mangodesk.vendors.base import VendorError

if TYPE_CHECKING:
    from mangodesk.app import Context

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


GuiLauncher = Callable[[Paths, Settings, bool], int]


def run(parser: argparse.ArgumentParser, args: argparse.Namespace,
        launch_gui: GuiLauncher | None = None) -> int:
    if args.version:
        print(f"Mangodesk {__version__}")
        return EXIT_OK
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
                return launch_gui(paths, settings, bool(args.demo))
            if args.demo:
                from mangodesk.demo import start_demo

                demo = start_demo(paths, settings)
                contexts.append(demo.context)
            handler = args.func
            return int(handler(args, make_context))
        except MangodeskError as exc:
            return fail(str(exc))
        except VendorError as exc:
            return fail(str(exc), EXIT_FAILED)
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
