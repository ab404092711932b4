"""Retention as the front ends call it, one call each: plan it, sweep now, and the worker's loop,
each opening the databases it needs from the application's ``Databases``. Real SQLite databases (the
helpdesk of ``test_retention_sweeps``) and a SQLite state store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from datavow import load_map
from datavow.audit.log import list_entries
from datavow.connectors.databases import Databases
from datavow.datamap import LoadedMap
from datavow.errors import PlanError
from datavow.retention import SystemSweep, plan_retention, run_worker, sweep_report, sweep_retention
from datavow.retention.schedule import Stop
from datavow.store import Store, open_store
from tests.test_retention_sweeps import build, facts

KEY = bytes(32)


@pytest.fixture
def helpdesk(tmp_path: Path) -> tuple[LoadedMap, str]:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    return load_map(build(tmp_path, url, tickets=30, events=20, chunk=7)), url


@pytest.fixture
def databases() -> Iterator[Databases]:
    with Databases() as opened:
        yield opened


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(f"sqlite:///{tmp_path / 'state.db'}") as opened:
        yield opened


def test_the_plan_counts_what_is_due_and_changes_nothing(helpdesk: tuple[LoadedMap, str], databases: Databases) -> None:
    loaded, url = helpdesk
    before = facts(url)
    plan = plan_retention(loaded, databases, key=KEY)
    due = {rule.label: rule.due for rule in plan.rules}
    assert due == {"app.tickets": before["old tickets"], "app.events": before["old events"]}
    assert facts(url) == before
    assert plan_retention(loaded, databases, systems=["datavow"], key=KEY).rules == []  # datavow's own: no rows here
    with pytest.raises(PlanError, match="no system 'nope'"):
        plan_retention(loaded, databases, systems=["nope"], key=KEY)


def test_a_sweep_deletes_what_is_due_and_is_recorded(
    helpdesk: tuple[LoadedMap, str], databases: Databases, store: Store
) -> None:
    loaded, url = helpdesk
    before = facts(url)
    result = sweep_retention(loaded, databases, store, key=KEY, actor="ops:ann", systems=["app"])
    assert result.complete and [outcome.system for outcome in result.systems] == ["app"]
    assert facts(url)["old tickets"] == 0 and facts(url)["old events"] == 0
    assert facts(url)["recent events"] == before["recent events"]
    (entry,) = list_entries(store, action="retention.swept")
    assert entry.actor == "ops:ann"
    assert [sweep.system for sweep in sweep_report(loaded, store).sweeps] == ["app"]


def test_the_worker_once_sweeps_every_system_that_is_due(
    helpdesk: tuple[LoadedMap, str], databases: Databases, store: Store
) -> None:
    loaded, url = helpdesk
    seen: list[SystemSweep] = []
    ran = run_worker(
        loaded, databases, store, key=KEY, actor="ops:worker", worker="w1", stop=Stop(), report=seen.append, once=True
    )
    assert ran == len(seen) and {outcome.system for outcome in seen} == {"app", "datavow"}
    assert all(outcome.status == "done" for outcome in seen)
    assert facts(url)["old tickets"] == 0
