"""Keeping a request's discovery, sealed, so an interrupted run resumes on the same rows.

An erasure changes the values that found the person (an e-mail becomes a hash), so searching
again after a crash would miss what was reached through them. The discovery is stored before
anything changes and reused on every later run of the same request. It holds identity values
and keys, so it is sealed with the installation's key and bound to the request's id.
"""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from datavow.errors import RequestError
from datavow.plan.model import Discovery, Plan, Selection
from datavow.secrets import derive, seal, unseal
from datavow.store.models import RequestDiscoveryRow

_PURPOSE = "discoveries"


def _context(request_id: int) -> bytes:
    return f"discovery:{request_id}".encode()


def encode_value(value: object) -> Any:
    """A database value as JSON that :func:`decode_value` turns back into the same value."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return {"f": repr(value)}
    if isinstance(value, datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, date):
        return {"d": value.isoformat()}
    if isinstance(value, time):
        return {"t": value.isoformat()}
    if isinstance(value, Decimal):
        return {"n": str(value)}
    if isinstance(value, UUID):
        return {"u": str(value)}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"b": base64.b64encode(bytes(value)).decode()}
    raise TypeError(f"cannot keep a value of type {type(value).__name__} in a discovery")


def decode_value(data: Any) -> object:
    if not isinstance(data, dict):
        return data
    ((tag, text),) = data.items()
    decoders: dict[str, Any] = {
        "f": float,
        "dt": datetime.fromisoformat,
        "d": date.fromisoformat,
        "t": time.fromisoformat,
        "n": Decimal,
        "u": UUID,
        "b": base64.b64decode,
    }
    return decoders[tag](text)


def _encode(discovery: Discovery) -> bytes:
    steps = []
    for table, sel in discovery.selections.items():
        steps.append(
            {
                "table": list(table),
                "key": list(sel.step.key),
                "rows": sel.rows,
                "tenant": encode_value(sel.tenant),
                "conditions": [
                    {"columns": list(columns), "values": [[encode_value(v) for v in row] for row in values]}
                    for columns, values in sel.conditions.items()
                ],
                "shared": [
                    {
                        "columns": list(columns),
                        "values": [[[encode_value(v) for v in row], count] for row, count in values.items()],
                    }
                    for columns, values in sel.shared.items()
                ],
            }
        )
    return json.dumps({"version": 1, "steps": steps}, separators=(",", ":")).encode()


def _decode(blob: bytes, plan: Plan) -> Discovery:
    data = json.loads(blob)
    steps = {step.table: step for step in plan.steps}
    selections: dict[tuple[str, str], Selection] = {}
    filled = []
    for item in data["steps"]:
        table = (item["table"][0], item["table"][1])
        if table not in steps:
            raise RequestError(
                f"the data map no longer plans {table[0]}.{table[1]}, which this request reached when it started "
                "— restore the map as it was, or deny this request and receive it again"
            )
        step = replace(steps[table], key=tuple(item["key"]))
        filled.append(step)
        selections[table] = Selection(
            step=step,
            conditions={
                tuple(c["columns"]): {tuple(decode_value(v) for v in row) for row in c["values"]}
                for c in item["conditions"]
            },
            rows=item["rows"],
            tenant=decode_value(item["tenant"]),
            shared={  # absent from a discovery kept before shared rows were told apart
                tuple(c["columns"]): {tuple(decode_value(v) for v in row): count for row, count in c["values"]}
                for c in item.get("shared", [])
            },
        )
    by_table = {step.table: step for step in filled}
    resolved = replace(plan, steps=tuple(by_table.get(step.table, step) for step in plan.steps))
    return Discovery(plan=resolved, selections=selections)


def save_discovery(session: Session, request_id: int, discovery: Discovery, key: bytes) -> None:
    """Keep what ``discovery`` found for this request (before anything is changed)."""
    sealed = seal(derive(key, _PURPOSE), _encode(discovery), _context(request_id))
    session.merge(RequestDiscoveryRow(request_id=request_id, created_at=datetime.now(UTC), sealed=sealed))


def load_discovery(session: Session, request_id: int, plan: Plan, key: bytes) -> Discovery | None:
    """The discovery kept for this request, rebuilt on ``plan``; None when none was kept."""
    row = session.execute(select(RequestDiscoveryRow).where(RequestDiscoveryRow.request_id == request_id)).scalar()
    if row is None:
        return None
    return _decode(unseal(derive(key, _PURPOSE), row.sealed, _context(request_id)), plan)
