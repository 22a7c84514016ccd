"""Statements sent to the database driver as they are, with values converted by SQLAlchemy's
own converters for this database.

For hot paths that handle thousands of rows per pass (the sync's page writes, the planner's
due instants): SQLAlchemy's per-row parameter and result handling there costs more than the
database does. Values are converted with the column type's bind processor, each distinct
value once, so a row compares with what the driver returns for it as plain tuples.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import Column, ColumnElement, type_coerce
from sqlalchemy.engine import Dialect
from sqlalchemy.types import NullType

T = TypeVar("T")

# Rows or ids per statement: well under SQLite's 32,766 and PostgreSQL's 65,535 parameters.
CHUNK = 500


def positional_mark(dialect: Dialect) -> str:
    """The driver's positional placeholder: ``?`` (sqlite3) or ``%s`` (psycopg)."""
    marks = {"qmark": "?", "format": "%s", "pyformat": "%s"}
    if dialect.paramstyle not in marks:
        raise ValueError(f"no positional parameters with {dialect.paramstyle!r}")
    return marks[dialect.paramstyle]


def bind_converter(column: Column[Any], dialect: Dialect) -> Callable[[Any], Any]:
    """The function SQLAlchemy applies to a value of ``column`` before the driver sees it."""
    convert = column.type.dialect_impl(dialect).bind_processor(dialect)
    return convert if convert is not None else same


def result_converter(column: Any, dialect: Dialect) -> Callable[[Any], Any]:
    """The function SQLAlchemy applies to a value of ``column`` the driver returned."""
    convert = column.type.dialect_impl(dialect).result_processor(dialect, None)
    return convert if convert is not None else same


def same(value: Any) -> Any:
    return value


class Converted(dict[Any, Any]):
    """Values converted for the driver, each distinct one once (None stays None)."""

    def __init__(self, convert: Callable[[Any], Any]) -> None:
        super().__init__()
        self._convert = convert

    def __missing__(self, value: Any) -> Any:
        converted = self[value] = None if value is None else self._convert(value)
        return converted


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def driver_value(column: Any) -> ColumnElement[Any]:
    """``column`` in a select, handed over as the driver returns it (no conversion per row):
    convert it with :class:`Loaded`."""
    return type_coerce(column, NullType())


class Loaded(Converted):
    """Values of ``column`` as SQLAlchemy would load them, from what the driver returned,
    each distinct value converted once (None stays None): dates, instants and states repeat
    across thousands of rows."""

    def __init__(self, column: Any, dialect: Dialect) -> None:
        super().__init__(result_converter(column, dialect))
