"""``mangodesk pms-connect``, ``sync`` and ``sync-status``: connect Beds24, pull bookings now,
and see how the sync is doing.

The invite code is a credential until Beds24 has accepted it, so it never goes on the command
line (where ``ps`` and the shell history would keep it): it is read from standard input
(``--password-stdin``), from MANGODESK_BEDS24_INVITE_CODE, or asked for.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, TextIO

from mangodesk.cli import add_json_flag, print_json
from mangodesk.cli.inputs import read_secret

if TYPE_CHECKING:  # the PMS client loads only for a PMS command (others start faster)
    from mangodesk.services.pms import SyncProgress, SyncResult, SyncStatus

INVITE_CODE_ENV = "MANGODESK_BEDS24_INVITE_CODE"


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "pms-connect",
        help="connect Mangodesk to Beds24 with an invite code",
        description="Create an invite code in Beds24 (Settings › Marketplace › API) with the "
        "bookings, bookings-personal, properties and accounts scopes (accounts is not needed "
        "with --timezone; bookings must allow writing for door-code write-back), then run "
        "this once. Mangodesk keeps the resulting access in this computer's password store.",
    )
    # Refused with an explanation (a code on the command line lands in ps and shell history).
    p.add_argument("--invite-code", help=argparse.SUPPRESS)
    p.add_argument("--password-stdin", action="store_true",
                   help="read the invite code from standard input; without it the code is "
                   f"taken from {INVITE_CODE_ENV} or asked for (never give it on the command "
                   "line)")
    p.add_argument("--base-url", default=None, help="API address (default: Beds24's own)")
    p.add_argument("--property-id", type=int, action="append", default=None,
                   help="only sync this Beds24 property (repeat for several)")
    p.add_argument("--timezone", help="the hotel's time zone, e.g. Europe/Berlin "
                   "(default: the Beds24 account's, which needs the accounts scope)")
    p.add_argument("--info-item-code", default=None,
                   help="the Beds24 info item code door codes are written to "
                   "(default MANGODESK_PIN)")
    p.add_argument("--finish", action="store_true",
                   help="finish an earlier connect that stopped after the invite code was "
                   "accepted (no new invite code needed)")
    add_json_flag(p)
    p.set_defaults(func=cmd_pms_connect)

    p = subparsers.add_parser(
        "sync",
        help="pull bookings from Beds24 now",
        description="Reads properties, rooms and changed bookings from Beds24 into the local "
        "database. A failed sync changes nothing already stored.",
    )
    p.add_argument("--full", action="store_true",
                   help="read every current and upcoming booking, not only recent changes")
    add_json_flag(p)
    p.set_defaults(func=cmd_sync)

    p = subparsers.add_parser(
        "sync-status", help="when bookings were last synced, the last error, and counts"
    )
    add_json_flag(p)
    p.set_defaults(func=cmd_sync_status)


def _error(exc: Exception) -> int:
    sys.stderr.write(f"mangodesk: {exc}\n")
    return 1


def cmd_pms_connect(args: argparse.Namespace, make_context: Callable[[], Any]) -> int:
    from mangodesk.services.pms import PmsError

    item_code = (args.info_item_code or "").strip()
    if item_code and not re.fullmatch(r"[A-Za-z0-9_]{1,40}", item_code):
        return _error(PmsError(
            f"“{item_code[:60]}” cannot be a Beds24 info item code.",
            "Use up to 40 letters, digits or underscores, for example MANGODESK_PIN.",
            transient=False,
        ))
    if args.invite_code is not None:
        return _error(PmsError(
            "The invite code was typed on the command line, where other programs and the "
            "shell history can read it; nothing was changed.",
            f"Run `mangodesk pms-connect` and type the code when asked, pipe it with "
            f"--password-stdin, or set {INVITE_CODE_ENV}.",
            transient=False,
        ))
    code: str | None = os.environ.get(INVITE_CODE_ENV)
    if not code and not args.finish:
        # Asked for (or read from stdin): a refusal in words when there is no terminal.
        code = read_secret("Beds24 invite code", INVITE_CODE_ENV,
                           from_stdin=args.password_stdin)
    pms = make_context().services.pms
    try:
        report = pms.connect(code, base_url=args.base_url, property_ids=args.property_id or (),
                             timezone=args.timezone, info_item_code=item_code or None)
    except PmsError as exc:
        return _error(exc)
    if args.json:
        print_json(
            {
                "ok": True,
                "properties": report.properties,
                "units": report.units,
                "timezone": report.timezone,
                "scopes": list(report.scopes),
                "warnings": report.warnings,
            }
        )
        return 0
    out = sys.stdout
    out.write(f"Connected to Beds24: {', '.join(report.properties)} "
              f"({report.units} rooms, beds and apartments; time zone {report.timezone}).\n")
    for warning in report.warnings:
        out.write(f"Note: {warning}\n")
    out.write("Run `mangodesk sync` to load the bookings now.\n")
    return 0


def cmd_sync(args: argparse.Namespace, make_context: Callable[[], Any]) -> int:
    from mangodesk.services.pms import PmsError

    ctx = make_context()
    try:
        engine = ctx.services.pms.build_sync()
    except PmsError as exc:
        return _error(exc)
    progress = None if args.json else _progress_printer(sys.stderr)
    report_waits(engine, sys.stderr)
    try:
        result = engine.run_once(progress, full=args.full)
    except KeyboardInterrupt:
        sys.stderr.write("\nSync stopped. What was already read is kept; the next sync "
                         "reads the rest.\n")
        return 130
    finally:
        engine.close()
    if progress is not None:
        sys.stderr.write("\n")
    if args.json:
        print_json(result.to_json())
    else:
        sys.stdout.write(describe_result(result) + "\n")
    return 0 if result.ok else 1


def _progress_printer(stream: TextIO) -> Callable[[SyncProgress], None]:
    from mangodesk.services.pms import describe_progress

    def show(update: SyncProgress) -> None:
        more = "…" if update.has_more else ", done"
        stream.write(f"\r{describe_progress(asdict(update))}{more}  ")
        stream.flush()

    return show


def report_waits(engine: Any, stream: TextIO) -> None:
    """Say what the sync waits for while Beds24's credits recover (up to five minutes)."""
    from mangodesk.services.pms import format_duration

    adapter = getattr(engine, "adapter", None)
    if adapter is None or not hasattr(adapter, "on_wait"):
        return

    def tell(seconds: float, why: str) -> None:
        stream.write(f"\n{why}: waiting {format_duration(seconds)} before going on "
                     "(Ctrl+C stops; nothing is lost).\n")
        stream.flush()

    adapter.on_wait = tell


