"""Erasure plans around held rows: the customer of an invoice the law keeps is not deleted (that left
the invoice orphaned on SQLite and rolled the whole system back on PostgreSQL and MariaDB), and
`datavow check` names the conflict with its fix before any request meets it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from datavow.check import check_map
from datavow.datamap.load import LoadedMap
from tests.faults import BACKENDS, database_url, erase_person, open_map

ALICE = "alice@example.com"

TABLES = """\
      customers:
        subject: customer
        identity: {{email: email}}
        erase: delete
        fields:
          id: ~
          email: {{category: user.contact.email, erase: hash}}
          name: {{category: user.name, erase: {{strategy: fixed, value: "[erased]"}}}}
      orders:
        subject: customer
        references: {{customer_id: customers.id}}
        erase: delete
        fields: {{id: ~, customer_id: ~}}
      invoices:
        subject: customer
        references: {{customer_id: customers.id}}
        erase: delete
        hold: {{purpose: invoicing, keep: 7 years, after: issued_on}}
        fields: {{id: ~, customer_id: ~, issued_on: ~}}
"""

METADATA = sa.MetaData()
CUSTOMERS = sa.Table(
    "customers",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("email", sa.String(254), nullable=False),
    sa.Column("name", sa.String(80), nullable=False),
)
ORDERS = sa.Table(
    "orders",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.id"), nullable=False),
)
INVOICES = sa.Table(
    "invoices",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.id"), nullable=False),
    sa.Column("issued_on", sa.Date, nullable=False),
)


def _shop(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> tuple[LoadedMap, Engine]:
    url = database_url(backend, tmp_path, request)
    setup = sa.create_engine(url)
    METADATA.create_all(setup)
    with setup.begin() as conn:
        conn.execute(
            CUSTOMERS.insert(),
            [
                {"id": 1, "email": ALICE, "name": "Alice"},  # a held invoice
                {"id": 2, "email": ALICE, "name": "Alice"},  # only an expired invoice
                {"id": 3, "email": "bob@example.com", "name": "Bob"},
            ],
        )
        conn.execute(
            ORDERS.insert(), [{"id": 10, "customer_id": 1}, {"id": 11, "customer_id": 2}, {"id": 30, "customer_id": 3}]
        )
        conn.execute(
            INVOICES.insert(),
            [
                {"id": 100, "customer_id": 1, "issued_on": date(2025, 1, 15)},
                {"id": 101, "customer_id": 2, "issued_on": date(2015, 6, 1)},
                {"id": 300, "customer_id": 3, "issued_on": date(2025, 1, 15)},
            ],
        )
    setup.dispose()
    return open_map(tmp_path, TABLES, url, request)


def _rows(engine: Engine, table: sa.Table) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.select(table).order_by(table.c.id))]


@pytest.mark.parametrize("backend", BACKENDS)
def test_erasure_keeps_the_customer_of_a_held_invoice(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    loaded, engine = _shop(backend, tmp_path, request)
    result = erase_person(loaded, engine, ALICE)
    assert result.complete, result.systems
    customers = _rows(engine, CUSTOMERS)
    # Alice's first row stays for her held invoice, its declared fields erased; her second goes; Bob stays.
    assert [row[0] for row in customers] == [1, 3]
    assert customers[0][1] != ALICE and customers[0][2] == "[erased]"
    assert customers[1] == (3, "bob@example.com", "Bob")
    assert [row[0] for row in _rows(engine, INVOICES)] == [100, 300]  # the held one is there, not orphaned
    assert [row[0] for row in _rows(engine, ORDERS)] == [30]
    step = result.step("shop.customers")
    assert (step.deleted, step.kept, step.kept_referenced, step.minimised) == (1, 1, 1, 1)
    assert result.step("shop.invoices").kept == 1
    again = erase_person(loaded, engine, ALICE)  # a second run changes nothing more
    assert again.complete and again.changed == 0


def test_check_predicts_the_held_parent(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    loaded, _ = _shop("sqlite", tmp_path, request)
    found = [f for f in check_map(loaded, drift=False).findings if f.rule == "erasure-held-parent"]
    assert [f.target for f in found] == ["shop.customers"]
    assert "shop.invoices" in found[0].message and "erase: anonymize" in found[0].hint
    assert found[0].location is not None and found[0].location.line == 14  # customers' erase line
