"""Reading what people type on the command line: bounded numbers, dates and names, and
secrets from a prompt, an environment variable or stdin, never from the command line itself
(where ``ps`` and the shell history would show them to others)."""

from __future__ import annotations

import argparse
import getpass
import os
import re
import sys
import unicodedata
from collections.abc import Callable
from datetime import date
from typing import TextIO

from mangodesk.domain.errors import ValidationError

MAX_ID = 2**31 - 1  # the largest row id an INTEGER key holds on PostgreSQL (SQLite's is larger)
MAX_LIMIT = 100_000
MAX_NAME = 200
MAX_SEARCH = 200
MAX_REFERENCE = 200
ECHO_LENGTH = 60
FIRST_YEAR = 2000
LAST_YEAR = 2200


def shorten(text: str, length: int = ECHO_LENGTH) -> str:
    """``text`` as it may be echoed back in a message: control characters shown as escapes
    (never sent to the terminal), and cut to ``length`` characters."""
    visible = "".join(
        ch if not _is_control(ch) else ch.encode("unicode_escape").decode("ascii")
        for ch in text[: length * 2]
    )
    return visible if len(visible) <= length else visible[: length - 1] + "…"


def _is_control(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") and ch not in ("\u200d",)


_QUOTED = re.compile(r"“([^”]*)”|'([^']*)'")


def tidy_message(message: str) -> str:
    """An error line safe to print: every quoted input shortened, control characters escaped,
    and the whole line of a sane length."""

    def cut(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            return f"“{shorten(match.group(1))}”"
        return f"'{shorten(match.group(2))}'"

    lines = [shorten(_QUOTED.sub(cut, line), 400) for line in message.splitlines() or [""]]
    return "\n".join(lines[:20])


def record_id(text: str) -> int:
    """A row number as typed (``code-revoke 12``), refused when no row could have it."""
    try:
        value = int(text.strip(), 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"“{shorten(text)}” is not a number") from None
    if not 1 <= value <= MAX_ID:
        raise argparse.ArgumentTypeError(f"“{shorten(text)}” is not a valid number here; "
                                         "use the number shown in the list")
    return value


def limit(text: str) -> int:
    try:
        value = int(text.strip(), 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"“{shorten(text)}” is not a number") from None
    if not 1 <= value <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"use a number from 1 to {MAX_LIMIT}")
    return value


def bounded_text(max_length: int, what: str) -> Callable[[str], str]:
    """Free text (a search, a reference) of at most ``max_length`` characters."""

    def parse(text: str) -> str:
        if len(text) > max_length:
            raise argparse.ArgumentTypeError(
                f"the {what} is {len(text)} characters long; use at most {max_length}")
        if any(_is_control(ch) for ch in text):
            raise argparse.ArgumentTypeError(
                f"the {what} “{shorten(text)}” contains control characters")
        return text

    return parse


def name(text: str) -> str:
    """A name staff will see (a connection, a lock, a guest): printable, one line, and not
    longer than :data:`MAX_NAME` (an empty one is left to the service, which says what to
    type)."""
    if any(_is_control(ch) for ch in text):
        raise argparse.ArgumentTypeError(
            f"the name “{shorten(text)}” contains control characters (such as a line break "
            "or a terminal escape); type it as plain text")
    if len(text) > MAX_NAME:
        raise argparse.ArgumentTypeError(
            f"the name is {len(text)} characters long; use at most {MAX_NAME}")
    return text


def check_year(day: date, field: str, text: str) -> date:
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValidationError(f"“{shorten(text)}” is too far from today.", field=field,
                              fix=f"Use a date between {FIRST_YEAR} and {LAST_YEAR}.")
    return day


def read_secret(label: str, env_name: str, *, from_stdin: bool = False,
                stdin: TextIO | None = None, stdin_option: bool = True) -> str:
    """A secret from stdin (``--password-stdin``), else from ``env_name``, else a prompt on
    the terminal. Without any of them, a clear refusal rather than a hang or a traceback."""
    stream = stdin if stdin is not None else sys.stdin
    if from_stdin:
        line = stream.readline() if stream is not None else ""
        value = line.rstrip("\r\n")
        if not value:
            raise ValidationError(f"No {label.lower()} was given on standard input.",
                                  fix="Pipe it in, one line per secret.")
        return value
    value = os.environ.get(env_name)
    if value:
        return value
    if stream is None or not stream.isatty():
        raise ValidationError(
            f"There is no terminal to ask for the {label.lower()}.",
            fix=f"Set {env_name}, or pipe it in with --password-stdin." if stdin_option
            else f"Set {env_name}, or run this in a terminal.")
    try:
        return getpass.getpass(f"{label}: ")
    except (EOFError, KeyboardInterrupt):
        raise ValidationError(f"No {label.lower()} was entered.") from None
