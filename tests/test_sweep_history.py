"""The sweeps recorded in the state store, read through the library (``list_sweeps``,
``show_sweep``, ``sweep_report``) as ``datavow retention sweeps`` shows them; on SQLite and
PostgreSQL state stores."""

from __future__ import annotations

import pytest

from datavow.datamap import LoadedMap
from datavow.errors import StateError
from datavow.retention import list_sweeps, run_sweep, show_sweep, sweep_report
from datavow.store import Store
from tests import test_requests_lifecycle as lifecycle

shop = lifecycle.shop
any_store = lifecycle.any_store


def test_sweeps_are_read_from_the_store_as_records_with_the_schedule(any_store: Store, shop: LoadedMap) -> None:
    assert list_sweeps(any_store) == []
    with pytest.raises(StateError, match="no sweep #7"):
        show_sweep(any_store, 7)

    run_sweep(shop, {}, any_store, systems=["datavow"])
    (sweep,) = list_sweeps(any_store)
    assert sweep.system == "datavow" and sweep.status == "done" and sweep.finished_at is not None
    assert show_sweep(any_store, sweep.id) == sweep

    report = sweep_report(shop, any_store, limit=5)
    assert report.sweeps == (sweep,)
    data = report.to_dict()
    assert data["sweeps"][0]["id"] == sweep.id and "datavow" in [turn["system"] for turn in data["schedule"]]
