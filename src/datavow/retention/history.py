"""The sweeps recorded in the state store, read as values: what each sweep did, and when each
system is next due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from datavow.datamap import LoadedMap
from datavow.errors import StateError
from datavow.retention.schedule import Turn, schedule
from datavow.store import Store
from datavow.store.models import SweepRow


@dataclass(frozen=True)
class SweepRecord:
    """One recorded sweep of one system: how it went, and the rows it changed per rule."""

    id: int
    system: str
    kind: str
    status: str
    worker: str
    started_at: datetime
    finished_at: datetime | None
    counts: dict[str, Any]
    error: str | None

    @property
    def changed(self) -> int:
        """Rows changed, by the rules themselves and by the cascades they set off."""
        return sum(
            int(rule.get("changed", 0)) + sum(rule.get("cascaded", {}).values()) for rule in self.counts.values()
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "system": self.system,
            "kind": self.kind,
            "status": self.status,
            "worker": self.worker,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "changed": self.changed,
            "error": self.error,
        }


@dataclass(frozen=True)
class SweepReport:
    """The latest sweeps, newest first, and each system's place in the schedule."""

    sweeps: tuple[SweepRecord, ...]
    schedule: tuple[Turn, ...]

    def to_dict(self) -> dict[str, Any]:
        due = [
            {"system": t.system, "every": str(t.every), "at": t.at, "next": t.next.isoformat()} for t in self.schedule
        ]
        return {"sweeps": [sweep.to_dict() for sweep in self.sweeps], "schedule": due}


def list_sweeps(store: Store, *, limit: int = 20) -> list[SweepRecord]:
    """The latest ``limit`` sweeps, newest first."""
    with store.session(write=False) as session:
        rows = session.query(SweepRow).order_by(SweepRow.id.desc()).limit(limit).all()
        return [_record(row) for row in rows]


def show_sweep(store: Store, sweep_id: int) -> SweepRecord:
    """One sweep, with what it changed per rule."""
    with store.session(write=False) as session:
        row = session.get(SweepRow, sweep_id)
        if row is None:
            raise StateError(f"there is no sweep #{sweep_id} in the state store")
        return _record(row)


def sweep_report(loaded: LoadedMap, store: Store, *, limit: int = 20) -> SweepReport:
    """The latest sweeps and when each system is next due, in one answer."""
    return SweepReport(tuple(list_sweeps(store, limit=limit)), tuple(schedule(loaded, store)))


def _record(row: SweepRow) -> SweepRecord:
    return SweepRecord(
        id=row.id,
        system=row.system,
        kind=row.kind,
        status=row.status,
        worker=row.worker,
        started_at=row.started_at,
        finished_at=row.finished_at,
        counts=dict(row.counts or {}),
        error=row.error,
    )


__all__ = ["SweepRecord", "SweepReport", "list_sweeps", "show_sweep", "sweep_report"]
