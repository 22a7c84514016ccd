"""Headless commands over the core services: units, links, codes, the template, the log."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from datetime import date, datetime, time
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from mangodesk.cli import add_json_flag, inputs, print_json
from mangodesk.domain.errors import NotFoundError, ValidationError, mask_code
from mangodesk.domain.stay import local_instant
from mangodesk.domain.template import TemplateContext
from mangodesk.domain.types import VendorKind
from mangodesk.services.passcodes import PasscodeInput
from mangodesk.services.views import code_state_word, unit_state_word
from mangodesk.settings import save_settings

UNIT_REF = inputs.bounded_text(inputs.MAX_REFERENCE, "unit")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("units", help="list units with their lock and current code")
    p.add_argument("--show", action="store_true", help="show full codes instead of masked")
    add_json_flag(p)
    p.set_defaults(func=cmd_units)

    p = subparsers.add_parser("connections", help="list lock provider connections")
    add_json_flag(p)
    p.set_defaults(func=cmd_connections)

    p = subparsers.add_parser(
        "connect", help="connect a lock provider (secrets from a prompt, MANGODESK_<FIELD> "
        "or --password-stdin)",
        description="Passwords, tokens and client secrets are never read from the command "
        "line, where other users (ps) and the shell history could see them. Each is read from "
        "the environment variable MANGODESK_<FIELD> (e.g. MANGODESK_PASSWORD), else from "
        "standard input with --password-stdin (one line per secret, in the order TTLock: "
        "password, client_secret; Flexipass: password, company_token; Inlet: api_token; "
        "Smartair: operator_password), else from a prompt.")
    p.add_argument("provider", type=inputs.bounded_text(40, "provider"),
                   help="manual, ttlock, flexipass, inlet or smartair")
    p.add_argument("--name", type=inputs.name, help="a name for this connection")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   type=inputs.bounded_text(2000, "setting"),
                   help="a non-secret field, e.g. --set username=desk@hotel.com "
                   "(secret fields are refused here)")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the secrets from standard input, one line each")
    add_json_flag(p)
    p.set_defaults(func=cmd_connect)

    p = subparsers.add_parser(
        "database", help="use a PostgreSQL database shared by several desks",
        description="Saves the database address in settings.json and its password in this "
        "computer's password store (never in settings.json or on the command line). The "
        "password is read from MANGODESK_DATABASE_PASSWORD, else from standard input with "
        "--password-stdin, else from a prompt.")
    p.add_argument("url", type=inputs.bounded_text(2000, "database address"),
                   help="e.g. postgresql+psycopg://desk@db.hotel.lan:5432/mangodesk "
                   "(without the password)")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the password from standard input")
    p.add_argument("--no-password", action="store_true",
                   help="the server needs no password (for example peer or certificate login)")
    add_json_flag(p)
    p.set_defaults(func=cmd_database)

    p = subparsers.add_parser("connection-rename", help="rename a lock provider connection")
    p.add_argument("connection", type=inputs.record_id,
                   help="connection number (see `connections`)")
    p.add_argument("name", type=inputs.name, help="the new name, e.g. 'TTLock annex'")
    add_json_flag(p)
    p.set_defaults(func=cmd_connection_rename)

    p = subparsers.add_parser("locks", help="list the locks of a connection")
    p.add_argument("connection", type=inputs.record_id,
                   help="connection number (see `connections`)")
    p.add_argument("--refresh", action="store_true", help="fetch the list from the provider")
    add_json_flag(p)
    p.set_defaults(func=cmd_locks)

    p = subparsers.add_parser("link", help="link a unit to a lock")
    p.add_argument("unit", type=UNIT_REF, help="unit name or number")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--lock", type=inputs.record_id, help="lock number (see `locks`)")
    target.add_argument("--manual", metavar="NAME", type=inputs.name,
                        help="a Manual lock name, e.g. 'Front Door'")
    p.add_argument("--shared", action="store_true",
                   help="the lock already opens another unit: link it anyway (a shared door)")
    _codes_decision(p)
    add_json_flag(p)
    p.set_defaults(func=cmd_link)

    p = subparsers.add_parser("unlink", help="unlink a unit from its lock")
    p.add_argument("unit", type=UNIT_REF, help="unit name or number")
    _codes_decision(p)
    add_json_flag(p)
    p.set_defaults(func=cmd_unlink)

    p = subparsers.add_parser("codes", help="list a unit's passcodes")
    p.add_argument("unit", type=UNIT_REF, help="unit name or number")
    p.add_argument("--show", action="store_true", help="show full codes instead of masked")
    add_json_flag(p)
    p.set_defaults(func=cmd_codes)

    p = subparsers.add_parser("code-add", help="create a passcode (maintenance, owner, friends)")
    p.add_argument("unit", type=UNIT_REF, help="unit name or number")
    p.add_argument("--from", dest="valid_from", required=True,
                   help="YYYY-MM-DD or YYYY-MM-DDTHH:MM, hotel time")
    p.add_argument("--to", dest="valid_to", required=True,
                   help="YYYY-MM-DD or YYYY-MM-DDTHH:MM, hotel time")
    p.add_argument("--code", help="the code; leave out to generate one")
    p.add_argument("--guest", type=inputs.name, help="guest name (optional)")
    p.add_argument("--email", help="guest email (mobile keys)")
    add_json_flag(p)
    p.set_defaults(func=cmd_code_add)

    p = subparsers.add_parser("code-edit", help="change a passcode's dates or code")
    p.add_argument("code_id", type=inputs.record_id, help="passcode number (see `codes`)")
    p.add_argument("--from", dest="valid_from")
    p.add_argument("--to", dest="valid_to")
    p.add_argument("--code")
    p.add_argument("--guest", type=inputs.name)
    add_json_flag(p)
    p.set_defaults(func=cmd_code_edit)

    p = subparsers.add_parser(
        "code-revoke", help="revoke a passcode (a booking's code: --stop or --reissue)")
    p.add_argument("code_id", type=inputs.record_id)
    decision = p.add_mutually_exclusive_group()
    decision.add_argument("--stop", dest="stop_codes", action="store_const", const=True,
                          help="a booking's code: issue this booking no more codes until "
                               "`code-resume`")
    decision.add_argument("--reissue", dest="stop_codes", action="store_const", const=False,
                          help="a booking's code: issue a new code at once (tell the guest)")
    add_json_flag(p)
    p.set_defaults(func=cmd_code_revoke)

    p = subparsers.add_parser(
        "code-resume", help="issue codes again for a booking whose codes were stopped")
    p.add_argument("booking", type=inputs.bounded_text(inputs.MAX_REFERENCE, "booking"),
                   help="PMS booking reference or local number")
    add_json_flag(p)
    p.set_defaults(func=cmd_code_resume)

    p = subparsers.add_parser(
        "code-retry", help="retry a failed passcode, or one waiting for its next try, now")
    p.add_argument("code_id", type=inputs.record_id)
    add_json_flag(p)
    p.set_defaults(func=cmd_code_retry)

    p = subparsers.add_parser("render", help="the access-code variable for a booking")
    p.add_argument("booking", type=inputs.bounded_text(inputs.MAX_REFERENCE, "booking"),
                   help="PMS booking reference or local number")
    p.add_argument("--context", default=TemplateContext.BOOKING_CONFIRMED.value,
                   choices=[c.value for c in TemplateContext])
    add_json_flag(p)
    p.set_defaults(func=cmd_render)

    p = subparsers.add_parser("alerts", help="open alerts")
    p.add_argument("--all", action="store_true", help="include acknowledged and cleared")
    add_json_flag(p)
    p.set_defaults(func=cmd_alerts)

    p = subparsers.add_parser("audit", help="the activity log")
    p.add_argument("--limit", type=inputs.limit, default=50,
                   help=f"at most this many entries (1 to {inputs.MAX_LIMIT})")
    p.add_argument("--search", type=inputs.bounded_text(inputs.MAX_SEARCH, "search"),
                   help="only entries whose text contains this")
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
    if ref.isdecimal() and ref.isascii() and any(r.id == int(ref) for r in rows):
        return int(ref)
    matches = [r for r in rows if r.name.casefold() == ref.casefold()]
    if len(matches) == 1:
        return int(matches[0].id)
    if len(matches) > 1:
        raise ValidationError(f"Several units are called “{inputs.shorten(ref)}”.", field="unit",
                              fix="Use the unit number from `mangodesk units`.")
    raise NotFoundError(f"There is no unit “{inputs.shorten(ref)}”.",
                        "See `mangodesk units` for the list.")


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
            inputs.check_year(moment.date(), field, text)
            if moment.tzinfo is not None:
                return moment
            return local_instant(moment.date(), moment.time(), zone_name)
        day = inputs.check_year(date.fromisoformat(text), field, text)
    except ValueError:
        raise ValidationError(f"“{inputs.shorten(text)}” is not a date.", field=field,
                              fix="Write it as YYYY-MM-DD or YYYY-MM-DDTHH:MM.") from None
    default = (prop.checkout_time if end else prop.checkin_time) if prop else time(0, 0)
    return local_instant(day, default, zone_name)


def cmd_units(args: argparse.Namespace, make_context: Any) -> int:
    rows = make_context().services.units.list_units()
    if not args.show:
        rows = [dataclasses.replace(r, code=mask_code(r.code) if r.code else r.code)
                for r in rows]
    # As wide as the longest name (up to 40): dorm beds differ only at the end of theirs.
    width = min(max([20, *(len(r.name) for r in rows)]), 40)
    lock_width = min(max([20, *(len(r.lock_name or "") for r in rows)]), 40)
    lines = [f"{'#':>4}  {'Unit':<{width}} {'Lock':<{lock_width}} {'Status':<16} Code"]
    for r in rows:
        notes = []
        if r.shared_with:
            notes.append(f"shared with {', '.join(r.shared_with)}")
        if r.codes_not_automatic_reason:
            notes.append(f"codes not automatic: {r.codes_not_automatic_reason}")
        name = r.name if len(r.name) <= width else r.name[:width - 13] + "…" + r.name[-12:]
        lock = r.lock_name or "—"
        if len(lock) > lock_width:  # keep both ends: "Building B … Room 101 keypad"
            lock = lock[:lock_width - 13] + "…" + lock[-12:]
        lines.append(f"{r.id:>4}  {name:<{width}} {lock:<{lock_width}} "
                     f"{unit_state_word(r):<16} {r.code or ''}"
                     + (f"  ({'; '.join(notes)})" if notes else ""))
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
        raise ValidationError(f"“{inputs.shorten(args.provider)}” is not a lock provider.",
                              field="provider",
                              fix="Use manual, ttlock, flexipass, inlet or smartair.") from None
    spec = ctx.vendors.spec(kind)
    secret_fields = [field for field in spec.fields if field.secret]
    values: dict[str, str] = {}
    for item in args.set:
        field_name, sep, value = item.partition("=")
        if not sep:
            raise ValidationError(f"“{inputs.shorten(item)}” should look like FIELD=VALUE.",
                                  field="set")
        field_name = field_name.strip()
        if any(field.name == field_name for field in secret_fields):
            raise ValidationError(
                f"{field_name} is a secret and is never given on the command line (other "
                "users and the shell history could read it).", field="set",
                fix=f"Set MANGODESK_{field_name.upper()}, pipe it in with --password-stdin, "
                    "or leave it out to be asked.")
        values[field_name] = value
    if secret_fields:
        ctx.secrets.require()  # no point asking for a password there is nowhere to keep
    for field in secret_fields:
        values[field.name] = inputs.read_secret(
            field.label, f"MANGODESK_{field.name.upper()}", from_stdin=args.password_stdin)
    if kind == VendorKind.MANUAL:
        view = ctx.services.connections.ensure_manual()
        return _out(args, view, f"Connected: {view.display_name}.")
    result = ctx.services.connections.connect(kind, values, args.name)
    return _out(args, result.connection,
                f"Connected: {result.connection.display_name} — {result.report.summary} "
                f"({len(result.locks)} locks).")


def cmd_database(args: argparse.Namespace, make_context: Any) -> int:
    from mangodesk.app import save_database_password

    paths, settings = args.profile
    try:
        parsed = make_url(args.url)
    except (ArgumentError, ValueError):
        # Not echoed: a mistyped address may still hold a password.
        raise ValidationError("That is not a database address.",
                              field="url", fix="Write it like postgresql+psycopg://user@host"
                              ":5432/mangodesk.") from None
    if parsed.get_backend_name() != "postgresql" or not parsed.host or not parsed.database:
        raise ValidationError("Only a PostgreSQL server can be shared by several desks.",
                              field="url", fix="Write it like postgresql+psycopg://user@host"
                              ":5432/mangodesk.")
    if parsed.password is not None:
        raise ValidationError(
            "The address contains a password; it is never given on the command line.",
            field="url", fix="Leave the password out: it is read from "
            "MANGODESK_DATABASE_PASSWORD, --password-stdin or a prompt.")
    url = parsed.render_as_string(hide_password=False)
    if not args.no_password:
        save_database_password(url, lambda: inputs.read_secret(
            "Database password", "MANGODESK_DATABASE_PASSWORD", from_stdin=args.password_stdin))
    settings.database_url = url
    save_settings(paths.settings_file, settings)
    return _out(args, {"database_url": url},
                f"Saved: this desk uses {url} from its next start"
                + ("" if args.no_password else "; the password is in the password store")
                + ".")


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
                                      revoke_codes=args.revoke_codes, shared=args.shared)
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
                     f"{c.origin:<8} {code_state_word(c, ctx.clock.now()):<16} "
                     f"{c.guest_name or ''}")
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
                            f"({code_state_word(view, ctx.clock.now())}).")


def cmd_code_edit(args: argparse.Namespace, make_context: Any) -> int:
    ctx = make_context()
    current = ctx.services.passcodes.get(args.code_id)
    view = ctx.services.passcodes.edit(args.code_id, PasscodeInput(
        valid_from=_parse_when(ctx, args.valid_from, end=False, field="valid_from")
        or current.valid_from,
        valid_to=_parse_when(ctx, args.valid_to, end=True, field="valid_to") or current.valid_to,
        code=args.code, guest_name=args.guest))
    return _out(args, view,
                f"Passcode {view.id} updated ({code_state_word(view, ctx.clock.now())}).")


def cmd_code_revoke(args: argparse.Namespace, make_context: Any) -> int:
    ctx = make_context()
    view = ctx.services.passcodes.revoke(args.code_id, stop_codes=args.stop_codes)
    note = (" Change the code on the physical lock yourself." if view.kind == VendorKind.MANUAL
            else "")
    if view.booking_ref and args.stop_codes:
        note += (f" No more codes for booking {view.booking_ref} until "
                 f"`code-resume {view.booking_ref}`.")
    elif view.booking_ref and args.stop_codes is False:
        note += " A new code is on its way: tell the guest (see `alerts`)."
    return _out(args, view,
                f"Passcode {view.id}: {code_state_word(view, ctx.clock.now())}.{note}")


def cmd_code_resume(args: argparse.Namespace, make_context: Any) -> int:
    ctx = make_context()
    booking = ctx.services.units.find_booking(args.booking)
    ctx.services.passcodes.resume_codes(booking.id)
    return _out(args, {"booking": booking.pms_id, "codes_stopped": False},
                f"Codes resumed for booking {booking.pms_id}.")


def cmd_code_retry(args: argparse.Namespace, make_context: Any) -> int:
    view = make_context().services.passcodes.retry_now(args.code_id)
    return _out(args, view, f"Passcode {view.id} queued again.")


def cmd_render(args: argparse.Namespace, make_context: Any) -> int:
    ctx = make_context()
    booking = ctx.services.units.find_booking(args.booking)
    text = ctx.services.messages.render_access_codes(booking.id, TemplateContext(args.context))
    return _out(args, {"booking": booking.pms_id, "text": text}, text)


def cmd_alerts(args: argparse.Namespace, make_context: Any) -> int:
    ctx = make_context()
    rows = ctx.services.alerts.list(include_closed=args.all)
    zone = ctx.services.audit.zone()
    text = "\n".join(f"{a.id:>4} {a.severity.upper():<8} "
                     f"{a.raised_at.astimezone(zone):%Y-%m-%d %H:%M}  "
                     f"{getattr(a, 'headline', a.message)}" + (f" — {a.fix}" if a.fix else "")
                     for a in rows)
    return _out(args, rows, f"Times in {zone.key} (hotel time).\n{text}" if text
                else "No open alerts.")


def cmd_audit(args: argparse.Namespace, make_context: Any) -> int:
    service = make_context().services.audit
    rows = service.list(text=args.search, limit=args.limit)
    if args.csv:
        sys.stdout.write(service.export_csv(rows))
        return 0
    zone = service.zone()

    def line(event: Any) -> str:
        what = getattr(event, "sentence", "") or event.summary
        return f"{event.at.astimezone(zone):%Y-%m-%d %H:%M}  {event.actor:<12} {what}"

    text = "\n".join(line(e) for e in rows)
    heading = f"Times in {zone.key} (hotel time).\n"
    return _out(args, rows, heading + text if text else "No activity yet.")
