"""Keep secrets that travel in URLs out of log files.

httpx logs every request URL at INFO. Some vendors put tokens (TTLock's access token,
Flexipass's company token) or a PIN in the query string, so each adapter installs a filter
on the httpx/httpcore loggers that blanks those parameters, whatever the logging level.
"""

from __future__ import annotations

import logging
import re
import threading

import httpx

_installed: set[str] = set()
_lock = threading.Lock()


class QueryRedactor(logging.Filter):
    """Replaces the value of each named query parameter with "•••" in a record's text."""

    def __init__(self, parameter_names: tuple[str, ...]) -> None:
        super().__init__()
        names = "|".join(re.escape(name) for name in parameter_names)
        self._pattern = re.compile(rf"((?:{names})=)[^&\s\"']*")

    def redact(self, text: str) -> str:
        return self._pattern.sub(r"\1•••", text)

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                self.redact(str(arg)) if isinstance(arg, str | httpx.URL) else arg
                for arg in record.args
            )
        if isinstance(record.msg, str):
            record.msg = self.redact(record.msg)
        return True


def install_query_redaction(parameter_names: tuple[str, ...]) -> QueryRedactor:
    """Install (once per set of names) a redacting filter on httpx's and httpcore's loggers."""
    redactor = QueryRedactor(parameter_names)
    key = "|".join(sorted(parameter_names))
    with _lock:
        if key not in _installed:
            for name in ("httpx", "httpcore"):
                logging.getLogger(name).addFilter(redactor)
            _installed.add(key)
    return redactor
