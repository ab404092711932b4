"""Retention plans and sweeps: what is due now, and doing it a bounded chunk at a time.

A sweep takes one system at a time. With a state store it first takes the system's lock
(:mod:`datavow.retention.locks`), so two workers never sweep one system together; it records a
sweep row, renews the lease and the row's counts after every chunk, and ends with one audit entry
per system: ``retention.swept`` with what each rule changed (``retention.sweep_failed`` when a
database refused, ``retention.sweep_interrupted`` for a sweep a crash or a stop left unfinished).

Chunks are sized to the time a transaction may take (``retention.transaction_seconds``, a quarter
of a second unless the map says otherwise): the size starts small and follows the time each chunk
took, unless ``retention.chunk_rows`` (or ``chunk_rows``) fixes it.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from datavow.audit import append
from datavow.changes.retention_rules import Rule, rules_of
from datavow.connectors.sql import redact, translate_errors
from datavow.datamap.load import LoadedMap
from datavow.driver_errors import reason
from datavow.errors import DatavowError
from datavow.retention.locks import LockLost, acquire, holder_of, release, renew
from datavow.retention.own import OWN_SYSTEM, own_works
from datavow.retention.work import Chunk, TableWork, Work
from datavow.secrets import load_key, state_directory
from datavow.store import Store
from datavow.store.key import given_or_stored_key
from datavow.store.models import SweepRow

Progress = Callable[[str, str, int, int], None]  # system, rule label, rows done, rows due at the start

FIRST_CHUNK = 500
MIN_CHUNK = 50
MAX_CHUNK = 200_000


# --------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class RulePlan:
    """One rule now: how many rows are due, the oldest, what will be done, and what follows them."""

    label: str
    system: str
    does: str
    period: str
    after: str
    due: int
    oldest: date | datetime | None
    held: int  # rows past their period that a legal hold keeps
    cascade: tuple[str, ...]  # tables whose rows follow a due row (they reference it)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.label,
            "system": self.system,
            "does": self.does,
            "period": self.period,
            "after": self.after,
            "due": self.due,
            "oldest": self.oldest.isoformat() if self.oldest is not None else None,
            "held": self.held,
            "cascade": list(self.cascade),
        }


@dataclass(frozen=True)
class RetentionPlan:
    """What a sweep would do now: each rule with the rows it would delete or erase and the rows holds keep."""

    now: datetime
    rules: list[RulePlan]

    @property
    def due(self) -> int:
        return sum(rule.due for rule in self.rules)

    def to_dict(self) -> dict[str, Any]:
        return {"now": self.now.isoformat(), "due": self.due, "rules": [rule.to_dict() for rule in self.rules]}


def retention_plan(
    loaded: LoadedMap,
    engines: Mapping[str, Engine],
    *,
    now: datetime | None = None,
    systems: Iterable[str] | None = None,
    key: bytes | None = None,
) -> RetentionPlan:
    """What each rule of the map (or of ``systems``) would do at ``now``; changes nothing."""
    now = now or datetime.now(UTC)
    key = key if key is not None else load_key(state_directory(loaded.path))
    plans = []
    for rule in rules_of(loaded, systems):
        engine = engines[rule.system]
        with translate_errors(engine.url, rule.system):
            work = TableWork(loaded, rule, engines, key, now)
            due = work.due()
        cascade = work.plan.steps[1:] if work.cascades else ()
        after = rule.ref.table.retention.after if rule.ref.table.retention else None
        plans.append(
            RulePlan(
                rule.label,
                rule.system,
                rule.does,
                str(rule.period),
                f"{after.table}.{after.column}" if after and after.table else (after.column if after else ""),
                due.rows,
                due.oldest,
                due.held,
                tuple(step.label for step in cascade),
            )
        )
    return RetentionPlan(now, plans)


# --------------------------------------------------------------------------- results


@dataclass
class RuleSweep:
    """What a sweep did for one rule."""

    label: str
    does: str
    keeps_rows: bool
    due: int = 0  # due when the sweep began
    changed: dict[str, int] = field(default_factory=dict)  # table -> rows (the rule's own and cascaded)
    kept: dict[str, int] = field(default_factory=dict)  # cascaded rows a hold kept
    chunks: int = 0
    seconds: float = 0.0
    longest_transaction: float = 0.0

    @property
    def own(self) -> int:
        return self.changed.get(self.label, 0)

    @property
    def deleted(self) -> int:
        return 0 if self.keeps_rows else self.own

    @property
    def anonymised(self) -> int:
        return self.own if self.keeps_rows else 0

    @property
    def cascaded(self) -> dict[str, int]:
        return {label: rows for label, rows in self.changed.items() if label != self.label}

    def add(self, chunk: Chunk) -> None:
        self.chunks += 1
        self.longest_transaction = max(self.longest_transaction, chunk.seconds)
        for target, source in ((self.changed, chunk.changed), (self.kept, chunk.kept)):
            for label, rows in source.items():
                target[label] = target.get(label, 0) + rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.label,
            "does": self.does,
            "due": self.due,
            "changed": self.own,
            "cascaded": self.cascaded,
            "kept": dict(self.kept),
            "chunks": self.chunks,
            "seconds": round(self.seconds, 3),
            "longest_transaction": round(self.longest_transaction, 3),
        }


@dataclass
class SystemSweep:
    """How one system's sweep ended: ``done``, ``failed``, ``locked`` (another worker sweeps it),
    ``stopped`` (asked to stop between chunks) or ``interrupted`` (its lock was taken over)."""

    system: str
    status: str
    rules: list[RuleSweep] = field(default_factory=list)
    error: str | None = None
    sweep_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "status": self.status,
            "error": self.error,
            "sweep": self.sweep_id,
            "rules": [rule.to_dict() for rule in self.rules],
        }


@dataclass
class SweepResult:
    """What a sweep did: per system, the rows it deleted or erased, the rows kept, and any failure."""

    now: datetime
    systems: list[SystemSweep]
    seconds: float = 0.0

    @property
    def rules(self) -> list[RuleSweep]:
        return [rule for system in self.systems for rule in system.rules]

    @property
    def complete(self) -> bool:
        return all(system.status == "done" for system in self.systems)

    @property
    def changed(self) -> int:
        return sum(sum(rule.changed.values()) for rule in self.rules)

    @property
    def longest_transaction(self) -> float:
        return max((rule.longest_transaction for rule in self.rules), default=0.0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "now": self.now.isoformat(),
            "complete": self.complete,
            "changed": self.changed,
            "seconds": round(self.seconds, 3),
            "longest_transaction": round(self.longest_transaction, 3),
            "systems": [system.to_dict() for system in self.systems],
        }


# --------------------------------------------------------------------------- sweeping


def default_worker() -> str:
    """Who sweeps, as locks and sweep rows name it: host and process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def run_sweep(
    loaded: LoadedMap,
    engines: Mapping[str, Engine],
    store: Store | None = None,
    *,
    now: datetime | None = None,
    systems: Iterable[str] | None = None,
    chunk_rows: int | None = None,
    key: bytes | None = None,
    actor: str = "datavow",
    worker: str | None = None,
    progress: Progress | None = None,
    stop: Callable[[], bool] | None = None,
) -> SweepResult:
    """Sweep the map's systems (or ``systems``): every rule's due rows, chunk by chunk, and with a
    ``store`` datavow's own records too (system ``datavow``, see :mod:`datavow.retention.own`).

    Without a ``store`` nothing is locked, recorded or audited (a library caller's own business).
    A system that fails or is locked is reported in the result and the others go on.
    """
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    key = given_or_stored_key(store, state_directory(loaded.path), key)
    chosen = list(dict.fromkeys(systems)) if systems is not None else []
    by_system: dict[str, list[Rule]] = {}
    for rule in rules_of(loaded, [name for name in chosen if name != OWN_SYSTEM] if systems is not None else None):
        by_system.setdefault(rule.system, []).append(rule)
    sweeper = Sweeper.for_map(
        loaded, store, actor=actor, worker=worker, chunk_rows=chunk_rows, progress=progress, stop=stop
    )
    outcomes = []
    if store is not None and (systems is None or OWN_SYSTEM in chosen):
        outcomes.append(
            sweeper.sweep(OWN_SYSTEM, lambda: own_works(loaded, store, now), now, details={"map": str(loaded.path)})
        )
    for system, rules in by_system.items():

        def works(rules: list[Rule] = rules) -> list[Work]:
            return [TableWork(loaded, rule, engines, key, now) for rule in rules]

        where = redact(engines[system].url) if system in engines else None
        outcomes.append(sweeper.sweep(system, works, now, details={"map": str(loaded.path), "url": where}))
    return SweepResult(now, outcomes, time.perf_counter() - started)


