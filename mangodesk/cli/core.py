"""Headless commands over the core services: units, links, codes, the template, the log."""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import os
import sys
from datetime import date, datetime, time
from typing import Any

from mangodesk.cli import add_json_flag, print_json
from mangodesk.domain.errors import NotFoundError, ValidationError, mask_code
from mangodesk.domain.stay import local_instant
from mangodesk.domain.template import TemplateContext
from mangodesk.domain.types import VendorKind
from mangodesk.services.passcodes import PasscodeInput


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("units", help="list units with their lock and current code")
    add_json_flag(p)
    p.set_defaults(func=cmd_units)

    p = subparsers.add_parser("connections", help="list lock provider connections")
    add_json_flag(p)
    p.set_defaults(func=cmd_connections)

    p = subparsers.add_parser(
        "connect", help="connect a lock provider (secrets from a prompt or MANGODESK_<FIELD>)")
    p.add_argument("provider", help="manual, ttlock, flexipass, inlet or smartair")
    p.add_argument("--name", help="a name for this connection")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="a non-secret field, e.g. --set username=desk@hotel.com")
    add_json_flag(p)
    p.set_defaults(func=cmd_connect)

    p = subparsers.add_parser("connection-rename", help="rename a lock provider connection")
    p.add_argument("connection", type=int, help="connection number (see `connections`)")
    p.add_argument("name", help="the new name, e.g. 'TTLock annex'")
    add_json_flag(p)
    p.set_defaults(func=cmd_connection_rename)

    p = subparsers.add_parser("locks", help="list the locks of a connection")
    p.add_argument("connection", type=int, help="connection number (see `connections`)")
    p.add_argument("--refresh", action="store_true", help="fetch the list from the provider")
    add_json_flag(p)
    p.set_defaults(func=cmd_locks)

    p = subparsers.add_parser("link", help="link a unit to a lock")
    p.add_argument("unit", help="unit name or number")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--lock", type=int, help="lock number (see `locks`)")
    target.add_argument("--manual", metavar="NAME", help="a Manual lock name, e.g. 'Front Door'")
    _codes_decision(p)
    add_json_flag(p)
    p.set_defaults(func=cmd_link)

    p = subparsers.add_parser("unlink", help="unlink a unit from its lock")
    p.add_argument("unit", help="unit name or number")
    _codes_decision(p)
    add_json_flag(p)
    p.set_defaults(func=cmd_unlink)

    p = subparsers.add_parser("codes", help="list a unit's passcodes")
    p.add_argument("unit", help="unit name or number")
    p.add_argument("--show", action="store_true", help="show full codes instead of masked")
    add_json_flag(p)
    p.set_defaults(func=cmd_codes)

    p = subparsers.add_parser("code-add", help="create a passcode (maintenance, owner, friends)")
    p.add_argument("unit", help="unit name or number")
    p.add_argument("--from", dest="valid_from", required=True,
                   help="YYYY-MM-DD or YYYY-MM-DDTHH:MM, hotel time")
    p.add_argument("--to", dest="valid_to", required=True,
                   help="YYYY-MM-DD or YYYY-MM-DDTHH:MM, hotel time")
    p.add_argument("--code", help="the code; leave out to generate one")
    p.add_argument("--guest", help="guest name (optional)")
    p.add_argument("--email", help="guest email (mobile keys)")
    add_json_flag(p)
    p.set_defaults(func=cmd_code_add)

    p = subparsers.add_parser("code-edit", help="change a passcode's dates or code")
    p.add_argument("code_id", type=int, help="passcode number (see `codes`)")
    p.add_argument("--from", dest="valid_from")
    p.add_argument("--to", dest="valid_to")
    p.add_argument("--code")
    p.add_argument("--guest")
    add_json_flag(p)
    p.set_defaults(func=cmd_code_edit)

    p = subparsers.add_parser("code-revoke", help="revoke a passcode")
    p.add_argument("code_id", type=int)
    add_json_flag(p)
    p.set_defaults(func=cmd_code_revoke)

    p = subparsers.add_parser("code-retry", help="retry a failed passcode now")
    p.add_argument("code_id", type=int)
    add_json_flag(p)
    p.set_defaults(func=cmd_code_retry)

    p = subparsers.add_parser("render", help="the access-code variable for a booking")
    p.add_argument("booking", help="PMS booking reference or local number")
    p.add_argument("--context", default=TemplateContext.BOOKING_CONFIRMED.value,
                   choices=[c.value for c in TemplateContext])
    add_json_flag(p)
    p.set_defaults(func=cmd_render)

    p = subparsers.add_parser("alerts", help="open alerts")
    p.add_argument("--all", action="store_true", help="include acknowledged and cleared")
    add_json_flag(p)
    p.set_defaults(func=cmd_alerts)

    p = subparsers.add_parser("audit", help="the activity log")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--search")
    p.add_argument("--csv", action="store_true", help="CSV output")
    add_json_flag(p)
    p.set_defaults(func=cmd_audit)


