"""A value as a reflected column takes it: what a ``fixed`` erasure and a rectification write."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.sql import sqltypes


def as_column_value(value: object, kind: sqltypes.TypeEngine[Any]) -> object:
    """``value`` converted for a column of type ``kind``; ValueError when it does not fit."""
    if isinstance(kind, sqltypes.Enum):
        if str(value) not in kind.enums:
            raise ValueError(f"not one of {', '.join(kind.enums)}")
        return str(value)
    if isinstance(kind, sqltypes.String):
        text = value.isoformat() if isinstance(value, date) else str(value)
        if kind.length is not None and len(text) > kind.length:
            raise ValueError(f"longer than the column's {kind.length} characters")
        return text
    if isinstance(kind, sqltypes.Boolean):
        if value in (0, 1) and not isinstance(value, str):
            return bool(value)
        raise ValueError("not a boolean")
    if isinstance(kind, sqltypes.Integer):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
            return int(value)
        raise ValueError("not a whole number")
    if isinstance(kind, sqltypes.Numeric):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        raise ValueError("not a number")
    if isinstance(kind, sqltypes.DateTime):
        return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if isinstance(kind, sqltypes.Date):
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        return date.fromisoformat(str(value))
    raise ValueError(f"datavow cannot write into a {kind} column")
