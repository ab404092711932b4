"""Registering, analysing and notifying a breach and exporting the register with the map's defaults,
one call each: times as text read in the zone given or the map's, the display zone taken from what
was written, awareness now when not given, the controllers' hours and the documents' language from
the map; a time that cannot be read names its input, and the CLI its option. Real SQLite databases
and state store."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from datavow.audit import list_entries
from datavow.cli import main
from datavow.connectors.databases import Databases
from datavow.datamap import LoadedMap, load_map
from datavow.incidents import (
    IncidentError,
    analyse_breach,
    classify_incident,
    export_breach_register,
    get_incident,
    notify_breach,
    register_breach,
)
from datavow.store import Store, open_store
from tests import test_requests_lifecycle as lifecycle

shop = lifecycle.shop


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(f"sqlite:///{tmp_path / 'state.db'}") as opened:
        yield opened


def _with_settings(shop: LoadedMap, settings: str) -> LoadedMap:
    text = shop.path.read_text()
    shop.path.write_text(text.replace("identities:\n", f"incidents: {settings}\nidentities:\n", 1))
    return load_map(shop.path)


def test_a_time_with_its_zone_sets_the_display_zone_and_the_clock(store: Store, shop: LoadedMap) -> None:
    done = register_breach(store, shop, "Laptop", "Stolen.", actor="dpo", aware="2026-03-20 10:00 Europe/Amsterdam")
    assert done.aware_at == datetime(2026, 3, 20, 9, 0, tzinfo=UTC) and done.zone == "Europe/Amsterdam"
    assert done.controller_hours == 24  # the map says nothing: the default

    now = register_breach(store, shop, "Mail", "Sent to the wrong list.", actor="dpo")
    assert abs(now.aware_at - datetime.now(UTC)) < timedelta(minutes=1) and now.zone == "UTC"

    with pytest.raises(IncidentError, match="has no time zone"):
        register_breach(store, shop, "Logs", "Exposed.", actor="dpo", aware="2026-03-20 10:00")


def test_the_maps_zone_and_controller_hours_are_the_defaults(store: Store, shop: LoadedMap) -> None:
    configured = _with_settings(shop, "{zone: Europe/Brussels, controller_hours: 12}")
    done = register_breach(
        store, configured, "Logs", "Exposed.", actor="dpo", aware="2026-03-20 10:00", occurred_from="2026-03-19 08:00"
    )
    assert done.zone == "Europe/Brussels" and done.controller_hours == 12
    assert done.aware_at == datetime(2026, 3, 20, 9, 0, tzinfo=UTC)
    assert done.occurred_from == datetime(2026, 3, 19, 7, 0, tzinfo=UTC)
    given = register_breach(store, configured, "Logs", "Again.", actor="dpo", zone="UTC", controller_hours=6)
    assert given.zone == "UTC" and given.controller_hours == 6


def test_analysing_counts_the_tables_named(store: Store, shop: LoadedMap) -> None:
    with sqlite3.connect(shop.directory / "shop.db") as db:
        db.executemany("INSERT INTO customers VALUES (?, ?, 0)", [(1, "a@example.com"), (2, "b@example.com")])
    incident = register_breach(store, shop, "Dump", "Customers exposed.", actor="dpo", aware="2026-03-20T10:00Z")
    done = analyse_breach(store, shop, incident.id, actor="dpo", tables=["shop.customers"])
    assert done.stage == "analysed" and (done.impact or {})["records"] == 2
    with pytest.raises(IncidentError, match="not a table of the map"):
        analyse_breach(store, shop, incident.id, actor="dpo", tables=["shop.nothing"])


def test_the_analysis_counts_on_the_applications_kept_engine(store: Store, shop: LoadedMap) -> None:
    with sqlite3.connect(shop.directory / "shop.db") as db:
        db.executemany("INSERT INTO customers VALUES (?, ?, 0)", [(1, "a@example.com"), (2, "b@example.com")])
    incident = register_breach(store, shop, "Dump", "Customers exposed.", actor="dpo", aware="2026-03-20T10:00Z")
    with Databases() as databases:
        kept = databases.engines(shop, ["shop"])["shop"]
        checkouts: list[object] = []
        sa.event.listen(kept, "checkout", lambda *_: checkouts.append(1))
        done = analyse_breach(store, shop, incident.id, actor="dpo", tables=["shop.customers"], databases=databases)
        assert (done.impact or {})["records"] == 2
        assert checkouts, "the count ran on another engine than the application's"
        assert databases.engines(shop, ["shop"])["shop"] is kept


def test_a_notice_is_given_at_a_time_read_in_the_maps_zone(store: Store, shop: LoadedMap, tmp_path: Path) -> None:
    configured = _with_settings(shop, "{zone: Europe/Brussels}")
    incident = register_breach(store, configured, "Laptop", "Stolen.", actor="dpo", aware="2026-03-20 10:00")
    analyse_breach(store, configured, incident.id, actor="dpo", tables=["shop.customers"])
    classify_incident(
        store, incident.id, risk="risk", reasoning="r", kinds=["confidentiality"], consequences="c", measures="m",
        actor="dpo",
    )  # fmt: skip
    written = notify_breach(
        store,
        configured,
        incident.id,
        "authority",
        actor="dpo",
        given="2026-03-21 10:00",
        out_dir=tmp_path / "notices",
        draft=True,
    )
    assert [document.audience for document in written] == ["authority"]
    assert all(Path(path).is_file() for path in written[0].files.values())
    assert written[0].files["pdf"].parent == tmp_path / "notices"

    with pytest.raises(IncidentError, match="is not a time") as refused:
        notify_breach(store, configured, incident.id, "authority", actor="dpo", given="tomorrow", draft=True)
    assert refused.value.field == "given_at"
    given = notify_breach(store, configured, incident.id, "authority", actor="dpo", given="2026-03-21 10:00")
    assert given and get_incident(store, incident.id).notices[0].given_at == datetime(2026, 3, 21, 9, 0, tzinfo=UTC)


def test_the_register_is_exported_for_the_maps_organisation(store: Store, shop: LoadedMap, tmp_path: Path) -> None:
    register_breach(store, shop, "Laptop", "Stolen.", actor="dpo", aware="2026-03-20T10:00Z")
    written = export_breach_register(store, shop, actor="dpo", csv_path=tmp_path / "register.csv")
    assert written == [tmp_path / "register.csv"] and "Laptop" in written[0].read_text()
    (entry,) = list_entries(store, action="incident.register_exported")
    assert entry.details["language"] == shop.model.documents.language


@pytest.mark.parametrize(
    ("field", "value", "flag"),
    [("aware_at", "yesterday", "--aware"), ("occurred_from", "2026-13-01", "--occurred-from")],
)
def test_a_time_that_cannot_be_read_names_its_input(
    store: Store, shop: LoadedMap, field: str, value: str, flag: str
) -> None:
    aware, occurred_from = (value, None) if field == "aware_at" else (None, value)
    with pytest.raises(IncidentError) as refused:
        register_breach(store, shop, "Laptop", "Stolen.", actor="dpo", aware=aware, occurred_from=occurred_from)
    assert refused.value.field == field

    result = CliRunner().invoke(
        main,
        ["incident", "open", "Laptop", "--description", "Stolen.", flag, value, "--map", str(shop.path)],
        env={"DATAVOW_STATE_URL": f"sqlite:///{shop.directory / 'state.db'}"},
    )
    assert result.exit_code == 11, result.output
    assert "is not a time" in result.stderr and f"({flag})" in result.stderr, result.stderr