def _codes_decision(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--revoke-codes", dest="revoke_codes", action="store_const", const=True,
                       help="revoke the unit's active and upcoming guest codes")
    group.add_argument("--keep-codes", dest="revoke_codes", action="store_const", const=False,
                       help="keep them on the lock and stop managing them")


def _as_json(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, list):
        return [_as_json(v) for v in value]
    return value


def _out(args: argparse.Namespace, value: Any, text: str) -> int:
    if getattr(args, "json", False):
        print_json(_as_json(value))
    else:
        print(text)
    return 0


def _unit_id(ctx: Any, ref: str) -> int:
    rows = ctx.services.units.list_units(include_inactive=True)
    if ref.isdigit() and any(r.id == int(ref) for r in rows):
        return int(ref)
    matches = [r for r in rows if r.name.casefold() == ref.casefold()]
    if len(matches) == 1:
        return int(matches[0].id)
    if len(matches) > 1:
        raise ValidationError(f"Several units are called “{ref}”.", field="unit",
                              fix="Use the unit number from `mangodesk units`.")
    raise NotFoundError(f"There is no unit “{ref}”.", "See `mangodesk units` for the list.")


def _parse_when(ctx: Any, text: str | None, *, end: bool, field: str) -> datetime | None:
    """A date or date-time in the hotel's time zone; a bare date means the hotel's check-in
    (start) or check-out (end) time."""
    if text is None:
        return None
    prop = ctx.services.units.property()
    zone_name = prop.timezone if prop else "UTC"
    try:
        if "T" in text or " " in text:
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is not None:
                return moment
            return local_instant(moment.date(), moment.time(), zone_name)
        day = date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"“{text}” is not a date.", field=field,
                              fix="Write it as YYYY-MM-DD or YYYY-MM-DDTHH:MM.") from None
    default = (prop.checkout_time if end else prop.checkin_time) if prop else time(0, 0)
    return local_instant(day, default, zone_name)


def cmd_units(args: argparse.Namespace, make_context: Any) -> int:
    rows = make_context().services.units.list_units()
    # As wide as the longest name (up to 40): dorm beds differ only at the end of theirs.
    width = min(max([20, *(len(r.name) for r in rows)]), 40)
    lines = [f"{'#':>4}  {'Unit':<{width}} {'Lock':<20} {'Status':<10} Code"]
    for r in rows:
        name = r.name if len(r.name) <= width else r.name[:width - 13] + "…" + r.name[-12:]
        lines.append(f"{r.id:>4}  {name:<{width}} {(r.lock_name or '—')[:20]:<20} "
                     f"{r.status:<10} {mask_code(r.code) if r.code else ''}")
    return _out(args, rows, "\n".join(lines))


def cmd_connections(args: argparse.Namespace, make_context: Any) -> int:
    rows = make_context().services.connections.list()
    text = "\n".join(f"{c.id:>4}  {c.provider_name:<14} {c.display_name}  ({c.status}, "
                     f"{c.lock_count} locks)" for c in rows) or "No lock provider connected."
    return _out(args, rows, text)


def cmd_connect(args: argparse.Namespace, make_context: Any) -> int:
    ctx = make_context()
    try:
        kind = VendorKind(args.provider.lower())
    except ValueError:
        raise ValidationError(f"“{args.provider}” is not a lock provider.", field="provider",
                              fix="Use manual, ttlock, flexipass, inlet or smartair.") from None
    spec = ctx.vendors.spec(kind)
    values: dict[str, str] = {}
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep:
            raise ValidationError(f"“{item}” should look like FIELD=VALUE.", field="set")
        values[name.strip()] = value
    for field in spec.fields:
        if field.secret:
            secret = os.environ.get(f"MANGODESK_{field.name.upper()}")
            if secret is None and sys.stdin.isatty():
                secret = getpass.getpass(f"{field.label}: ")
            if secret:
                values[field.name] = secret
    if kind == VendorKind.MANUAL:
        view = ctx.services.connections.ensure_manual()
        return _out(args, view, f"Connected: {view.display_name}.")
    result = ctx.services.connections.connect(kind, values, args.name)
    return _out(args, result.connection,
                f"Connected: {result.connection.display_name} — {result.report.summary} "
                f"({len(result.locks)} locks).")


def cmd_connection_rename(args: argparse.Namespace, make_context: Any) -> int:
    view = make_context().services.connections.rename(args.connection, args.name)
    return _out(args, view, f"Connection {view.id} is now called “{view.display_name}”.")


def cmd_locks(args: argparse.Namespace, make_context: Any) -> int:
    service = make_context().services.connections
    rows = service.refresh_locks(args.connection) if args.refresh else service.locks(
        args.connection)
    text = "\n".join(
        f"{lock.id:>4}  {lock.name:<24} "
        + ("" if lock.manageable else f"not remotely manageable: {lock.unmanageable_reason}")
        for lock in rows) or "No locks."
    return _out(args, rows, text)


