"""An audit entry and the one canonical way to hash it.

The hash of an entry is SHA-256 over compact, sorted-keys JSON of every field except the hash
itself, ``seq`` and ``prev_hash`` included, so changing, moving or unlinking an entry all show.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any

from datavow.store.models import AuditEntryRow

#: ``prev_hash`` of the first entry: no entry comes before it.
GENESIS_HASH = "0" * 64

# Columns in the order entries are read; rows of these columns become AuditEntry objects.
ENTRY_COLUMNS = (
    AuditEntryRow.seq,
    AuditEntryRow.ts,
    AuditEntryRow.actor,
    AuditEntryRow.action,
    AuditEntryRow.object_type,
    AuditEntryRow.object_id,
    AuditEntryRow.reason,
    AuditEntryRow.details,
    AuditEntryRow.prev_hash,
    AuditEntryRow.hash,
)


def canonical_json(value: object) -> str:
    """Sorted keys, no whitespace, UTF-8 text, no NaN: one text for one value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def format_timestamp(ts: datetime) -> str:
    """``2024-05-01T12:00:00.000000Z``: fixed width, microseconds, always UTC."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class AuditEntry:
    """One entry of the audit log: who did what to which object, when and why."""

    seq: int
    ts: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    reason: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str

    def compute_hash(self) -> str:
        """The hash this entry's contents call for (compare it with :attr:`hash`)."""
        payload = self.to_dict()
        del payload["hash"]
        return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()

    def sealed(self) -> AuditEntry:
        """A copy whose :attr:`hash` is the one its contents call for."""
        return replace(self, hash=self.compute_hash())

    def row_values(self) -> dict[str, Any]:
        """The column values of this entry in ``audit_entries`` (details as canonical JSON)."""
        values = {name: getattr(self, name) for name in _FIELDS}  # asdict would deep-copy the details
        return {**values, "details": canonical_json(self.details)}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``ts`` as in :func:`format_timestamp`."""
        return {
            "seq": self.seq,
            "ts": format_timestamp(self.ts),
            "actor": self.actor,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "reason": self.reason,
            "details": self.details,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


_FIELDS = tuple(f.name for f in fields(AuditEntry))


def entry_from_row(values: Mapping[Any, Any]) -> AuditEntry:
    """Build an entry from a row mapping of :data:`ENTRY_COLUMNS` (``result.mappings()``).

    Raises :class:`ValueError` when the stored details are not a JSON object, which only
    happens if someone edited the table by hand.
    """
    details = json.loads(values["details"])
    if not isinstance(details, dict):
        raise ValueError(f"details of entry #{values['seq']} are not a JSON object")
    return AuditEntry(
        seq=values["seq"],
        ts=values["ts"],
        actor=values["actor"],
        action=values["action"],
        object_type=values["object_type"],
        object_id=values["object_id"],
        reason=values["reason"],
        details=details,
        prev_hash=values["prev_hash"],
        hash=values["hash"],
    )
