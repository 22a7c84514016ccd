"""What the status bar says about automation: engine state, last PMS sync, codes retrying.
The figures come from :class:`mangodesk.services.desk.DeskStatusService`."""

from __future__ import annotations

from mangodesk.app import Context
from mangodesk.services.desk import DeskStatus

__all__ = ["DeskStatus", "read_status"]


def read_status(context: Context) -> DeskStatus:
    return context.services.desk.status()
