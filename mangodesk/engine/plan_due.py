"""Each planned booking's next due instant (the ``plan_due`` table), written as a difference.

A pass rewrites only the rows whose instant moved: the hourly full pass over 20,000 bookings
writes a handful of rows instead of deleting and inserting them all, and a tick touches only
the bookings it planned. Rows are compared as the driver stores them (see
:mod:`mangodesk.store.driver`).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table

from mangodesk.store.driver import Converted, bind_converter, chunks, positional_mark
from mangodesk.store.models import PlanDue


def write_due(connection: Connection, due: dict[int, datetime],
              scope: Collection[int] | None) -> int:
    """Make ``plan_due`` hold ``due`` for the bookings in ``scope`` (every booking when None):
    a booking of the scope missing from ``due`` has nothing due. Returns the rows written."""
    mark = positional_mark(connection.dialect)
    column = cast(Table, PlanDue.__table__).c.due_at
    as_stored = Converted(bind_converter(column, connection.dialect))
    wanted = {booking_id: as_stored[at] for booking_id, at in due.items()}
    stored: dict[int, Any] = {}
    select = "SELECT booking_id, due_at FROM plan_due"
    if scope is None:
        stored.update(connection.exec_driver_sql(select).fetchall())
    else:
        for part in chunks(sorted(scope)):
            marks = ", ".join([mark] * len(part))
            stored.update(connection.exec_driver_sql(
                f"{select} WHERE booking_id IN ({marks})", tuple(part)).fetchall())
    gone = [(booking_id,) for booking_id in stored if booking_id not in wanted]
    moved = [(value, booking_id) for booking_id, value in wanted.items()
             if booking_id in stored and stored[booking_id] != value]
    new = [(booking_id, value) for booking_id, value in wanted.items()
           if booking_id not in stored]
    if gone:
        connection.exec_driver_sql(f"DELETE FROM plan_due WHERE booking_id = {mark}", gone)
    if moved:
        connection.exec_driver_sql(
            f"UPDATE plan_due SET due_at = {mark} WHERE booking_id = {mark}", moved)
    if new:
        connection.exec_driver_sql(
            f"INSERT INTO plan_due (booking_id, due_at) VALUES ({mark}, {mark})", new)
    return len(gone) + len(moved) + len(new)
