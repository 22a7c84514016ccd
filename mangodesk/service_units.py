"""The files that install ``mangodesk run`` as an operating-system service: a systemd unit (per
user, or system-wide under a dedicated account) and a WinSW configuration for Windows.

WinSW (github.com/winsw/winsw, MIT, the wrapper Jenkins ships) is a small signed .exe that the
Windows build places next to ``mangodesk.exe`` as ``mangodesk-service.exe`` with this XML beside
it; ``mangodesk-service.exe install`` registers the service. It stops the service by running
``mangodesk run --stop`` (Windows services get no SIGTERM; the running service sees the stop
file within a second and finishes the calls in progress).
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

SERVICE_ID = "mangodesk"
DESCRIPTION = "Mangodesk door-code automation (mangodesk run)"
STOP_TIMEOUT_SECONDS = 90
RESTART_SECONDS = 30


def mangodesk_command() -> list[str]:
    """How to start this installation's ``mangodesk``: the frozen executable itself, or this
    Python with ``-m mangodesk``."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "mangodesk"]


def _systemd_quote(argv: Sequence[str]) -> str:
    """A command line for ExecStart= (systemd splits like a shell; % must be doubled)."""
    return " ".join(shlex.quote(arg).replace("%", "%%") for arg in argv)


def systemd_unit(command: Sequence[str], *, system_user: str | None = None,
                 data_dir: Path | None = None, working_dir: Path | None = None) -> str:
    """The unit file text. Without ``system_user`` it is a user unit (``systemctl --user``);
    with it, a system unit that runs as that account."""
    profile = ["--data-dir", str(data_dir)] if data_dir is not None else []
    start = [*command, *profile, "run"]
    stop = [*command, *profile, "run", "--stop"]
    lines = [
        "# The always-on Mangodesk automation (mangodesk run), written by "
        "`mangodesk service install`.",
        "[Unit]",
        f"Description={DESCRIPTION}",
        "After=network-online.target" + (" postgresql.service" if system_user else ""),
        "Wants=network-online.target",
        "",
        "[Service]",
        "Type=simple",
        f"ExecStart={_systemd_quote(start)}",
        f"ExecStop={_systemd_quote(stop)}",
        "Restart=on-failure",
        f"RestartSec={RESTART_SECONDS}",
        f"TimeoutStopSec={STOP_TIMEOUT_SECONDS}",
        "Environment=PYTHONUNBUFFERED=1",
    ]
    if working_dir is not None:
        lines.append(f"WorkingDirectory={working_dir}")
    if system_user:
        lines += [
            f"User={system_user}",
            f"Group={system_user}",
            "NoNewPrivileges=yes",
            "PrivateTmp=yes",
            "ProtectSystem=full",
        ]
    lines += ["", "[Install]",
              f"WantedBy={'multi-user.target' if system_user else 'default.target'}", ""]
    return "\n".join(lines)


def winsw_xml(*, executable: str = "%BASE%\\mangodesk.exe", data_dir: str | None = None,
              log_dir: str = "%BASE%\\logs") -> str:
    """WinSW's configuration for the Windows service (``mangodesk-service.xml``)."""
    profile = f' --data-dir "{data_dir}"' if data_dir else ""
    fields = [
        ("id", SERVICE_ID),
        ("name", "Mangodesk automation"),
        ("description", DESCRIPTION),
        ("executable", executable),
        ("startarguments", f"{profile.strip()} run".strip()),
        ("stopexecutable", executable),
        ("stoparguments", f"{profile.strip()} run --stop".strip()),
        ("stoptimeout", f"{STOP_TIMEOUT_SECONDS} sec"),
        ("startmode", "Automatic"),
        ("delayedAutoStart", "true"),
        ("resetfailure", "1 hour"),
        ("logpath", log_dir),
    ]
    body = "\n".join(f"  <{name}>{escape(value)}</{name}>" for name, value in fields)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<!-- The always-on Mangodesk automation as a Windows service, run by WinSW "
        "(mangodesk-service.exe next to this file). Written by the packaging build. -->\n"
        "<service>\n"
        f"{body}\n"
        f'  <onfailure action="restart" delay="{RESTART_SECONDS} sec"/>\n'
        f'  <onfailure action="restart" delay="{2 * RESTART_SECONDS} sec"/>\n'
        '  <log mode="roll-by-size">\n'
        "    <sizeThreshold>10240</sizeThreshold>\n"
        "    <keepFiles>8</keepFiles>\n"
        "  </log>\n"
        "</service>\n"
    )
