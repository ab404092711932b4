"""Retention faults found on public schemas: key ranges that fit a SMALLINT key, and an anonymise
rule whose cascade deletes nothing."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from datavow.retention.sweep import retention_plan, run_sweep
from tests.faults import BACKENDS, KEY, NOW, database_url, open_map

SMALL = """\
      staff_logins:
        subject: customer
        retention: {{keep: 90 days, after: at, action: delete}}
        fields: {{id: ~, at: ~}}
"""
LOGINS = sa.Table(
    "staff_logins",
    sa.MetaData(),
    sa.Column("id", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("at", sa.DateTime, nullable=False),
)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_smallint_key_is_swept_with_ranges_that_fit(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = database_url(backend, tmp_path, request)
    setup = sa.create_engine(url)
    LOGINS.metadata.create_all(setup)
    with setup.begin() as conn:
        conn.execute(
            LOGINS.insert(),
            [
                {"id": 1, "at": datetime(2025, 1, 1)},
                {"id": 2, "at": datetime(2026, 2, 27)},
                {"id": 32000, "at": datetime(2024, 5, 5)},
            ],
        )
    setup.dispose()
    loaded, engine = open_map(tmp_path, SMALL, url, request)
    plan = retention_plan(loaded, {"shop": engine}, now=NOW, key=KEY)
    assert plan.rules[0].due == 2
    result = run_sweep(loaded, {"shop": engine}, now=NOW, key=KEY, systems=["shop"], chunk_rows=20_000)
    assert result.complete, result.systems
    with engine.connect() as conn:
        assert conn.execute(sa.select(LOGINS.c.id)).scalars().all() == [2]


ANONYMISE = """\
      customers:
        subject: customer
        identity: {{email: email}}
        erase: anonymize
        retention: {{keep: 2 years, after: last_seen}}
        fields:
          id: ~
          email: {{category: user.contact.email, erase: hash}}
          last_seen: ~
      rentals:
        subject: customer
        references: {{customer_id: customers.id}}
        erase: delete
        fields: {{id: ~, customer_id: ~, title: ~}}
"""
RENTAL_TABLES = sa.MetaData()
CUSTOMERS = sa.Table(
    "customers",
    RENTAL_TABLES,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("email", sa.String(254), nullable=False),
    sa.Column("last_seen", sa.DateTime, nullable=False),
)
RENTALS = sa.Table(
    "rentals",
    RENTAL_TABLES,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.id"), nullable=False),
    sa.Column("title", sa.String(80), nullable=False),
)


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_anonymise_rule_deletes_nothing_that_references_its_rows(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = database_url(backend, tmp_path, request)
    setup = sa.create_engine(url)
    RENTAL_TABLES.create_all(setup)
    with setup.begin() as conn:
        conn.execute(
            CUSTOMERS.insert(),
            [
                {"id": 1, "email": "gone@example.com", "last_seen": datetime(2020, 1, 1)},  # due
                {"id": 2, "email": "here@example.com", "last_seen": datetime(2026, 1, 1)},
            ],
        )
        conn.execute(
            RENTALS.insert(),
            [{"id": 10, "customer_id": 1, "title": "Alien"}, {"id": 20, "customer_id": 2, "title": "Heat"}],
        )
    setup.dispose()
    loaded, engine = open_map(tmp_path, ANONYMISE, url, request)
    assert retention_plan(loaded, {"shop": engine}, now=NOW, key=KEY).rules[0].cascade == ()
    result = run_sweep(loaded, {"shop": engine}, now=NOW, key=KEY, systems=["shop"])
    assert result.complete, result.systems
    rule = result.rules[0]
    assert (rule.anonymised, rule.cascaded) == (1, {})
    with engine.connect() as conn:
        emails = conn.execute(sa.select(CUSTOMERS.c.email).order_by(CUSTOMERS.c.id)).scalars().all()
        assert emails[0] != "gone@example.com" and emails[1] == "here@example.com"
        assert conn.execute(sa.select(RENTALS.c.id).order_by(RENTALS.c.id)).scalars().all() == [10, 20]
