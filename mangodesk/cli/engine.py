"""``mangodesk run`` (the automation without the desk window) and ``mangodesk plan`` (a dry run).

``run`` is for an always-on PC: it ticks the engine (and the PMS sync when Beds24 is
connected), logs to the log directory (rotated: 5 files of 2 MB), keeps its heartbeat in the
database (``mangodesk status``, the desks' status bar), answers ``GET /health`` on 127.0.0.1
for monitoring, and stops cleanly on Ctrl-C, SIGTERM, or ``mangodesk run --stop`` (a stop
file, because Windows services get no SIGTERM).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from mangodesk.always_on import HealthServer, Heartbeat
from mangodesk.app import (
    attach_engine,
    may_run_automation,
    schedule_pms_sync,
    settle_long_lived_objects,
)
from mangodesk.cli import add_json_flag, print_json
from mangodesk.cli.inputs import LAST_YEAR, shorten
from mangodesk.domain.errors import ConfigError, ValidationError
from mangodesk.domain.events import Event, EventKind
from mangodesk.domain.stay import local_instant

if TYPE_CHECKING:
    from mangodesk.app import Context
    from mangodesk.cli import ContextFactory
    from mangodesk.engine.engine import Engine

log = logging.getLogger(__name__)

STOP_FILE_NAME = "service.stop"
STOP_POLL_SECONDS = 1.0
MAX_PLAN_DAYS = 5 * 365


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "run", help="run the automation without the desk window (for an always-on PC)")
    p.add_argument("--stop", action="store_true",
                   help="ask the running service to stop, then exit")
    p.add_argument("--health-port", type=int, default=None, metavar="PORT",
                   help="answer GET /health on 127.0.0.1 at this port (default: health_port "
                        "in settings.json, 8765; 0: off)")
    p.set_defaults(func=cmd_run)

    p = subparsers.add_parser(
        "plan", help="show what the automation would do up to a date, without doing it")
    p.add_argument("--until", required=True, type=_parse_date, metavar="YYYY-MM-DD",
                   help="last day to include (hotel time)")
    add_json_flag(p)
    p.set_defaults(func=cmd_plan)


def _parse_date(text: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"“{shorten(text)}” is not a date; write it as YYYY-MM-DD, e.g. 2026-07-01"
        ) from None
    if day.year > LAST_YEAR:
        raise argparse.ArgumentTypeError(
            f"{text} is too far ahead; plan at most {MAX_PLAN_DAYS // 365} years ahead")
    return day


def stop_file(context: Context) -> Path:
    return context.paths.data_dir / STOP_FILE_NAME


def engine_for(context: Context) -> Engine:
    """The context's engine (built once by the composition root)."""
    return attach_engine(context)


def _add_pms_sync(context: Context, engine: Engine) -> Callable[[], None]:
    """Schedule the Beds24 sync when it is connected; returns what closes its client."""
    close = schedule_pms_sync(context, engine)
    if close is None:
        print("Note: Mangodesk is not connected to a PMS, so bookings will not be updated "
              "until it is (mangodesk pms-connect).")
        return lambda: None
    return close


def _log_alert(event: Event) -> None:
    if event.kind == EventKind.ALERT_RAISED:
        log.warning("alert (%s): %s", event.data.get("severity"), event.data.get("message"))


def cmd_run(args: argparse.Namespace, make_context: ContextFactory) -> int:
    context = make_context()
    marker = stop_file(context)
    if args.stop:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("stop\n", encoding="utf-8")
        print("Asked the Mangodesk service to stop; it finishes the calls in progress first.")
        return 0
    if not may_run_automation(context):
        raise ConfigError(
            f"This computer's login to the shared database ({context.db.describe()}) is a "
            "desk login, which may not run the automation.",
            "Point the service at the database with the service login (mangodesk database "
            "postgresql+psycopg://mangodesk_service@…), then start it again.")
    marker.unlink(missing_ok=True)
    # A line per tick, and one per tick skipped while a long one runs, is noise in the log.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    engine = engine_for(context)
    close_sync = _add_pms_sync(context, engine)
    unsubscribe = context.events.subscribe(_log_alert)
    health = _start_health(context, args.health_port)
    heartbeat = Heartbeat(context, engine, "service", health.url if health else None)
    heartbeat.start()
    settle_long_lived_objects()
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: stopping", signum)
        stop.set()

    previous = {}
    wanted = [signal.SIGINT, signal.SIGTERM]
    if hasattr(signal, "SIGBREAK"):  # Ctrl-Break in a Windows console
        wanted.append(signal.SIGBREAK)
    for signum in wanted:
        previous[signum] = signal.signal(signum, on_signal)
    print(f"Mangodesk automation is running (log: {context.paths.log_file}). "
          "Press Ctrl-C or run `mangodesk run --stop` to stop.", flush=True)
    if health is not None:
        print(f"Health endpoint for monitoring: {health.url}", flush=True)
    log.info("headless service started")
    try:
        engine.start()
        while not stop.wait(STOP_POLL_SECONDS):
            if marker.exists():
                log.info("stop file found: stopping")
                break
    finally:
        clean = engine.stop()
        heartbeat.stop()
        if health is not None:
            health.stop()
        close_sync()
        marker.unlink(missing_ok=True)
        unsubscribe()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    log.info("headless service stopped")
    print("Mangodesk automation stopped." if clean else
          "Mangodesk automation stopped; calls still in progress are checked at the next start.")
    return 0


def _start_health(context: Context, port: int | None) -> HealthServer | None:
    """The health endpoint, unless switched off; a port in use is logged and the automation
    runs on without it (monitoring must never stop the codes)."""
    port = context.settings.health_port if port is None else port
    if port <= 0:
        return None
    try:
        server = HealthServer(context, port)
    except OSError as exc:
        log.warning("no health endpoint: 127.0.0.1:%d cannot be used (%s)", port, exc)
        print(f"Note: the health endpoint could not use port {port} ({exc.strerror or exc}); "
              "the automation runs without it.", flush=True)
        return None
    server.start()
    log.info("health endpoint on %s", server.url)
    return server


def _end_of_day(context: Context, day: date) -> datetime:
    """The end of ``day`` in the hotel's time zone (the first property's, else UTC)."""
    zone = context.services.audit.zone_name()
    return local_instant(day + timedelta(days=1), time(0, 0), zone)


def cmd_plan(args: argparse.Namespace, make_context: ContextFactory) -> int:
    context = make_context()
    until = _end_of_day(context, args.until)
    now = context.clock.now()
    if until <= now:
        raise ValidationError(f"{args.until} is already past; choose a later date.",
                              field="until")
    if until > now + timedelta(days=MAX_PLAN_DAYS):
        raise ValidationError(f"{args.until} is too far ahead.", field="until",
                              fix=f"Plan at most {MAX_PLAN_DAYS // 365} years ahead.")
    steps = engine_for(context).dry_run(until)
    if args.json:
        print_json([step.as_dict() for step in steps])
        return 0
    if not steps:
        print(f"Nothing to do until {args.until}.")
        return 0
    print(f"What the automation would do until {args.until} (times in UTC):")
    for step in steps:
        where = " ".join(part for part in (step.unit, f"({step.lock})") if part)
        who = f"{step.guest} " if step.guest else ""
        booking = f"booking {step.booking} " if step.booking else ""
        sys.stdout.write(f"{step.at:%Y-%m-%d %H:%M}  {step.kind:<7} {where}  {who}{booking}"
                         f"— {step.summary}\n")
    return 0
