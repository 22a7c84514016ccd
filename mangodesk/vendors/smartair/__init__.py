"""TESA Smartair: SOAP (zeep) to the Smartair Server Platform on the hotel LAN."""

from mangodesk.vendors.smartair.adapter import SMARTAIR_CAPABILITIES, SMARTAIR_SPEC, SmartairAdapter

__all__ = ["SMARTAIR_CAPABILITIES", "SMARTAIR_SPEC", "SmartairAdapter"]
