"""Guest messages from the command line: templates, the sent log, sending one message, and
the mail server's settings and step-by-step test."""

from __future__ import annotations

import argparse
import re
from dataclasses import asdict
from datetime import time
from pathlib import Path
from typing import Any

from mangodesk.cli import add_json_flag, print_json
from mangodesk.cli.inputs import read_secret
from mangodesk.comms.schedule import describe
from mangodesk.comms.smtp import Security, SmtpSettings
from mangodesk.domain.errors import ValidationError
from mangodesk.domain.template import TemplateContext
from mangodesk.domain.types import MailStatus
from mangodesk.services.comms import TemplateInput

SMTP_PASSWORD_ENV = "MANGODESK_SMTP_PASSWORD"  # noqa: S105 - a variable's name


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("templates", help="list guest message templates")
    add_json_flag(p)
    p.set_defaults(func=cmd_templates)

    p = subparsers.add_parser("template-show", help="show one template in every language")
    p.add_argument("name")
    add_json_flag(p)
    p.set_defaults(func=cmd_template_show)

    p = subparsers.add_parser(
        "template-save", help="create or change a guest message template",
        description="Variables are written like {{guest_name}}; unknown ones are refused.")
    p.add_argument("name")
    p.add_argument("--context", required=True, choices=[c.value for c in TemplateContext])
    p.add_argument("--subject", required=True)
    p.add_argument("--body-file", type=Path, required=True, help="the text, UTF-8")
    p.add_argument("--language", default="en", help="language of this version (default en)")
    p.add_argument("--days-before", type=int, help="scheduled: days before check-in/out")
    p.add_argument("--hours-before", type=int, help="scheduled: hours before check-in/out")
    p.add_argument("--at", help="scheduled: local time of day, HH:MM (hotel time)")
    p.add_argument("--hold-for-codes", type=int, metavar="HOURS",
                   help="wait until every room's code exists, at the latest HOURS before "
                   "check-in")
    p.add_argument("--resend-on-code-change", action="store_true",
                   help="send again when a guest's code changes")
    p.set_defaults(func=cmd_template_save)

    p = subparsers.add_parser("messages", help="the sent log: guest messages and their outcome")
    p.add_argument("--booking", help="only this booking (its PMS number or Mangodesk id)")
    add_json_flag(p)
    p.set_defaults(func=cmd_messages)

    p = subparsers.add_parser("message-send", help="send a template to a booking's guest now")
    p.add_argument("booking", help="the booking's PMS number or Mangodesk id")
    p.add_argument("--template", required=True)
    p.add_argument("--dry-run", action="store_true",
                   help="show the message (codes masked) without sending it")
    add_json_flag(p)
    p.set_defaults(func=cmd_message_send)

    p = subparsers.add_parser("smtp-set", help="set the hotel's mail server for guest emails")
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, default=587)
    p.add_argument("--security", choices=[s.value for s in Security], default="starttls")
    p.add_argument("--username", default="")
    p.add_argument("--from", dest="from_address", required=True)
    p.add_argument("--from-name", default="")
    p.add_argument("--reply-to", default="")
    p.add_argument("--fingerprint", default="",
                   help="trust this self-signed certificate (SHA-256, as smtp-test shows it)")
    p.add_argument("--default-language", default="en")
    p.add_argument("--password-stdin", action="store_true",
                   help=f"read the password from standard input (or set {SMTP_PASSWORD_ENV})")
    p.set_defaults(func=cmd_smtp_set)

    p = subparsers.add_parser(
        "smtp-test", help="test the mail server step by step (DNS, connect, TLS, login, "
        "sender) and optionally send a test message")
    p.add_argument("--to", help="send a test message to this address")
    add_json_flag(p)
    p.set_defaults(func=cmd_smtp_test)



def cmd_templates(args: argparse.Namespace, make_context: Any) -> int:
    rows = make_context().services.comms.templates()
    if args.json:
        print_json([asdict(r) for r in rows])
        return 0
    if not rows:
        print("No message templates yet (create one with template-save).")
    for row in rows:
        when = describe(TemplateContext(row.context), row.offset_minutes, row.send_at_local)
        print(f"{row.name:<24} {when}  [{', '.join(sorted(row.languages))}]")
        if row.warning:
            print(f"    Warning: {row.warning}")
    return 0


