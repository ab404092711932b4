"""Checking a map and recording the check, one call: the state store is asked for only once the map
has loaded, so a map that does not load leaves no store behind; the report carries the audit entry.
And each lint rule as JSON. Real SQLite databases and state store (the shop of the lifecycle tests)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from datavow.audit.log import list_entries
from datavow.check import check_and_record
from datavow.datamap import LoadedMap
from datavow.errors import MapError
from datavow.lint import all_rules
from datavow.store import Store, open_store
from tests import test_requests_lifecycle as lifecycle

shop = lifecycle.shop


def _opener(url: str, opened: list[Store]) -> Callable[[], Store]:
    def store() -> Store:
        opened.append(open_store(url))
        return opened[-1]

    return store


def test_a_check_is_recorded_with_its_outcome(shop: LoadedMap, tmp_path: Path) -> None:
    opened: list[Store] = []
    report = check_and_record(shop.path, _opener(f"sqlite:///{tmp_path / 'state.db'}", opened), "ci:main")
    (store,) = opened
    with store:
        (entry,) = list_entries(store, action="map.checked")
    assert report.recorded == entry and entry.actor == "ci:main"
    assert entry.details["ok"] is report.ok and entry.details["fingerprint"] == report.fingerprint

    unrecorded = check_and_record(shop.path, drift=False)
    assert unrecorded.recorded is None and unrecorded.drift_systems == []


def test_a_map_that_does_not_load_opens_no_store(tmp_path: Path) -> None:
    broken = tmp_path / "datavow.yaml"
    broken.write_text("organization: {name: Shop}\nsurprise: 1\n")
    opened: list[Store] = []
    with pytest.raises(MapError):
        check_and_record(broken, _opener(f"sqlite:///{tmp_path / 'state.db'}", opened), "ci:main")
    assert opened == [] and not (tmp_path / "state.db").exists()


def test_each_rule_says_what_it_catches_and_how_to_fix_it() -> None:
    found = {rule["id"]: rule for rule in (r.to_dict() for r in all_rules())}
    assert len(found) == len(all_rules()) and all(rule["summary"] and rule["hint"] for rule in found.values())
    assert {rule["severity"] for rule in found.values()} <= {"error", "warning", "info"}
