"""Erasure plans around held rows: the customer of an invoice the law keeps is not deleted (that left
the invoice orphaned on SQLite and rolled the whole system back on PostgreSQL and MariaDB), and
`datavow check` names the conflict with its fix before any request meets it."""

from __future__ import annotations

from contextlib import ExitStack
from datetime import date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from datavow import load_map
from datavow.check import check_map
from datavow.connectors.sql import connect
from datavow.datamap.load import LoadedMap
from datavow.plan import compile_plan, discover, parse_identities
from datavow.requests.erasure import ErasureResult, erase

BACKENDS = ["sqlite", "postgresql", "mariadb"]
SERVER = {"postgresql": "postgres_url", "mariadb": "mariadb_url"}
KEY = bytes(range(32))
NOW = datetime(2026, 3, 1, 12, 0)
ALICE = "alice@example.com"

MAP = """\
organization: {{name: Shop, country: BE, contact: {{email: privacy@shop.example}}}}
subjects: {{customer: Customers}}
purposes:
  service: {{name: Selling, basis: contract, subjects: [customer], categories: [user], retention: 2 years}}
  invoicing: {{name: Invoicing, basis: legal_obligation, law: Accounting law, subjects: [customer],
              categories: [user], retention: 7 years}}
systems:
  shop:
    url: "{url}"
    tables:
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
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'shop.db'}"
        sa.create_engine(url).dispose()
    else:
        url = str(request.getfixturevalue(SERVER[backend]))
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
    path = tmp_path / "datavow.yaml"
    path.write_text(MAP.format(url=url), encoding="utf-8")
    loaded = load_map(path)
    engine = connect(loaded.system_url("shop"), system="shop")  # as requests open it: foreign keys on
    request.addfinalizer(engine.dispose)
    return loaded, engine


def _erase(loaded: LoadedMap, engine: Engine) -> ErasureResult:
    identities = {"email": [ALICE]}
    plan = compile_plan(loaded, identities)
    with ExitStack() as stack:
        discovery = discover(
            loaded, plan, parse_identities(loaded, identities), {"shop": stack.enter_context(engine.connect())}
        )
    return erase(loaded, discovery, {"shop": engine}, key=KEY, now=NOW)


def _rows(engine: Engine, table: sa.Table) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.select(table).order_by(table.c.id))]


@pytest.mark.parametrize("backend", BACKENDS)
def test_erasure_keeps_the_customer_of_a_held_invoice(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    loaded, engine = _shop(backend, tmp_path, request)
    result = _erase(loaded, engine)
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
    again = _erase(loaded, engine)  # a second run changes nothing more
    assert again.complete and again.changed == 0


def test_check_predicts_the_held_parent(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    loaded, _ = _shop("sqlite", tmp_path, request)
    found = [f for f in check_map(loaded, drift=False).findings if f.rule == "erasure-held-parent"]
    assert [f.target for f in found] == ["shop.customers"]
    assert "shop.invoices" in found[0].message and "erase: anonymize" in found[0].hint
    assert found[0].location is not None and found[0].location.line == 14  # customers' erase line
