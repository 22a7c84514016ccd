"""Mangodesk: door codes for exactly each guest's stay, driven from the front desk."""

__version__ = "0.1.0"