def describe_result(result: SyncResult) -> str:
    if not result.ok:
        return f"Sync failed: {result.error}"
    parts = [f"{result.bookings} bookings read", f"{result.created} new",
             f"{result.updated} changed"]
    if result.units_added:
        parts.append(f"{result.units_added} rooms added")
    if result.units_deactivated:
        parts.append(f"{result.units_deactivated} rooms no longer in Beds24 (kept, inactive)")
    kind = "Full sync" if result.full else "Sync"
    return f"{kind} finished: " + ", ".join(parts) + "."


def cmd_sync_status(args: argparse.Namespace, make_context: Callable[[], Any]) -> int:
    status = make_context().services.pms.status()
    if args.json:
        print_json(status.to_json())
    else:
        sys.stdout.write(describe_status(status))
    return 0


def describe_status(status: SyncStatus) -> str:
    if not status.configured:
        return "Beds24 is not connected. Run `mangodesk pms-connect` with an invite code.\n"
    lines = [
        "Last successful sync: "
        + (status.last_success_at.isoformat(timespec="seconds") if status.last_success_at
           else "never"),
    ]
    if status.last_error:
        when = status.last_error_at.isoformat(timespec="seconds") if status.last_error_at else ""
        lines.append(f"Last error ({when}, {status.consecutive_failures} in a row): "
                     f"{status.last_error}")
    if status.alert_open:
        lines.append("A sync alert is open.")
    lines.append(f"Properties: {status.properties}; rooms/beds: {status.units_active} active, "
                 f"{status.units_inactive} inactive")
    by_status = ", ".join(f"{count} {name}" for name, count in
                          sorted(status.bookings_by_status.items()))
    lines.append(f"Bookings: {status.bookings}" + (f" ({by_status})" if by_status else ""))
    if status.missing_from_pms:
        lines.append(f"Not in Beds24 any more: {status.missing_from_pms} (see the alerts)")
    return "\n".join(lines) + "\n"