def cmd_template_show(args: argparse.Namespace, make_context: Any) -> int:
    row = make_context().services.comms.template(args.name)
    if args.json:
        print_json(asdict(row))
        return 0
    when = describe(TemplateContext(row.context), row.offset_minutes, row.send_at_local)
    print(f"{row.name}: {when}")
    options = [o for o, on in (("held until every code exists", row.hold_for_codes),
                               ("sent again when a code changes", row.resend_on_code_change))
               if on]
    if options:
        print("Options: " + "; ".join(options))
    if row.warning:
        print(f"Warning: {row.warning}")
    for language, (subject, body) in sorted(row.languages.items()):
        print(f"\n--- {language} ---\nSubject: {subject}\n\n{body}")
    return 0


def cmd_template_save(args: argparse.Namespace, make_context: Any) -> int:
    try:
        body = args.body_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"The text file {args.body_file} cannot be read ({exc}).") from exc
    send_at = None
    if args.at:
        match = re.fullmatch(r"(\d{1,2}):(\d{2})", args.at.strip())
        if not match or int(match[1]) > 23 or int(match[2]) > 59:
            raise ValidationError(f"{args.at!r} is not a time of day; write it like 10:00.",
                                  field="at")
        send_at = time(int(match[1]), int(match[2]))
    offset = (args.days_before or 0) * 1440 + (args.hours_before or 0) * 60
    name = make_context().services.comms.save_template(TemplateInput(
        name=args.name, context=TemplateContext(args.context), subject=args.subject,
        body=body, language=args.language, offset_minutes=offset, send_at_local=send_at,
        hold_for_codes=args.hold_for_codes is not None,
        hold_latest_hours=args.hold_for_codes or 0,
        resend_on_code_change=args.resend_on_code_change))
    print(f"Template {args.name} saved ({args.language}, template {name}).")
    return 0


def cmd_messages(args: argparse.Namespace, make_context: Any) -> int:
    ctx = make_context()
    booking_id = ctx.services.comms.booking_id(args.booking) if args.booking else None
    rows = ctx.services.comms.messages(booking_id)
    if args.json:
        print_json([asdict(r) for r in rows])
        return 0
    if not rows:
        print("No guest messages yet.")
        return 0
    zone = ctx.services.audit.zone()
    print(f"Times in {zone.key} (hotel time).")
    for row in rows:
        when = (row.sent_at or row.due_at).astimezone(zone)
        print(f"{row.id:>5} {when:%Y-%m-%d %H:%M} {row.status:<11} {row.template or '-':<16} "
              f"{row.to or '-'}  {row.subject or ''}"
              + (f"\n      {row.last_error}" if row.last_error else ""))
    return 0


def cmd_message_send(args: argparse.Namespace, make_context: Any) -> int:
    ctx = make_context()
    comms = ctx.services.comms
    view = comms.send_manual(comms.booking_id(args.booking), args.template,
                             dry_run=args.dry_run)
    if args.json:
        print_json(asdict(view))
        return 0
    if args.dry_run:
        print(f"To: {view.to}\nSubject: {view.subject}\n\n{view.body_masked}")
        print("\n(Not sent: dry run. Door codes are masked here; the guest sees them whole.)")
        return 0
    counts = ctx.services.comms.deliver()
    sent = ctx.services.comms.messages(view.booking_id)
    row = next((m for m in sent if m.id == view.id), view)
    if counts and row.status == MailStatus.SENT:
        print(f"Sent to {row.to} (message {row.id}).")
    else:
        print(f"Queued as message {row.id}: {row.last_error or 'it goes out with the next run'}"
              + ("" if counts else " (no mail server is set up: see smtp-set)."))
    return 0


def cmd_smtp_set(args: argparse.Namespace, make_context: Any) -> int:
    settings = SmtpSettings(
        host=args.host.strip(), port=args.port, security=args.security,
        username=args.username, from_address=args.from_address, from_name=args.from_name,
        reply_to=args.reply_to, pinned_sha256=args.fingerprint,
        default_language=args.default_language)
    settings.validate()
    password = None
    if settings.username:
        password = read_secret("Password", SMTP_PASSWORD_ENV, from_stdin=args.password_stdin)
    make_context().services.comms.save_smtp_settings(settings, password)
    print(f"Mail server {settings.host}:{settings.port} saved; run smtp-test to check it.")
    return 0


def cmd_smtp_test(args: argparse.Namespace, make_context: Any) -> int:
    report = make_context().services.comms.test_smtp(args.to)
    if args.json:
        print_json(asdict(report) | {"ok": report.ok})
        return 0 if report.ok else 1
    for step in report.steps:
        print(f"{'OK ' if step.ok else 'FAIL'} {step.name:<13} {step.detail}")
    if report.ok:
        print("The mail server is ready for guest emails.")
    return 0 if report.ok else 1
