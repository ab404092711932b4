"""Retention as the front ends ask for it, one call each: plan it, sweep now, or keep sweeping on
the schedule. Each opens the databases the sweep needs (:func:`swept_systems`) from ``databases``,
so that a command, an endpoint and a worker choose them by the same rule."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from datavow.connectors.databases import Databases
from datavow.datamap import LoadedMap
from datavow.retention.anchoring import AnchorRun
from datavow.retention.offboarding import DueRun
from datavow.retention.own import OWN_SYSTEM
from datavow.retention.schedule import Stop, work
from datavow.retention.sweep import Progress, RetentionPlan, SweepResult, SystemSweep, retention_plan, run_sweep
from datavow.retention.systems import swept_systems
from datavow.store import Store


def plan_retention(
    loaded: LoadedMap,
    databases: Databases,
    *,
    systems: Iterable[str] = (),
    now: datetime | None = None,
    key: bytes | None = None,
) -> RetentionPlan:
    """What each retention rule (of ``systems``, when given) would do at ``now``: rows due, the
    oldest, rows a hold keeps, and the action. Changes nothing. Datavow's own records (system
    ``datavow``) have no rows to count in a database of the map and are left out of the plan."""
    chosen = list(systems)
    engines = databases.engines(loaded, swept_systems(loaded, chosen))
    of_map = [name for name in chosen if name != OWN_SYSTEM]
    return retention_plan(loaded, engines, now=now, systems=of_map if chosen else None, key=key)


def sweep_retention(
    loaded: LoadedMap,
    databases: Databases,
    store: Store,
    *,
    key: bytes,
    actor: str,
    systems: Iterable[str] = (),
    chunk_rows: int | None = None,
    progress: Progress | None = None,
    stop: Callable[[], bool] | None = None,
) -> SweepResult:
    """Sweep now (:func:`run_sweep`): every due row of the map's systems (or of ``systems``) and of
    datavow's own records, in short transactions, one system at a time, locked and audited."""
    chosen = list(systems)
    engines = databases.engines(loaded, swept_systems(loaded, chosen))
    return run_sweep(
        loaded,
        engines,
        store,
        systems=chosen or None,
        chunk_rows=chunk_rows,
        key=key,
        actor=actor,
        progress=progress,
        stop=stop,
    )


def run_worker(
    loaded: LoadedMap,
    databases: Databases,
    store: Store,
    *,
    key: bytes,
    actor: str,
    worker: str,
    stop: Stop,
    report: Callable[[SystemSweep], None],
    report_offboarding: Callable[[DueRun], None] | None = None,
    once: bool = False,
    poll: float = 60.0,
    report_anchor: Callable[[AnchorRun], None] | None = None,
) -> int:
    """Sweep each system when the map's schedule says, offboard the former controllers whose time
    has come, and anchor the audit log's head when the map's ``retention.anchor`` says
    (:func:`work`), until ``stop``; ``once``: what is due now, then return. Opens the systems with a
    retention rule and the tenant-scoped ones. Returns how many runs there were."""
    engines = databases.engines(loaded, swept_systems(loaded, tenants=True))
    return work(
        loaded,
        engines,
        store,
        once=once,
        poll=poll,
        actor=actor,
        worker=worker,
        stop=stop,
        key=key,
        report=report,
        report_offboarding=report_offboarding,
        report_anchor=report_anchor,
    )


__all__ = ["plan_retention", "run_worker", "sweep_retention"]