class Sweeper:
    """Runs works chunk by chunk for one system at a time: lock, record, size chunks, audit."""

    def __init__(
        self,
        store: Store | None,
        *,
        actor: str,
        worker: str,
        chunk_rows: int | None,
        seconds: float,
        progress: Progress | None = None,
        stop: Callable[[], bool] | None = None,
        kind: str = "retention",
    ) -> None:
        self.store, self.actor, self.worker, self.kind = store, actor, worker, kind
        self.fixed, self.target = chunk_rows, seconds
        self.progress, self.stop = progress, stop

    @classmethod
    def for_map(
        cls,
        loaded: LoadedMap,
        store: Store | None,
        *,
        actor: str,
        worker: str | None = None,
        chunk_rows: int | None = None,
        progress: Progress | None = None,
        stop: Callable[[], bool] | None = None,
        kind: str = "retention",
    ) -> Sweeper:
        """A sweeper sized as the map's ``retention:`` says, unless ``chunk_rows`` fixes the size."""
        settings = loaded.model.retention
        return cls(
            store,
            actor=actor,
            worker=worker or default_worker(),
            chunk_rows=chunk_rows or settings.chunk_rows,
            seconds=settings.transaction_seconds,
            progress=progress,
            stop=stop,
            kind=kind,
        )

    def sweep(
        self, system: str, works: Callable[[], Sequence[Work]], now: datetime, details: Mapping[str, object]
    ) -> SystemSweep:
        store = self.store
        if store is not None and acquire(store, system, self.worker) is None:
            holder = holder_of(store, system)
            who = f"{holder.holder} since {holder.acquired_at:%Y-%m-%d %H:%M:%S} UTC" if holder else "another worker"
            return SystemSweep(system, "locked", error=f"{system} is being swept by {who}")
        outcome = SystemSweep(system, "done")
        lost = False
        try:
            if store is not None:
                outcome.sweep_id = self._begin(store, system, now)
            for work in works():
                rule = RuleSweep(work.label, work.does, getattr(getattr(work, "rule", None), "keeps_rows", False))
                outcome.rules.append(rule)
                if not self._run(system, work, rule, outcome):
                    outcome.status = "stopped"
                    outcome.error = "stopped between two chunks; the next sweep goes on from there"
                    break
        except LockLost as exc:
            lost = True
            outcome.status, outcome.error = "interrupted", str(exc)
        except (SQLAlchemyError, DatavowError) as exc:
            outcome.status, outcome.error = "failed", reason(exc)
        finally:
            if store is not None:
                self._end(store, outcome, now, details)
                if not lost:
                    release(store, system, self.worker)
        return outcome

    def _run(self, system: str, work: Work, rule: RuleSweep, outcome: SystemSweep) -> bool:
        started = time.perf_counter()
        # A work that walks its key needs no count first (counting ten million rows costs as much
        # as a third of deleting them): its bar shows the rows done, and "due" is what it found.
        counted = getattr(work, "counts_first", True)
        rule.due = work.due().rows if counted else 0
        if self.progress is not None:
            self.progress(system, work.label, 0, rule.due)
        rows = self.fixed or FIRST_CHUNK
        widest = getattr(work, "widest", MAX_CHUNK)
        done = 0
        while True:
            if self.stop is not None and self.stop():
                rule.seconds += time.perf_counter() - started
                return False
            chunk = work.chunk(rows)
            rule.add(chunk)
            done += chunk.selected
            if not counted:
                rule.due = done
            if self.progress is not None:
                self.progress(system, work.label, done, max(rule.due, done) if counted else 0)
            if self.store is not None and outcome.sweep_id is not None:
                self._heartbeat(self.store, outcome)
            finished = not chunk.more if chunk.more is not None else chunk.selected < rows or not chunk.changed
            if finished:
                break
            rows = self._next(rows, chunk.seconds, widest)
        rule.seconds += time.perf_counter() - started
        return True

    def _next(self, rows: int, seconds: float, widest: int) -> int:
        """The next chunk's size: fixed, or scaled towards the target time (at most doubling)."""
        if self.fixed:
            return self.fixed
        scaled = rows * self.target / max(seconds, 1e-3)
        return int(max(MIN_CHUNK, min(widest, rows * 2, max(rows // 4, scaled))))

    # -- the state store

    def _begin(self, store: Store, system: str, now: datetime) -> int:
        """Mark sweeps of ``system`` that never finished as interrupted, then record this one."""
        moment = datetime.now(UTC)
        with store.session() as session:
            stale = session.query(SweepRow).filter(SweepRow.system == system, SweepRow.status == "running").all()
            for row in stale:
                row.status, row.finished_at = "interrupted", moment
                seen = f"{row.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC"
                row.error = f"never finished: {row.worker} stopped before the end (last seen {seen})"
                append(
                    session,
                    self.actor,
                    "retention.sweep_interrupted",
                    "system",
                    system,
                    row.error,
                    {"sweep": row.id, "worker": row.worker, "rules": row.counts},
                )
            row = SweepRow(
                system=system,
                kind=self.kind,
                status="running",
                worker=self.worker,
                started_at=moment,
                heartbeat_at=moment,
                counts={},
            )
            session.add(row)
            session.flush()
            sweep_id = row.id
        renew(store, system, self.worker, sweep_id=sweep_id)
        return sweep_id

    def _heartbeat(self, store: Store, outcome: SystemSweep) -> None:
        renew(store, outcome.system, self.worker)
        with store.session() as session:
            row = session.get(SweepRow, outcome.sweep_id)
            if row is not None:
                row.heartbeat_at = datetime.now(UTC)
                row.counts = {rule.label: rule.to_dict() for rule in outcome.rules}

    def _end(self, store: Store, outcome: SystemSweep, now: datetime, details: Mapping[str, object]) -> None:
        if outcome.sweep_id is None:
            return
        counts = {rule.label: rule.to_dict() for rule in outcome.rules}
        action = {"done": "retention.swept", "failed": "retention.sweep_failed"}.get(
            outcome.status, "retention.sweep_interrupted"
        )
        with store.session() as session:
            row = session.get(SweepRow, outcome.sweep_id)
            if row is not None:
                row.status, row.error, row.counts = outcome.status, outcome.error, counts
                row.finished_at = row.heartbeat_at = datetime.now(UTC)
            append(
                session,
                self.actor,
                action,
                "system",
                outcome.system,
                outcome.error,
                {
                    **details,
                    "sweep": outcome.sweep_id,
                    "worker": self.worker,
                    "now": now.isoformat(),
                    "changed": sum(sum(rule.changed.values()) for rule in outcome.rules),
                    "rules": counts,
                },
            )
