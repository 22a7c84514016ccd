"""TESA Smartair: SOAP (zeep) to the Smartair Server Platform on the hotel LAN.

The adapter (zeep, httpx) loads on first use, so code that needs only the certificate
pinning in :mod:`.tls` (guest mail's SMTP) does not pay for it at start-up.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SMARTAIR_CAPABILITIES", "SMARTAIR_SPEC", "SmartairAdapter"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from mangodesk.vendors.smartair import adapter

        return getattr(adapter, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
