"""Flexipass: mobile keys for enterprise hotel locks, delivered to the guest by e-mail.

The package, shaped like :mod:`mangodesk.vendors.ttlock` and :mod:`mangodesk.vendors.smartair`:
:mod:`.contract` (every wire detail, CONFIRMED or ASSUMED), :mod:`.errors` (its error statuses
and codes in the staff's words), :mod:`.adapter` (the VendorAdapter and the provider spec).
"""

from __future__ import annotations

from mangodesk.vendors.flexipass.adapter import (
    BASE_URL_SETTING,
    COMPANY_TOKEN_FIELD,
    FLEXIPASS_CAPABILITIES,
    FLEXIPASS_SPEC,
    KEY_TYPE_SETTING,
    NO_EMAIL_FIX,
    NO_EMAIL_MESSAGE,
    PASSWORD_FIELD,
    TIME_ZONE_FIELD,
    USERNAME_FIELD,
    FlexipassAdapter,
)

__all__ = [
    "BASE_URL_SETTING",
    "COMPANY_TOKEN_FIELD",
    "FLEXIPASS_CAPABILITIES",
    "FLEXIPASS_SPEC",
    "KEY_TYPE_SETTING",
    "NO_EMAIL_FIX",
    "NO_EMAIL_MESSAGE",
    "PASSWORD_FIELD",
    "TIME_ZONE_FIELD",
    "USERNAME_FIELD",
    "FlexipassAdapter",
]
