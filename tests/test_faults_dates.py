"""Periods counted from TEXT columns of ISO dates (common on SQLite): a hold and a retention rule work on
them, on SQLite, PostgreSQL and MariaDB; a value that is not a date is a clear error naming the column
and the value's form (a Python TypeError left the request in progress before)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from datavow.changes.retention_rules import rules_of
from datavow.check import check_map
from datavow.datamap.load import LoadedMap
from datavow.errors import PlanError, RequestError
from datavow.retention.sweep import run_sweep
from datavow.retention.work import TableWork
from tests.faults import BACKENDS, KEY, NOW, database_url, erase_person, ids, open_map

ALICE = "alice@example.com"

TABLES = """\
      customers:
        subject: customer
        identity: {{email: email}}
        erase: anonymize
        fields:
          id: ~
          email: {{category: user.contact.email, erase: hash}}
      invoices:
        subject: customer
        references: {{customer_id: customers.id}}
        erase: delete
        hold: {{purpose: invoicing, keep: 7 years, after: issued_on}}
        fields: {{id: ~, customer_id: ~, issued_on: ~}}
      visits:
        subject: customer
        references: {{customer_id: customers.id}}
        erase: delete
        retention: {{keep: 90 days, after: seen_at, action: delete}}
        fields: {{id: ~, customer_id: ~, seen_at: ~}}
"""

METADATA = sa.MetaData()
CUSTOMERS = sa.Table(
    "customers",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("email", sa.String(254), nullable=False),
)
INVOICES = sa.Table(
    "invoices",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.id"), nullable=False),
    sa.Column("issued_on", sa.String(32)),  # dates as text
)
VISITS = sa.Table(
    "visits",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.id"), nullable=False),
    sa.Column("seen_at", sa.String(32)),
)


def _shop(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, *, odd: str | None = None
) -> tuple[LoadedMap, Engine]:
    url = database_url(backend, tmp_path, request)
    setup = sa.create_engine(url)
    METADATA.create_all(setup)
    with setup.begin() as conn:
        conn.execute(CUSTOMERS.insert(), [{"id": 1, "email": ALICE}, {"id": 2, "email": "bob@example.com"}])
        conn.execute(
            INVOICES.insert(),
            [
                {"id": 100, "customer_id": 1, "issued_on": "2025-01-15"},  # held until 2032
                {"id": 101, "customer_id": 1, "issued_on": "2015-06-01T09:30:00"},  # expired in 2022
                {"id": 102, "customer_id": 1, "issued_on": odd or "2024-12-31 23:59:59"},  # held
                {"id": 200, "customer_id": 2, "issued_on": "2015-06-01"},  # Bob's: not asked about
            ],
        )
        conn.execute(
            VISITS.insert(),
            [
                {"id": 1, "customer_id": 2, "seen_at": "2025-01-01 10:00:00"},  # past 90 days
                {"id": 2, "customer_id": 2, "seen_at": "2026-02-20T08:00:00"},  # recent
                {"id": 3, "customer_id": 2, "seen_at": None},  # not started
            ],
        )
    setup.dispose()
    return open_map(tmp_path, TABLES, url, request)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_hold_counted_from_a_text_date(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    loaded, engine = _shop(backend, tmp_path, request)
    result = erase_person(loaded, engine, ALICE)
    assert result.complete, result.systems
    step = result.step("shop.invoices")
    assert (step.kept, step.deleted) == (2, 1)
    assert step.held_until == datetime(2032, 1, 15)  # the latest held moment plus seven years
    assert ids(engine, INVOICES) == [100, 102, 200]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_retention_rule_counted_from_a_text_date(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    loaded, engine = _shop(backend, tmp_path, request)
    result = run_sweep(loaded, {"shop": engine}, now=NOW, key=KEY, systems=["shop"])
    assert result.complete, result.systems
    assert ids(engine, VISITS) == [2, 3]


def test_a_text_value_that_is_not_a_date_is_named(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    loaded, engine = _shop("sqlite", tmp_path, request, odd="31/12/2024")
    with pytest.raises(RequestError, match=r"shop\.invoices\.issued_on .*'99/99/9999'") as caught:
        erase_person(loaded, engine, ALICE)
    assert "31/12/2024" not in str(caught.value)  # the form, not the value
    assert ids(engine, INVOICES) == [100, 101, 102, 200]  # nothing changed


def test_retention_refuses_and_check_reports_a_text_value_that_is_not_a_date(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    loaded, engine = _shop("sqlite", tmp_path, request)
    with engine.begin() as conn:
        conn.execute(VISITS.insert(), [{"id": 4, "customer_id": 2, "seen_at": "yesterday"}])
    result = run_sweep(loaded, {"shop": engine}, now=NOW, key=KEY, systems=["shop"])
    assert result.systems[0].status == "failed" and "form 'a'" in (result.systems[0].error or "")
    assert ids(engine, VISITS) == [1, 2, 3, 4]
    found = [f for f in check_map(loaded).findings if f.rule == "drift-retention-unfit"]
    assert len(found) == 1 and "shop.visits.seen_at" in found[0].message and "ISO date" in found[0].message
    with pytest.raises(PlanError, match="ISO date"):
        TableWork(loaded, rules_of(loaded)[0], {"shop": engine}, KEY, NOW)
