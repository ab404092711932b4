"""What earlier erasures of a person kept, and still keep: the answer a second erasure gives.

After an erasure, the rows a legal hold keeps can often no longer be found by the person's
identities (their e-mail was hashed in the customer row that led to them). A second erasure then
finds nothing, and "no personal data held" would be untrue. So when an erasure finds nothing, the
results of the person's earlier erasures say what is still held, how many rows, for which purpose
and until when.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from datavow.datamap.load import LoadedMap
from datavow.plan.identity_keys import IdentityInput
from datavow.requests.lifecycle import RequestRecord, find_requests
from datavow.store import Store


def still_held(store: Store, loaded: LoadedMap, identities: IdentityInput, now: datetime) -> list[dict[str, Any]]:
    """Per table, the rows earlier erasures of these identities kept whose hold has not ended at ``now``."""
    return held_in(find_requests(store, loaded, identities), now)


def held_in(records: Iterable[RequestRecord], now: datetime) -> list[dict[str, Any]]:
    """The kept steps of completed erasures among ``records`` that are still held at ``now``: the
    latest erasure's word per table (it counted again what the one before had kept)."""
    latest: dict[str, Mapping[str, Any]] = {}
    for record in records:
        if record.kind.value != "erasure" or not record.result:
            continue
        for step in record.result.get("steps", []):
            if step.get("kept"):
                latest[str(step["step"])] = step
    now = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    held = []
    for label, step in latest.items():
        until = step.get("held_until")
        if until is not None and _moment(str(until)) <= now:
            continue  # the hold has ended: the retention sweep erases those rows
        held.append(
            {
                "step": label,
                "rows": int(step["kept"]),
                "held_until": until,
                "hold_purpose": step.get("hold_purpose"),
                "referenced": int(step.get("kept_referenced") or 0),
            }
        )
    return held


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
