"""Erasure (Art. 17) against real databases: SQLite files, PostgreSQL and MariaDB.

A small shop is built per test with real FOREIGN KEY constraints: two customer rows of Alice (the
person erased), one of Bob (who must stay untouched), their orders and order lines, and invoices
under a 7-year accounting hold (one recent, one long expired) with their lines. Every expectation
is exact: each strategy's value (the keyed hash recomputed here in Python), which rows go, which are
kept and until when, and that a second run, or a run after a crash, ends exactly as a clean one.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
from collections.abc import Mapping
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from dateutil.relativedelta import relativedelta
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from datavow import load_map
from datavow.changes.strategies import PSEUDONYM_PREFIX
from datavow.datamap.load import LoadedMap
from datavow.datamap.model import TableErasure
from datavow.demo import PASSWORD_VARIABLE, build_demo
from datavow.errors import RequestError
from datavow.plan import Discovery, compile_plan, discover, parse_identities
from datavow.plan import sql as plan_sql
from datavow.requests.erasure import erase
from datavow.secrets import derive
from tests import faults

KEY = bytes(range(32))
NOW = datetime(2026, 3, 1, 12, 0)
ALICE = "alice@example.com"
BACKENDS = ["sqlite", "postgresql", "mariadb"]
SERVER = {"postgresql": "postgres", "mariadb": "mariadb"}  # the fixtures' names

MAP = """\
organization: {{name: Shop, country: BE, contact: {{email: privacy@shop.example}}}}
subjects: {{customer: Customers}}
identities: {{user_id: {{format: integer}}}}
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
        identity: {{email: email, user_id: id}}
        erase: anonymize
        fields:
          id: {{category: user.unique_id, erase: keep}}
          email: {{category: user.contact.email, erase: hash}}
          name: {{category: user.name, erase: pseudonymize}}
          nickname: {{category: user.name, erase: pseudonymize}}
          phone: {{category: user.contact.phone_number, erase: {phone}}}
          note: {{category: user.content.private, erase: {{strategy: fixed, value: "[erased]"}}}}
          city: {{category: user.contact.address.city, erase: keep}}
      orders:
        subject: customer
        references: {{customer_id: customers.id}}
        erase: delete
        fields: {{id: ~, customer_id: ~, total: ~}}
      order_lines:
        primary_key: [order_id, line_no]
        references: {{order_id: orders.id}}
        erase: delete
        fields: {{order_id: ~, line_no: ~, product: ~}}
      invoices:
        subject: customer
        references: {{customer_id: customers.id}}
        erase: delete
        hold: {{purpose: invoicing, keep: 7 years, after: issued_on, minimise: [email]}}
        fields:
          id: ~
          customer_id: ~
          issued_on: ~
          email: {{category: user.contact.email, erase: nullify}}
          name: {{category: user.name, erase: {{strategy: fixed, value: "[erased]"}}}}
      invoice_lines:
        primary_key: [invoice_id, line_no]
        references: {{invoice_id: invoices.id}}
        erase: delete
        hold: {{purpose: invoicing, keep: 7 years, after: invoices.issued_on}}
        fields: {{invoice_id: ~, line_no: ~, amount: ~}}
