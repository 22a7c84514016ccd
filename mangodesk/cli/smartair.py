"""``mangodesk smartair-doctor``: check a Smartair server connection step by step.

For installers at the desk PC: it needs no profile or database, only the address and the
operator. The password comes from MANGODESK_OPERATOR_PASSWORD or a prompt, never from the
command line (where other users and shell history could read it).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any, TextIO

from mangodesk.cli import add_json_flag, print_json
from mangodesk.cli.inputs import read_secret
from mangodesk.vendors.base import ConnectionReport

PASSWORD_ENV = "MANGODESK_OPERATOR_PASSWORD"  # noqa: S105 - a variable name, not a secret


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "smartair-doctor",
        help="check the connection to a TESA Smartair server, step by step",
        description="Checks, in order: the address, the port, the certificate, the web "
        "services, the version, the operator login, the web-services licence and the rooms. "
        f"The operator password is read from {PASSWORD_ENV} or asked for.",
    )
    p.add_argument("address", help="server address, e.g. 192.168.1.20 or smartair:8181")
    p.add_argument("--operator", required=True, help="the Smartair operator name")
    p.add_argument(
        "--fingerprint",
        help="the SHA-256 certificate fingerprint you accepted (shown by the first run)",
    )
    p.add_argument("--base-path", help="web-services root, e.g. ServerPlatform (default: probe)")
    p.add_argument("--plain-http", action="store_true",
                   help="use unencrypted HTTP (only if the server has no HTTPS)")
    p.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for an answer")
    p.add_argument("--timezone", metavar="ZONE",
                   help="the server's time zone, e.g. Europe/Madrid (default: this computer's "
                   "zone); the server's clock is shown in it and compared with this computer's")
    add_json_flag(p)
    p.set_defaults(func=cmd_smartair_doctor)


def cmd_smartair_doctor(args: argparse.Namespace, make_context: Callable[[], Any]) -> int:
    settings: dict[str, Any] = {"timeout_seconds": args.timeout}
    if args.fingerprint:
        try:
            from mangodesk.vendors.smartair.tls import normalise_fingerprint

            settings["pinned_sha256"] = normalise_fingerprint(args.fingerprint)
        except ValueError:
            sys.stderr.write(
                "mangodesk: --fingerprint must be the 64 hexadecimal digits shown by the "
                "first run (colons optional).\n"
            )
            return 2
    if args.base_path:
        settings["base_path"] = args.base_path
    if args.plain_http:
        settings["use_http"] = True
    if args.timezone:
        settings["server_timezone"] = args.timezone
    password = read_secret("Operator password", PASSWORD_ENV, stdin_option=False)
    from mangodesk.vendors.smartair.doctor import run_doctor  # zeep only for this command

    # The server sits on the hotel's LAN: without --timezone, this computer's zone is the
    # hotel's.
    report = run_doctor(args.address, args.operator, password, settings,
                        hotel_timezone=local_zone_name())
    if args.json:
        print_json(
            {
                "ok": report.ok,
                "summary": report.summary,
                "steps": [vars_of(step) for step in report.steps],
                "details": dict(report.details),
            }
        )
    else:
        print_report(report, args.address, sys.stdout)
    return 0 if report.ok else 1


def vars_of(step: Any) -> dict[str, Any]:
    return {"name": step.name, "ok": step.ok, "warning": step.warning,
            "message": step.message, "fix": step.fix}


def local_zone_name() -> str | None:
    """This computer's IANA zone when the system names one (the doctor runs at the hotel)."""
    try:
        target = os.path.realpath("/etc/localtime")
    except OSError:
        return None
    marker = "zoneinfo/"
    return target.split(marker, 1)[1] if marker in target else None


def print_report(report: ConnectionReport, address: str, out: TextIO) -> None:
    out.write(f"Checking the Smartair server at {address}\n\n")
    for step in report.steps:
        mark = "FAIL" if not step.ok else "WARN" if step.warning else "OK  "
        out.write(f"  [{mark}] {step.name}: {step.message}\n")
        if step.fix:
            out.write(f"         What to do: {step.fix}\n")
    out.write("\n")
    fingerprint = report.details.get("certificate_fingerprint")
    if report.details.get("needs_certificate_acceptance") and fingerprint:
        out.write(
            "If the installer confirms this fingerprint, run the check again with\n"
            f"  --fingerprint {fingerprint}\n\n"
        )
    out.write(("Result: " if report.ok else "Result: NOT CONNECTED. ") + report.summary + "\n")
