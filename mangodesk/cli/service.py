"""``mangodesk db upgrade``, ``mangodesk status`` and ``mangodesk service install``: what IT
runs to set up and watch the always-on service and a shared database."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mangodesk.cli import add_json_flag, inputs, print_json
from mangodesk.domain.errors import ConfigError, ValidationError

if TYPE_CHECKING:
    from mangodesk.cli import ContextFactory
    from mangodesk.services.service_status import ServiceStatus

UNIT_NAME = "mangodesk.service"


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "db", help="the database's schema: upgrade it (on a shared server, with the owner role)")
    db = p.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    up = db.add_parser(
        "upgrade", help="bring the database to this version's schema",
        description="A single-desk profile (SQLite) upgrades itself at start-up; a shared "
        "PostgreSQL database is upgraded only by this command, with the schema owner's login, "
        "and the desk and service roles are then granted what they may use. The owner's "
        "password is read from MANGODESK_DATABASE_OWNER_PASSWORD, else from standard input "
        "with --password-stdin, else from a prompt.")
    up.add_argument("--owner", default=None, metavar="ROLE",
                    help="the schema owner's login (default: mangodesk_owner)")
    up.add_argument("--desk-role", default=None, metavar="ROLE",
                    help="the desks' role to grant (default: mangodesk_desk)")
    up.add_argument("--service-role", default=None, metavar="ROLE",
                    help="the service's role to grant (default: mangodesk_service)")
    up.add_argument("--password-stdin", action="store_true",
                    help="read the owner's password from standard input")
    up.add_argument("--no-password", action="store_true",
                    help="the server needs no password for the owner (peer or certificate login)")
    add_json_flag(up)
    up.set_defaults(func=cmd_db_upgrade)

    p = subparsers.add_parser(
        "status", help="is the automation running: leader, last tick, last sync, queue, alerts",
        description="Exit code for monitoring: 0 ok, 1 warning (open warnings, a failing or "
        "late PMS sync, operations that failed for good), 2 critical (nothing runs or leads "
        "the automation, the leader stopped ticking, open error or critical alerts, or the "
        "database cannot be read).")
    add_json_flag(p)
    p.set_defaults(func=cmd_status)

    p = subparsers.add_parser("service", help="install the always-on service (systemd, Windows)")
    service = p.add_subparsers(dest="service_command", metavar="ACTION", required=True)
    install = service.add_parser(
        "install", help="write the systemd unit for `mangodesk run` and enable it",
        description="Writes a systemd unit that runs `mangodesk run` for this profile, then "
        "runs systemctl daemon-reload and enable --now (skip with --no-enable). --user: a "
        "user unit in ~/.config/systemd/user (add `loginctl enable-linger` to keep it "
        "running with nobody signed in); --system: /etc/systemd/system, run as --run-as.")
    where = install.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help="a user unit (the default)")
    where.add_argument("--system", action="store_true",
                       help="a system unit (needs root), running as --run-as")
    install.add_argument("--run-as", default="mangodesk", metavar="ACCOUNT",
                         help="the account a system unit runs as (default: mangodesk)")
    install.add_argument("--unit-dir", type=Path, default=None, metavar="DIR",
                         help="write the unit here instead of systemd's folder")
    install.add_argument("--no-enable", action="store_true",
                         help="only write the unit; print the systemctl commands to run")
    install.set_defaults(func=cmd_service_install)
    xml = service.add_parser(
        "windows-xml", help="print the WinSW configuration of the Windows service")
    xml.add_argument("--output", type=Path, default=None, help="write it to this file")
    xml.set_defaults(func=cmd_service_windows_xml)


# ------------------------------------------------------------------ db upgrade

def cmd_db_upgrade(args: argparse.Namespace, make_context: ContextFactory) -> int:
    from mangodesk.app import upgrade_database

    paths, settings = args.profile

    def owner_password(owner: str) -> str | None:
        if args.no_password:
            return None
        return inputs.read_secret(f"Password of the database owner {owner}",
                                  "MANGODESK_DATABASE_OWNER_PASSWORD",
                                  from_stdin=args.password_stdin)

    done = upgrade_database(paths, settings, owner=args.owner, owner_password=owner_password,
                            desk_role=args.desk_role, service_role=args.service_role)
    if done.missing_roles:
        print(f"Note: no role {' or '.join(done.missing_roles)} on this server, so no access "
              "was granted; run packaging/postgres-roles.sql first (see docs/postgresql.md), "
              "then this command again.", file=sys.stderr)
    return _upgraded(args, done.where, done.before, done.after, granted=done.granted)


def _upgraded(args: argparse.Namespace, where: str, before: set[str], after: set[str],
              granted: dict[str, str] | None) -> int:
    was = ", ".join(sorted(before)) or "empty"
    now = ", ".join(sorted(after))
    if args.json:
        print_json({"database": where, "before": sorted(before), "after": sorted(after),
                    "granted": granted})
        return 0
    print(f"The database at {where} is at schema {now}"
          + (f" (was {was})." if before != after else " (it already was)."))
    if granted:
        print(f"Granted the desk role {granted['desk']} and the service role "
              f"{granted['service']} what they may use.")
    return 0


# ------------------------------------------------------------------ status

def cmd_status(args: argparse.Namespace, make_context: ContextFactory) -> int:
    from mangodesk.always_on import status_for
    from mangodesk.services.service_status import CRITICAL

    try:
        context = make_context()
    except ConfigError as exc:
        # A database that cannot be opened or is out of date: critical for monitoring.
        if args.json:
            print_json({"status": "critical", "level": CRITICAL, "problems": [str(exc)]})
        else:
            print(f"CRITICAL: {exc}")
        return CRITICAL
    status = status_for(context)
    if args.json:
        print_json(status.as_dict())
    else:
        print(_status_text(status))
    return status.level


def _status_text(status: ServiceStatus) -> str:
    from mangodesk.services.service_status import LEVEL_WORDS

    def when(moment: Any) -> str:
        return "never" if moment is None else f"{moment:%Y-%m-%d %H:%M:%S} UTC"

    leader = status.leader
    lines = [
        f"Status: {LEVEL_WORDS[status.level].upper()}",
        "Leader: " + (f"{leader.name} (process {leader.pid}, Mangodesk {leader.version})"
                      if leader else "none"),
        f"Last tick: {when(status.last_tick_at)}",
        f"Last sync: {when(status.last_sync_at)}"
        + (f" — failing: {status.sync_error}" if status.sync_error else ""),
        f"Queue: {status.queue_depth} lock operation(s) waiting or running"
        + (f", {status.failed_operations} failed" if status.failed_operations else ""),
        "Open alerts: " + (", ".join(f"{count} {severity}" for severity, count in
                                     sorted(status.open_alerts.items())) or "none"),
    ]
    others = [p for p in status.processes if not p.leading]
    if others:
        lines.append("Standing by: " + ", ".join(p.name for p in others))
    lines += [f"- {problem}" for problem in status.problems]
    return "\n".join(lines)


# ------------------------------------------------------------------ service install

def cmd_service_install(args: argparse.Namespace, make_context: ContextFactory) -> int:
    from mangodesk.service_units import mangodesk_command, systemd_unit

    if os.name == "nt":
        raise ValidationError(
            "On Windows the service is installed by the Mangodesk installer (WinSW).",
            fix="Run mangodesk-service.exe install in Mangodesk's folder as an administrator.")
    system = bool(args.system)
    data_dir = args.data_dir.expanduser().resolve() if args.data_dir is not None else None
    unit = systemd_unit(mangodesk_command(), system_user=args.run_as if system else None,
                        data_dir=data_dir)
    folder = args.unit_dir or (Path("/etc/systemd/system") if system
                               else Path.home() / ".config" / "systemd" / "user")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / UNIT_NAME
        target.write_text(unit, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"The service file could not be written to {folder}: "
                          f"{exc.strerror or exc}.",
                          "Run as root for --system, or choose --user.") from exc
    scope = [] if system else ["--user"]
    commands = [["systemctl", *scope, "daemon-reload"],
                ["systemctl", *scope, "enable", "--now", UNIT_NAME]]
    print(f"Wrote {target}.")
    if args.no_enable or args.unit_dir is not None:
        print("To start it now and at every boot, run:")
        for command in commands:
            print("  " + " ".join(command))
        if not system:
            print("  loginctl enable-linger  (keeps it running with nobody signed in)")
        return 0
    systemctl = shutil.which("systemctl")
    if systemctl is None:
        raise ConfigError("This computer has no systemctl, so the service was not started.",
                          f"Start `mangodesk run` another way; the unit is in {target}.")
    for command in commands:
        done = subprocess.run([systemctl, *command[1:]], capture_output=True,  # noqa: S603
                              text=True, check=False)
        if done.returncode != 0:
            raise ConfigError(f"“{' '.join(command)}” failed: "
                              f"{(done.stderr or done.stdout).strip()}",
                              f"Fix that and run it again; the unit is in {target}.")
    print("The Mangodesk service is enabled and running; `mangodesk status` shows it.")
    return 0


def cmd_service_windows_xml(args: argparse.Namespace, make_context: ContextFactory) -> int:
    from mangodesk.service_units import winsw_xml

    text = winsw_xml()
    if args.output is None:
        sys.stdout.write(text)
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"Wrote {args.output}.")
    return 0