"""

METADATA = sa.MetaData()
CUSTOMERS = sa.Table(
    "customers",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("email", sa.String(254), nullable=False),
    sa.Column("name", sa.String(80)),
    sa.Column("nickname", sa.String(80)),
    sa.Column("phone", sa.String(30)),
    sa.Column("note", sa.Text),
    sa.Column("city", sa.String(80), nullable=False),
)
ORDERS = sa.Table(
    "orders",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.id"), nullable=False),
    sa.Column("total", sa.Integer, nullable=False),
)
ORDER_LINES = sa.Table(
    "order_lines",
    METADATA,
    sa.Column("order_id", sa.Integer, sa.ForeignKey("orders.id"), primary_key=True),
    sa.Column("line_no", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("product", sa.String(12), nullable=False),
)
INVOICES = sa.Table(
    "invoices",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.id"), nullable=False),
    sa.Column("issued_on", sa.Date, nullable=False),
    sa.Column("email", sa.String(254)),
    sa.Column("name", sa.String(160), nullable=False),
)
INVOICE_LINES = sa.Table(
    "invoice_lines",
    METADATA,
    sa.Column("invoice_id", sa.Integer, sa.ForeignKey("invoices.id"), primary_key=True),
    sa.Column("line_no", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("amount", sa.Integer, nullable=False),
)

HELD_ON = date(2025, 1, 15)  # Alice's recent invoice: held until 2032-01-15
EXPIRED_ON = date(2015, 6, 1)  # Alice's old invoice: its hold ended in 2022


@dataclass
class Shop:
    loaded: LoadedMap
    engine: Engine
    orders: list[int]  # Alice's
    lines_per_order: int

    @property
    def engines(self) -> dict[str, Engine]:
        return {"shop": self.engine}


def fill(engine: Engine, *, orders: int = 3, lines_per_order: int = 2) -> list[int]:
    """Create the shop's tables and rows; return Alice's order ids. Bob's ids are above 1,000,000."""
    METADATA.drop_all(engine)
    METADATA.create_all(engine)
    alice_orders = list(range(10, 10 + orders))
    with engine.begin() as conn:
        conn.execute(
            CUSTOMERS.insert(),
            [
                {"id": 1, "email": ALICE, "name": "Alice Smith", "nickname": "Alice Smith", "phone": "+32 470 11 22 33",
                 "note": "likes tea", "city": "Gent"},
                {"id": 2, "email": ALICE, "name": "Alice Smith", "nickname": "Ali", "phone": None, "note": None,
                 "city": "Gent"},
                {"id": 3, "email": "bob@example.com", "name": "Bob Jones", "nickname": "Bob",
                 "phone": "+32 470 99 88 77", "note": "call after 5", "city": "Zele"},
            ],
        )  # fmt: skip
        bob_orders = list(range(1_000_000, 1_000_000 + orders))
        conn.execute(
            ORDERS.insert(),
            [{"id": i, "customer_id": 1 if n % 2 == 0 else 2, "total": n} for n, i in enumerate(alice_orders)]
            + [{"id": i, "customer_id": 3, "total": n} for n, i in enumerate(bob_orders)],
        )
        conn.execute(
            ORDER_LINES.insert(),
            [
                {"order_id": i, "line_no": n, "product": f"p{i}-{n}"}
                for i in alice_orders + bob_orders
                for n in range(lines_per_order)
            ],
        )
        conn.execute(
            INVOICES.insert(),
            [
                {"id": 100, "customer_id": 1, "issued_on": HELD_ON, "email": ALICE, "name": "Alice Smith"},
                {"id": 101, "customer_id": 2, "issued_on": EXPIRED_ON, "email": ALICE, "name": "Alice Smith"},
                {"id": 200, "customer_id": 3, "issued_on": HELD_ON, "email": "bob@example.com", "name": "Bob Jones"},
            ],
        )
        conn.execute(
            INVOICE_LINES.insert(),
            [{"invoice_id": i, "line_no": n, "amount": 100 * n} for i in (100, 101) for n in (1, 2)]
            + [{"invoice_id": 200, "line_no": 1, "amount": 5}],
        )
    return alice_orders


def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest, name: str = "shop") -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / f'{name}.db'}"
    if name == "shop":
        return str(request.getfixturevalue(f"{SERVER[backend]}_url"))
    server = request.getfixturevalue(f"{SERVER[backend]}_server")
    context = server.fresh_database()
    url = str(context.__enter__())
    request.addfinalizer(lambda: context.__exit__(None, None, None))
    return url


def write_map(folder: Path, url: str, *, phone: str = "nullify", text: str = MAP) -> LoadedMap:
    path = folder / "datavow.yaml"
    path.write_text(text.format(url=url, phone=phone), encoding="utf-8")
    return load_map(path)


def url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def with_twin(folder: Path, shop: Shop, twin_url: str) -> LoadedMap:
    """The shop's map with a second system, ``twin``: the same tables in another database."""
    twin = MAP[MAP.index("  shop:\n") :].replace("  shop:\n", "  twin:\n", 1).replace("{url}", twin_url)
    return write_map(folder, url_of(shop.engine), text=MAP + twin)


def make_shop(backend: str, tmp_path: Path, request: pytest.FixtureRequest, **sizes: int) -> Shop:
    url = database_url(backend, tmp_path, request)
    engine = sa.create_engine(url, poolclass=NullPool)
    request.addfinalizer(engine.dispose)
    orders = fill(engine, **sizes)
    return Shop(write_map(tmp_path, url), engine, orders, sizes.get("lines_per_order", 2))


