"""When each system is next due for a sweep, from the map's ``retention`` schedule and the sweeps
the state store recorded; and the worker loop that runs them.

A system is due when it was never swept, or when its interval has passed since its last finished
sweep began (a failed one counts: the next try waits for the next turn rather than hammering a
database that refuses). A sweep still running, or one a crash left behind, does not count: a
worker that finds the system due tries it, finds it locked while the other sweep holds its lease,
and takes over once the lease has run out. With ``at: "02:30"`` a daily (or longer) sweep runs at
that time of day (UTC): the first 02:30 at least the interval, less half a day, after the last.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import FrameType

from sqlalchemy.engine import Engine

from datavow.changes.retention_rules import rules_of
from datavow.datamap.load import LoadedMap
from datavow.datamap.model import Interval
from datavow.retention.anchoring import AnchorRun, anchor_if_due
from datavow.retention.offboarding import DueRun, run_due_offboardings
from datavow.retention.own import OWN_SYSTEM
from datavow.retention.sweep import Progress, SystemSweep, run_sweep
from datavow.store import Store
from datavow.store.models import SweepRow


@dataclass(frozen=True)
class Turn:
    """A system's place in the schedule."""

    system: str
    every: Interval
    at: str | None
    last: datetime | None  # when its last sweep began
    next: datetime  # when it is due (the past: now)

    def due(self, now: datetime) -> bool:
        return self.next <= now


def next_after(last: datetime | None, every: Interval, at: str | None, now: datetime) -> datetime:
    """When a system last swept at ``last`` is due next."""
    if last is None:
        return now
    if at is None or every.seconds < 86400:
        return last + timedelta(seconds=every.seconds)
    hours, minutes = (int(part) for part in at.split(":"))
    earliest = last + timedelta(seconds=every.seconds) - timedelta(hours=12)
    moment = earliest.astimezone(UTC).replace(hour=hours, minute=minutes, second=0, microsecond=0)
    return moment if moment >= earliest else moment + timedelta(days=1)


def schedule(loaded: LoadedMap, store: Store, *, now: datetime | None = None) -> list[Turn]:
    """Every system with a rule, and datavow's own records, with when each is next due."""
    now = now or datetime.now(UTC)
    settings = loaded.model.retention
    systems = [OWN_SYSTEM, *dict.fromkeys(rule.system for rule in rules_of(loaded))]
    with store.session(write=False) as session:
        last: dict[str, datetime] = {}
        rows = session.query(SweepRow.system, SweepRow.started_at).filter(
            SweepRow.system.in_(systems), SweepRow.status != "running", SweepRow.kind == "retention"
        )
        for system, started in rows:
            if system not in last or started > last[system]:
                last[system] = started
    turns = []
    for system in systems:
        every, at = settings.schedule(system)
        turns.append(Turn(system, every, at, last.get(system), next_after(last.get(system), every, at, now)))
    return turns


class Stop:
    """Set by SIGTERM or SIGINT: the worker finishes its chunk, releases its lock and exits."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def __call__(self) -> bool:
        return self.event.is_set()

    def sleep(self, seconds: float) -> None:
        self.event.wait(max(0.0, seconds))

    @contextmanager
    def on_signals(self) -> Iterator[None]:
        def handler(signum: int, frame: FrameType | None) -> None:
            self.event.set()

        previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)


def work(
    loaded: LoadedMap,
    engines: Mapping[str, Engine],
    store: Store,
    *,
    once: bool,
    poll: float,
    actor: str,
    worker: str,
    stop: Stop,
    key: bytes,
    report: Callable[[SystemSweep], None],
    report_offboarding: Callable[[DueRun], None] | None = None,
    progress: Progress | None = None,
    report_anchor: Callable[[AnchorRun], None] | None = None,
) -> int:
    """The worker loop: sweep each system when it is due, one at a time, then delete the former
    controllers whose offboarding is due (:func:`run_due_offboardings`), then anchor the audit
    log's head when the map's ``retention.anchor`` says (:func:`anchor_if_due`); ``once``: what is
    due now, then return. Returns how many sweeps and offboardings ran."""
    ran = 0
    while not stop():
        now = datetime.now(UTC)
        turns = schedule(loaded, store, now=now)
        for turn in turns:
            if stop():
                break
            if turn.due(now):
                result = run_sweep(
                    loaded,
                    engines,
                    store,
                    systems=[turn.system],
                    key=key,
                    actor=actor,
                    worker=worker,
                    progress=progress,
                    stop=stop,
                )
                for outcome in result.systems:
                    report(outcome)
                    ran += outcome.status != "locked"
        if not stop():
            now = datetime.now(UTC)
            for run in run_due_offboardings(
                loaded, engines, store, now=now, actor=actor, worker=worker, key=key, progress=progress, stop=stop
            ):
                if report_offboarding is not None:
                    report_offboarding(run)
                ran += run.status not in ("locked", "skipped")
        if not stop():
            anchored = anchor_if_due(loaded, store, key=key, actor=actor)
            if anchored is not None and report_anchor is not None:
                report_anchor(anchored)
        if once:
            break
        # What is still due now is locked by another worker (or failed): look again in ``poll``.
        later = [turn.next for turn in schedule(loaded, store) if not turn.due(datetime.now(UTC))]
        wait = min([poll, *((moment - datetime.now(UTC)).total_seconds() for moment in later)])
        stop.sleep(max(wait, 1.0))
    return ran