def cmd_link(args: argparse.Namespace, make_context: Any) -> int:
    ctx = make_context()
    unit_id = _unit_id(ctx, args.unit)
    lock_id = ctx.services.links.link(unit_id, lock_id=args.lock, manual_lock_name=args.manual,
                                      revoke_codes=args.revoke_codes)
    row = ctx.services.units.unit(unit_id)
    return _out(args, {"unit_id": unit_id, "lock_id": lock_id},
                f"Linked {row.name} to {row.lock_name}.")


def cmd_unlink(args: argparse.Namespace, make_context: Any) -> int:
    ctx = make_context()
    unit_id = _unit_id(ctx, args.unit)
    count = ctx.services.links.unlink(unit_id, revoke_codes=args.revoke_codes)
    return _out(args, {"unit_id": unit_id, "codes": count}, "Unlinked.")


def cmd_codes(args: argparse.Namespace, make_context: Any) -> int:
    ctx = make_context()
    rows = ctx.services.passcodes.list_for_unit(_unit_id(ctx, args.unit))
    lines = []
    for c in rows:
        shown = c.code if args.show else mask_code(c.code)
        lines.append(f"{c.id:>5}  {shown or c.mobile_key_sent_to or '':<10} "
                     f"{c.valid_from:%Y-%m-%d %H:%M} → {c.valid_to:%Y-%m-%d %H:%M} UTC  "
                     f"{c.origin:<8} {c.state:<8} {c.guest_name or ''}")
    if not args.show and args.json:
        rows = [dataclasses.replace(c, code=mask_code(c.code)) for c in rows]
    return _out(args, rows, "\n".join(lines) or "No passcodes.")


def cmd_code_add(args: argparse.Namespace, make_context: Any) -> int:
    ctx = make_context()
    unit_id = _unit_id(ctx, args.unit)
    view = ctx.services.passcodes.create(unit_id, PasscodeInput(
        valid_from=_parse_when(ctx, args.valid_from, end=False, field="valid_from"),
        valid_to=_parse_when(ctx, args.valid_to, end=True, field="valid_to"),
        code=args.code, guest_name=args.guest, guest_email=args.email))
    return _out(args, view, f"Passcode {view.id} created: {view.code or 'sent by the provider'} "
                            f"({view.state}).")


def cmd_code_edit(args: argparse.Namespace, make_context: Any) -> int:
    ctx = make_context()
    current = ctx.services.passcodes.get(args.code_id)
    view = ctx.services.passcodes.edit(args.code_id, PasscodeInput(
        valid_from=_parse_when(ctx, args.valid_from, end=False, field="valid_from")
        or current.valid_from,
        valid_to=_parse_when(ctx, args.valid_to, end=True, field="valid_to") or current.valid_to,
        code=args.code, guest_name=args.guest))
    return _out(args, view, f"Passcode {view.id} updated ({view.state}).")


def cmd_code_revoke(args: argparse.Namespace, make_context: Any) -> int:
    ctx = make_context()
    view = ctx.services.passcodes.revoke(args.code_id)
    note = (" Change the code on the physical lock yourself." if view.kind == VendorKind.MANUAL
            else "")
    return _out(args, view, f"Passcode {view.id} {view.state}.{note}")


def cmd_code_retry(args: argparse.Namespace, make_context: Any) -> int:
    view = make_context().services.passcodes.retry_now(args.code_id)
    return _out(args, view, f"Passcode {view.id} queued again.")


def cmd_render(args: argparse.Namespace, make_context: Any) -> int:
    ctx = make_context()
    booking = ctx.services.units.find_booking(args.booking)
    text = ctx.services.messages.render_access_codes(booking.id, TemplateContext(args.context))
    return _out(args, {"booking": booking.pms_id, "text": text}, text)


def cmd_alerts(args: argparse.Namespace, make_context: Any) -> int:
    rows = make_context().services.alerts.list(include_closed=args.all)
    text = "\n".join(f"{a.id:>4} {a.severity.upper():<8} {a.raised_at:%Y-%m-%d %H:%M}  "
                     f"{a.message}" + (f" — {a.fix}" if a.fix else "") for a in rows)
    return _out(args, rows, text or "No open alerts.")


def cmd_audit(args: argparse.Namespace, make_context: Any) -> int:
    service = make_context().services.audit
    rows = service.list(text=args.search, limit=args.limit)
    if args.csv:
        sys.stdout.write(service.export_csv(rows))
        return 0
    text = "\n".join(f"{e.at:%Y-%m-%d %H:%M}  {e.actor:<12} {e.summary}" for e in rows)
    return _out(args, rows, text or "No activity yet.")