# --------------------------------------------------------------------------- discovery

# The request names Alice by her e-mail and by her two user ids, so that the discovery the lifecycle
# persists selects her customer rows by key as well: a second run meets them again, already erased.
ALICE_IDENTITIES = {"email": [ALICE], "user_id": ["1", "2"]}


def discovered(
    loaded: LoadedMap, engines: Mapping[str, Engine], identities: Mapping[str, list[str]] = ALICE_IDENTITIES
) -> Discovery:
    """The planner's plan for ``identities``, run against ``engines``."""
    plan = compile_plan(loaded, identities)
    with ExitStack() as stack:
        connections = {system: stack.enter_context(engines[system].connect()) for system in plan.systems()}
        return discover(loaded, plan, parse_identities(loaded, identities), connections)


# --------------------------------------------------------------------------- looking at the data


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, in key order: what 'the database is unchanged' compares."""
    with engine.connect() as conn:
        return {
            table.name: [tuple(row) for row in conn.execute(sa.select(table).order_by(*table.primary_key.columns))]
            for table in METADATA.sorted_tables
        }


def canonical(state: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    """``state`` with each pseudonym replaced by its order of appearance: two erasures draw different
    random pseudonyms, but must give equal values equal ones in the same places."""
    seen: dict[str, str] = {}

    def label(value: Any) -> Any:
        if isinstance(value, str) and value.startswith(PSEUDONYM_PREFIX):
            return seen.setdefault(value, f"{PSEUDONYM_PREFIX}#{len(seen)}")
        return value

    return {name: [tuple(label(v) for v in row) for row in rows] for name, rows in state.items()}


def rows(engine: Engine, table: sa.Table, *where: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        result = conn.execute(sa.select(table).where(*where).order_by(*table.primary_key.columns))
        return [dict(row) for row in result.mappings()]


def keyed_hash(value: str, width: int = 64) -> str:
    """The hash strategy's stand-in, computed in Python: digest under the hash key, then its tag."""
    tag = min(16, width // 2)
    digest = hashlib.sha256((derive(KEY, "erasure-hash").hex() + value).encode()).hexdigest()[: width - tag]
    return digest + hashlib.sha256((derive(KEY, "erasure-tag").hex() + digest).encode()).hexdigest()[:tag]


# --------------------------------------------------------------------------- the tests


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_strategy_hold_and_foreign_key_order(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    shop = make_shop(backend, tmp_path, request)
    bob_before = {
        table.name: rows(shop.engine, table, *where)
        for table, where in [
            (CUSTOMERS, [CUSTOMERS.c.id == 3]),
            (ORDERS, [ORDERS.c.customer_id == 3]),
            (ORDER_LINES, [ORDER_LINES.c.order_id >= 1_000_000]),
            (INVOICES, [INVOICES.c.id == 200]),
            (INVOICE_LINES, [INVOICE_LINES.c.invoice_id == 200]),
        ]
    }

    result = erase(shop.loaded, discovered(shop.loaded, shop.engines), shop.engines, key=KEY, now=NOW)

    assert result.complete and result.systems["shop"].status == "done"
    first, second = rows(shop.engine, CUSTOMERS, CUSTOMERS.c.id < 3)
    # hash: the keyed SHA-256 computed by the database equals Python's; equal inputs stay equal
    assert first["email"] == second["email"] == keyed_hash(ALICE)
    # pseudonymize: a readable prefix, equal values get the same stand-in within one erasure
    assert first["name"].startswith(PSEUDONYM_PREFIX) and len(first["name"]) == len(PSEUDONYM_PREFIX) + 24
    assert first["name"] == first["nickname"] == second["name"] != second["nickname"]
    assert ALICE not in json.dumps([first, second], default=str) and "Alice" not in str(first["name"])
    # nullify, fixed (NULL stays NULL), keep
    assert (first["phone"], first["note"], second["note"]) == (None, "[erased]", None)
    assert (first["city"], first["id"], second["id"]) == ("Gent", 1, 2)
    # delete, children before parents (real FOREIGN KEYs on PostgreSQL and MariaDB)
    assert rows(shop.engine, ORDERS, ORDERS.c.customer_id < 3) == []
    assert rows(shop.engine, ORDER_LINES, ORDER_LINES.c.order_id < 1_000_000) == []
    # the recent invoice is held (only its minimise field erased), the expired one is deleted
    [held] = rows(shop.engine, INVOICES, INVOICES.c.customer_id < 3)
    assert (held["id"], held["email"], held["name"], held["issued_on"]) == (100, None, "Alice Smith", HELD_ON)
    assert [
        (r["invoice_id"], r["line_no"]) for r in rows(shop.engine, INVOICE_LINES, INVOICE_LINES.c.invoice_id < 200)
    ] == [
        (100, 1),
        (100, 2),
    ]
    # Bob: untouched, row for row
    assert bob_before == {
        table.name: rows(shop.engine, table, *where)
        for table, where in [
            (CUSTOMERS, [CUSTOMERS.c.id == 3]),
            (ORDERS, [ORDERS.c.customer_id == 3]),
            (ORDER_LINES, [ORDER_LINES.c.order_id >= 1_000_000]),
            (INVOICES, [INVOICES.c.id == 200]),
            (INVOICE_LINES, [INVOICE_LINES.c.invoice_id == 200]),
        ]
    }
    # the result: what changed, what was kept, until when, for which purpose
    counts = {s.step: (s.action, s.deleted, s.anonymised, s.kept, s.minimised) for s in result.steps}
    assert counts == {
        "shop.customers": ("anonymize", 0, 2, 0, 0),
        "shop.orders": ("delete", 3, 0, 0, 0),
        "shop.order_lines": ("delete", 6, 0, 0, 0),
        "shop.invoices": ("delete", 1, 0, 1, 1),
        "shop.invoice_lines": ("delete", 2, 0, 2, 0),
    }
    assert [s.step for s in result.steps].index("shop.order_lines") < [s.step for s in result.steps].index(
        "shop.orders"
    )
    invoices, lines = result.step("shop.invoices"), result.step("shop.invoice_lines")
    assert (invoices.held_until, invoices.hold_purpose) == (date(2032, 1, 15), "invoicing")
    assert (lines.held_until, lines.hold_purpose) == (date(2032, 1, 15), "invoicing")
    assert result.changed == 2 + 3 + 6 + 1 + 1 + 2
    as_json = json.loads(json.dumps(result.to_dict()))
    assert as_json["systems"] == {"shop": {"system": "shop", "status": "done", "error": None}}
    assert {"step": "shop.invoices", "kept": 1, "held_until": "2032-01-15", "hold_purpose": "invoicing"}.items() <= [
        s for s in as_json["steps"] if s["step"] == "shop.invoices"
    ][0].items()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_second_run_changes_nothing(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    shop = make_shop(backend, tmp_path, request)
    discovery = discovered(shop.loaded, shop.engines)  # the lifecycle persists it; the second run reuses it
    first = erase(shop.loaded, discovery, shop.engines, key=KEY, now=NOW)
    after_first = snapshot(shop.engine)

    second = erase(shop.loaded, discovery, shop.engines, key=KEY, now=NOW)

    assert first.changed > 0 and second.complete
    assert second.changed == 0, second.to_dict()
    assert snapshot(shop.engine) == after_first  # pseudonyms and hashes are recognised, not redone
    assert second.step("shop.invoices").kept == 1  # still held, still reported


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_erasure_changes_the_rows_discovery_found_by_their_keys(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Customers are read by their key (orders point at it): the erasure finds them by that key, so
    a row added after discovery with Alice's address is not one the guard counted, and stays."""
    shop = make_shop(backend, tmp_path, request)
    discovery = discovered(shop.loaded, shop.engines)
    selection = discovery.selections[("shop", "customers")]
    assert selection.keys == {(1,), (2,)}
    assert selection.by_key().conditions == {("id",): {(1,), (2,)}}
    with shop.engine.begin() as conn:
        conn.execute(CUSTOMERS.insert(), {"id": 4, "email": ALICE, "name": "Alice Late", "city": "Aalst"})

    result = erase(shop.loaded, discovery, shop.engines, key=KEY, now=NOW)

    assert result.complete and result.step("shop.customers").changed == 2
    late, *_ = rows(shop.engine, CUSTOMERS, CUSTOMERS.c.id == 4)
    assert late["name"] == "Alice Late" and late["email"] == ALICE
    assert all(row["email"] != ALICE for row in rows(shop.engine, CUSTOMERS, CUSTOMERS.c.id.in_([1, 2])))


def test_an_expired_hold_is_erased_by_a_later_run(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    shop = make_shop("sqlite", tmp_path, request)
    discovery = discovered(shop.loaded, shop.engines)
    erase(shop.loaded, discovery, shop.engines, key=KEY, now=NOW)
    assert [r["id"] for r in rows(shop.engine, INVOICES, INVOICES.c.customer_id < 3)] == [100]

    later = erase(shop.loaded, discovery, shop.engines, key=KEY, now=datetime(2032, 1, 16))

    assert rows(shop.engine, INVOICES, INVOICES.c.customer_id < 3) == []
    assert rows(shop.engine, INVOICE_LINES, INVOICE_LINES.c.invoice_id < 200) == []
    assert (later.step("shop.invoices").deleted, later.step("shop.invoices").kept) == (1, 0)
    assert later.step("shop.invoice_lines").deleted == 2
    assert [r["id"] for r in rows(shop.engine, INVOICES)] == [200]  # Bob's invoice is not his to erase


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_misfit_strategy_is_refused_before_anything_changes(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    shop = make_shop(backend, tmp_path, request)
    before = snapshot(shop.engine)
    FIXED_LONG = "{{strategy: fixed, value: " + "x" * 81 + "}}"  # noqa: N806
    anonymised_lines = (
        "references: {{order_id: orders.id}}\n        erase: delete",
        "references: {{order_id: orders.id}}\n        erase: anonymize",
    )
    cases = [
        (
            [("address.city, erase: keep}}", "address.city, erase: nullify}}")],
            "shop.customers.city cannot be erased with 'nullify': the column is NOT NULL",
        ),
        (
            [anonymised_lines, ("line_no: ~, product", "line_no: {{category: user.unique_id, erase: hash}}, product")],
            "shop.order_lines.line_no cannot hold a keyed hash: the column is INTEGER",
        ),
        (
            [anonymised_lines, ("product: ~", "product: {{category: user.name, erase: hash}}")],
            "shop.order_lines.product is VARCHAR(12), too short for a keyed hash",
        ),
        (
            [("name, erase: pseudonymize}}\n          nick", f"name, erase: {FIXED_LONG}}}}}\n          nick")],
            "shop.customers.name: the fixed value 'xxx",
        ),
    ]  # fmt: skip
    for replacements, message in cases:
        text = MAP
        for old, new in replacements:
            assert text.count(old) == 1, old
            text = text.replace(old, new)
        loaded = write_map(tmp_path, url_of(shop.engine), text=text)
        with pytest.raises(RequestError) as caught:
            erase(loaded, discovered(loaded, shop.engines), shop.engines, key=KEY, now=NOW)
        assert str(caught.value).startswith(message) and " — " in str(caught.value)  # says what to do
        assert snapshot(shop.engine) == before, message


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_a_failing_system_rolls_back_alone_and_a_rerun_completes(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A row outside the map still references an order: the DELETE fails on the real foreign key
    after order lines were already deleted in the same transaction, so the system rolls back whole
    while the second system (SQLite) commits. Once the blocker is gone, re-running finishes."""
    shop = make_shop(backend, tmp_path, request)
    other = tmp_path / "other"
    other.mkdir()
    twin_url = f"sqlite:///{other / 'twin.db'}"
    twin = sa.create_engine(twin_url, poolclass=NullPool)
    fill(twin)
    loaded = with_twin(tmp_path, shop, twin_url)
    with shop.engine.begin() as conn:
        conn.execute(
            sa.text("CREATE TABLE shipments (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL REFERENCES orders(id))")
        )
        conn.execute(sa.text("INSERT INTO shipments VALUES (1, :order)"), {"order": shop.orders[-1]})
    before = snapshot(shop.engine)
    discovery = discovered(loaded, {"shop": shop.engine, "twin": twin})
    engines = {"shop": shop.engine, "twin": twin}
    progress: list[tuple[str, str, int, int]] = []

    failed = erase(loaded, discovery, engines, key=KEY, now=NOW, progress=lambda *a: progress.append(a))

    assert failed.systems["shop"].status == "failed" and failed.systems["twin"].status == "done"
    assert not failed.complete
    assert (
        "shipments" in (failed.systems["shop"].error or "")
        or "foreign key" in (failed.systems["shop"].error or "").lower()
    )
    assert snapshot(shop.engine) == before  # the order lines deleted before the failure are back
    assert all(s.step.startswith("twin.") for s in failed.steps)  # a failed system reports no changes
    assert ("shop", "shop.order_lines") in {(p[0], p[1]) for p in progress}  # it had changed something

    with shop.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE shipments"))
    again = erase(loaded, discovery, engines, key=KEY, now=NOW)

    assert again.complete
    assert again.step("shop.orders").deleted == 3 and not any(
        s.changed for s in again.steps if s.step.startswith("twin.")
    )
    twin.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_anonymising_never_changes_a_key_that_references_use(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    shop = make_shop(backend, tmp_path, request)
    text = MAP.replace(
        "id: {{category: user.unique_id, erase: keep}}", "id: {{category: user.unique_id, erase: nullify}}"
    )
    loaded = write_map(tmp_path, url_of(shop.engine), text=text)

    result = erase(loaded, discovered(loaded, shop.engines), shop.engines, key=KEY, now=NOW)

    assert result.step("shop.customers").untouched == ["id"] and result.step("shop.customers").anonymised == 2
    assert [r["id"] for r in rows(shop.engine, CUSTOMERS)] == [1, 2, 3]  # the held invoice still points at 1
    assert [r["customer_id"] for r in rows(shop.engine, INVOICES)] == [1, 3]


def test_an_explicit_action_overrides_the_tables_erase(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    # What retention asks of erasure: delete rows the map's erasure would anonymise.
    shop = make_shop("sqlite", tmp_path, request)
    discovery = discovered(shop.loaded, shop.engines)

    result = erase(shop.loaded, discovery, shop.engines, key=KEY, now=NOW, actions={("shop", "customers"): "delete"})

    customers = result.step("shop.customers")
    assert (customers.action, customers.deleted, customers.anonymised) == ("delete", 1, 0)
    assert (customers.kept, customers.kept_referenced) == (1, 1)  # the held invoice still points at customer 1
    assert [r["id"] for r in rows(shop.engine, CUSTOMERS)] == [1, 3]
    assert rows(shop.engine, CUSTOMERS, CUSTOMERS.c.id == 1)[0]["email"] == keyed_hash(ALICE)  # erased, kept
    assert result.step("shop.orders").action == "delete"  # tables it does not name: as the map says
    assert shop.loaded.table("shop", "customers").table.erase is TableErasure.anonymize  # the map is unchanged


def test_an_unreachable_system_fails_alone(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    shop = make_shop("sqlite", tmp_path, request)
    twin_url = f"sqlite:///{tmp_path / 'twin.db'}"
    twin = sa.create_engine(twin_url, poolclass=NullPool)
    fill(twin)
    loaded = with_twin(tmp_path, shop, twin_url)
    discovery = discovered(loaded, {"shop": shop.engine, "twin": twin})
    twin.dispose()
    (tmp_path / "twin.db").unlink()  # the database went away between discovery and erasure
    gone = sa.create_engine(f"sqlite:///file:{tmp_path / 'twin.db'}?mode=rw&uri=true", poolclass=NullPool)

    result = erase(loaded, discovery, {"shop": shop.engine, "twin": gone}, key=KEY, now=NOW)

    assert (result.systems["shop"].status, result.systems["twin"].status) == ("done", "failed")
    assert "unable to open database file" in (result.systems["twin"].error or "")
    assert result.step("shop.orders").deleted == 3 and not any(s.step.startswith("twin.") for s in result.steps)


def test_progress_reports_every_statement(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    shop = make_shop("sqlite", tmp_path, request, orders=50, lines_per_order=4)
    seen: list[tuple[str, str, int, int]] = []

    result = erase(
        shop.loaded,
        discovered(shop.loaded, shop.engines),
        shop.engines,
        key=KEY,
        now=NOW,
        progress=lambda *a: seen.append(a),
    )

    total = seen[0][3]
    assert [done for _, _, done, _ in seen] == list(range(1, total + 1))
    assert {t for *_, t in seen} == {total} and {s for s, *_ in seen} == {"shop"}
    # children before parents; a held table has two: minimise the held rows, erase the others
    assert list(dict.fromkeys(label for _, label, _, _ in seen)) == [
        "shop.order_lines",
        "shop.orders",
        "shop.invoice_lines",
        "shop.invoices",
        "shop.customers",
    ]
    # a statement per step and WHERE clause, never one per row
    assert result.changed == 200 + 50 + 2 + 2 + 2 and total <= 8


# --------------------------------------------------------------------------- killed mid-erasure


def crash_child(map_path: str, url: str) -> None:
    """Run in a child process: erase Alice, and stop for good after the first statement ran."""
    engine = sa.create_engine(url, poolclass=NullPool)

    def progress(system: str, step: str, done: int, total: int) -> None:
        print(f"statement {done} of {total} done", flush=True)
        import time

        time.sleep(600)  # the parent kills the process here, inside the open transaction

    loaded = load_map(map_path)
    erase(loaded, discovered(loaded, {"shop": engine}), {"shop": engine}, key=KEY, now=NOW, progress=progress)


def _child(map_path: Path, url: str, errors: Path) -> AbstractContextManager[subprocess.Popen[str]]:
    return faults.child("tests.test_erasure:crash_child", [str(map_path), url], errors)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_killed_in_the_middle_leaves_the_old_state_and_a_rerun_finishes(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    sizes = {"orders": 20_000, "lines_per_order": 3}
    shop = make_shop(backend, tmp_path, request, **sizes)
    twin_url = database_url(backend, tmp_path, request, name="twin")
    twin = sa.create_engine(twin_url, poolclass=NullPool)
    request.addfinalizer(twin.dispose)
    fill(twin, **sizes)
    before = snapshot(shop.engine)
    assert before == snapshot(twin)

    errors = tmp_path / "child.err"
    with _child(shop.loaded.path, url_of(shop.engine), errors) as child:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.startswith("statement 1 of "), errors.read_text()
        assert int(line.split()[3]) > 1  # killed after the first of several statements
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL

    assert snapshot(shop.engine) == before  # the transaction never committed
    rerun = erase(shop.loaded, discovered(shop.loaded, shop.engines), shop.engines, key=KEY, now=NOW)
    clean = erase(shop.loaded, discovered(shop.loaded, {"shop": twin}), {"shop": twin}, key=KEY, now=NOW)

    assert rerun.complete and rerun.to_dict()["steps"] == clean.to_dict()["steps"]
    assert rerun.step("shop.order_lines").deleted == 20_000 * 3
    assert canonical(snapshot(shop.engine)) == canonical(snapshot(twin))


# --------------------------------------------------------------------------- a demo company

DEMO_TODAY = date(2026, 3, 1)


@pytest.mark.parametrize("backend", BACKENDS)
def test_demo_company_tenant_isolation_and_held_invoices(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = None if backend == "sqlite" else database_url(backend, tmp_path, request)
    if url is not None and sa.make_url(url).password:
        monkeypatch.setenv(PASSWORD_VARIABLE, str(sa.make_url(url).password))
    [built] = build_demo(
        tmp_path / "demo", url=url, scale=0.1, companies=["mira-software"], force=True, today=DEMO_TODAY
    )
    loaded = load_map(built.map_path)
    engines = {system: sa.create_engine(loaded.system_url(system), poolclass=NullPool) for system in built.systems}
    platform, business = (_DemoTables(loaded, engines, system) for system in ("platform", "business"))

    # --- platform (processor mode): an address that is a user in two tenants, erased in one of them
    users = platform.rows("users")
    tenants_of: dict[str, set[int]] = {}
    for user in users.values():
        tenants_of.setdefault(user["email"], set()).add(user["customer_id"])
    email, tenants = next((e, sorted(t)) for e, t in sorted(tenants_of.items()) if len(t) > 1)
    tenant, other = tenants[0], tenants[1]
    before = platform.all_rows()
    plan = compile_plan(loaded, ["email"], tenant=str(tenant))
    with ExitStack() as stack:
        connections = {s: stack.enter_context(engines[s].connect()) for s in plan.systems()}
        found = discover(loaded, plan, parse_identities(loaded, {"email": [email]}), connections)

    erased = erase(loaded, found, engines, key=KEY, now=NOW)

    assert erased.complete and erased.step("platform.users").anonymised == 1
    after = platform.all_rows()
    changed = {
        (table, key) for table, rows_ in before.items() for key, row in rows_.items() if after[table].get(key) != row
    }
    assert changed, "the erasure changed nothing"
    owners = {platform.tenant_of(table, before[table][key], users) for table, key in changed}
    assert owners == {tenant}, "a row of another tenant changed"
    [kept_user] = [u for u in after["users"].values() if u["email"] == email]
    assert kept_user["customer_id"] == other  # the same address in the other tenant is untouched
    [gone] = [
        u for k, u in after["users"].items() if before["users"][k]["email"] == email and u["customer_id"] == tenant
    ]
    assert gone["email"] == keyed_hash(email)

    # --- business (controller): a billing contact with invoices under the 7-year hold and older ones
    invoices = business.rows("invoices")
    cutoff = date(DEMO_TODAY.year - 7, DEMO_TODAY.month, DEMO_TODAY.day)
    contact = next(
        email
        for email in sorted({i["billing_email"] for i in invoices.values() if i["billing_email"]})
        if {i["issued_on"] > cutoff for i in invoices.values() if i["billing_email"] == email} == {True, False}
    )
    plan = compile_plan(loaded, ["email"], systems=["business"])
    with engines["business"].connect() as connection:
        found = discover(loaded, plan, parse_identities(loaded, {"email": [contact]}), {"business": connection})
        mine = business.selected(found, "invoices", connection)  # the person's invoices, as the planner sees them
    held = {key for key in mine if invoices[key]["issued_on"] > cutoff}
    assert held and mine - held

    result = erase(loaded, found, engines, key=KEY, now=NOW)

    step = result.step("business.invoices")
    assert result.complete and (step.kept, step.hold_purpose) == (len(held), "invoicing")
    assert step.held_until == max(invoices[key]["issued_on"] for key in held) + relativedelta(years=7)
    after_invoices = business.rows("invoices")
    assert after_invoices.keys() == invoices.keys()  # held or anonymised: an invoice row is never deleted
    for key, invoice in invoices.items():
        now_ = after_invoices[key]
        if key in held:  # kept for the accountant: the name stays, the e-mail goes (minimise)
            assert (now_["billing_name"], now_["billing_email"]) == (invoice["billing_name"], None)
        elif key in mine:  # the hold expired: anonymised like any row
            assert (now_["billing_name"], now_["billing_email"]) == ("[erased]", None)
        else:
            assert now_ == invoice  # someone else's invoice
    assert not [c for c in business.rows("contacts").values() if c["email"] == contact]
    for engine in engines.values():
        engine.dispose()


class _DemoTables:
    """Reading a demo system's tables, every row by its primary key."""

    def __init__(self, loaded: LoadedMap, engines: Mapping[str, Engine], system: str) -> None:
        self.loaded, self.engine, self.system = loaded, engines[system], system
        self.schema = loaded.model.systems[system].schema_
        self.names = list(loaded.model.systems[system].tables)

    def rows(self, name: str) -> dict[tuple[Any, ...], dict[str, Any]]:
        table = sa.Table(name, sa.MetaData(), schema=self.schema, autoload_with=self.engine)
        with self.engine.connect() as conn:
            found = conn.execute(sa.select(table)).mappings()
            return {tuple(row[c.name] for c in table.primary_key.columns): dict(row) for row in found}

    def selected(self, found: Discovery, name: str, connection: sa.Connection) -> set[tuple[Any, ...]]:
        """The keys of the rows the discovery selects in table ``name``."""
        selection = found.selections[(self.system, name)]
        real = plan_sql.reflect_table(self.loaded, selection.step, connection)
        keys = [real.c[c.name] for c in real.primary_key.columns]
        return {
            tuple(row)
            for clause in plan_sql.selection_clauses(real, selection, connection.dialect.name)
            for row in connection.execute(sa.select(*keys).where(clause))
        }

    def all_rows(self) -> dict[str, dict[tuple[Any, ...], dict[str, Any]]]:
        return {name: self.rows(name) for name in self.names}

    def tenant_of(self, table: str, row: Mapping[str, Any], users: Mapping[tuple[Any, ...], Mapping[str, Any]]) -> Any:
        if "customer_id" in row:
            return row["customer_id"]
        return users[(row["user_id"],)]["customer_id"]
