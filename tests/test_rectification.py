"""Rectification (Art. 16) against real databases: the shop of ``test_erasure`` on SQLite,
PostgreSQL or MariaDB, plus a CRM in a second system (a SQLite file) that holds Alice too."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from datavow.connectors.sql import connect
from datavow.errors import RequestError
from datavow.plan import Discovery
from datavow.requests.rectification import rectify
from tests.test_erasure import (
    ALICE,
    BACKENDS,
    CUSTOMERS,
    INVOICES,
    MAP,
    METADATA,
    Shop,
    discovered,
    make_shop,
    rows,
    snapshot,
    url_of,
    write_map,
)

NOW = datetime(2026, 3, 1, 12, 0)
NEW = "alice.smith@example.org"

CRM = """\
  crm:
    url: "{crm}"
    tables:
      contacts:
        subject: customer
        identity: {{email: email}}
        erase: delete
        fields:
          id: ~
          email: user.contact.email
          phone: user.contact.phone_number
          postal_code: user.contact.address.postal_code
          born: user.demographic.date_of_birth
          last_name: user.name.last
"""

CRM_METADATA = sa.MetaData()
CONTACTS = sa.Table(
    "contacts",
    CRM_METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("email", sa.String(254), nullable=False),
    sa.Column("phone", sa.String(30)),
    sa.Column("postal_code", sa.String(10)),
    sa.Column("born", sa.Date),
    sa.Column("last_name", sa.String(80)),
)


def sqlite_engine(path: Path) -> Engine:
    """A new SQLite file, opened as datavow opens a system (with its SQL functions)."""
    sqlite3.connect(path).close()
    return connect(f"sqlite:///{path}")


class World:
    """The shop (on the backend under test) and the CRM (SQLite), Alice found in both."""

    def __init__(self, backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
        self.shop: Shop = make_shop(backend, tmp_path, request)
        if backend == "sqlite":  # opened again as datavow opens a system: with its SQL functions
            self.shop.engine = connect(url_of(self.shop.engine))
            request.addfinalizer(self.shop.engine.dispose)
        crm_url = f"sqlite:///{tmp_path / 'crm.db'}"
        self.crm: Engine = sqlite_engine(tmp_path / "crm.db")
        request.addfinalizer(self.crm.dispose)
        CRM_METADATA.create_all(self.crm)
        with self.crm.begin() as conn:
            conn.execute(
                CONTACTS.insert(),
                [
                    {"id": 1, "email": ALICE, "phone": "0470 11 22 33", "postal_code": "9000", "born": date(1990, 5, 4),
                     "last_name": "Smith"},
                    {"id": 2, "email": "bob@example.com", "phone": "0470 99 88 77", "postal_code": "9240",
                     "born": date(1985, 1, 2), "last_name": "Jones"},
                ],
            )  # fmt: skip
        text = MAP + CRM.replace("{crm}", crm_url)
        self.loaded = write_map(tmp_path, url_of(self.shop.engine), text=text)
        self.engines = {"shop": self.shop.engine, "crm": self.crm}

    def discovery(self) -> Discovery:
        return discovered(self.loaded, self.engines)

    def state(self) -> tuple[object, object]:
        with self.crm.connect() as conn:
            crm = [tuple(row) for row in conn.execute(sa.select(CONTACTS).order_by(CONTACTS.c.id))]
        return snapshot(self.shop.engine), crm


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_corrected_email_reaches_every_table_in_every_system(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    world = World(backend, tmp_path, request)
    bob = rows(world.shop.engine, CUSTOMERS, CUSTOMERS.c.id == 3)
    discovery = world.discovery()

    result = rectify(world.loaded, discovery, world.engines, {"user.contact.email": f"  {NEW} "}, now=NOW)

    assert result.complete
    assert {f.field: f.rows for f in result.fields} == {
        "shop.customers.email": 2,
        "shop.invoices.email": 2,  # the held invoice and the old one: the value lives there too
        "crm.contacts.email": 1,
    }
    assert [r["email"] for r in rows(world.shop.engine, CUSTOMERS)] == [NEW, NEW, "bob@example.com"]
    assert [r["email"] for r in rows(world.shop.engine, INVOICES)] == [NEW, NEW, "bob@example.com"]
    with world.crm.connect() as conn:
        assert list(conn.execute(sa.select(CONTACTS.c.email).order_by(CONTACTS.c.id)).scalars()) == [
            NEW,
            "bob@example.com",
        ]
    assert rows(world.shop.engine, CUSTOMERS, CUSTOMERS.c.id == 3) == bob
    assert json.loads(json.dumps(result.to_dict()))["changed"] == 5

    state = world.state()
    again = rectify(world.loaded, discovery, world.engines, {"user.contact.email": NEW}, now=NOW)
    assert again.complete and again.changed == 0 and world.state() == state


def test_a_field_path_corrects_that_field_only_and_empty_fields_stay_empty(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    world = World("sqlite", tmp_path, request)

    result = rectify(
        world.loaded,
        world.discovery(),
        world.engines,
        {
            "shop.customers.phone": "+32 470 00 00 00",
            "crm.contacts.born": "1990-05-14",
            "user.name.last": "Smith-Jones",
        },
        now=NOW,
    )

    assert {f.field: f.rows for f in result.fields} == {
        "shop.customers.phone": 1,  # Alice's second row has no phone: correcting is not completing
        "crm.contacts.born": 1,
        "crm.contacts.last_name": 1,
    }
    assert [r["phone"] for r in rows(world.shop.engine, CUSTOMERS)] == ["+32 470 00 00 00", None, "+32 470 99 88 77"]
    with world.crm.connect() as conn:
        born, last = conn.execute(sa.select(CONTACTS.c.born, CONTACTS.c.last_name).where(CONTACTS.c.id == 1)).one()
    assert (born, last) == (date(1990, 5, 14), "Smith-Jones")
    assert [r["email"] for r in rows(world.shop.engine, CUSTOMERS)] == [ALICE, ALICE, "bob@example.com"]


@pytest.mark.parametrize(
    ("corrections", "reason"),
    [
        ({"user.contact.email": "alice at example.org"}, "is not an e-mail address"),
        ({"user.contact.email": "alice@example"}, "is not an e-mail address"),
        ({"user.contact.phone_number": "call me maybe"}, "is not a phone number"),
        ({"user.contact.phone_number": "12"}, "is not a phone number"),
        ({"user.demographic.date_of_birth": "2030-01-01"}, "is in the future"),
        ({"crm.contacts.born": "04/05/1990"}, "is not a date"),
        ({"user.contact.address.postal_code": "   "}, "is empty"),
        ({"user.name.last": ""}, "is empty"),
        ({"user.contact.email": "a" * 250 + "@example.org"}, r"does not fit (shop\.customers|crm\.contacts)\.email"),
        ({"user.financial.bank_account": "BE71 0961 2345 6769"}, "nothing to correct"),
        ({"user.no_such_thing": "x"}, "neither a data category nor a field"),
        ({"shop.orders.total": "12"}, "not a personal field"),
        ({"shop.customers.id": "12"}, "is a key that references use"),
        ({}, "no correction given"),
    ],
)
def test_invalid_corrections_are_refused_before_anything_changes(
    corrections: dict[str, str], reason: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    world = World("sqlite", tmp_path, request)
    before = world.state()
    # a valid correction goes first: refusing the whole request must leave it unapplied too
    everything = {"user.contact.phone_number": "+32 470 00 00 00", **corrections}
    if not corrections:
        everything = {}

    with pytest.raises(RequestError, match=reason):
        rectify(world.loaded, world.discovery(), world.engines, everything, now=NOW)

    assert world.state() == before


def test_a_table_the_request_did_not_select_has_nothing_to_correct(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    world = World("sqlite", tmp_path, request)
    with world.crm.begin() as conn:
        conn.execute(CONTACTS.delete().where(CONTACTS.c.email == ALICE))  # the CRM does not know her
    discovery = world.discovery()

    with pytest.raises(RequestError, match="selected no row of crm.contacts — nothing to correct"):
        rectify(world.loaded, discovery, world.engines, {"crm.contacts.postal_code": "9000"}, now=NOW)
    with pytest.raises(RequestError, match="nothing to correct"):
        rectify(world.loaded, discovery, world.engines, {"user.contact.address.postal_code": "9000"}, now=NOW)


@pytest.mark.parametrize("backend", BACKENDS)
def test_correcting_the_identity_column_first_still_corrects_every_other_field(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The rows are found once, before anything changes: the e-mail that found Alice is corrected
    first, and her name and phone numbers are still corrected on the same rows, and only there."""
    world = World(backend, tmp_path, request)
    # By e-mail alone: after the first correction no row holds the value that found her.
    discovery = discovered(world.loaded, world.engines, {"email": [ALICE]})
    shop_before, crm_before = world.state()

    result = rectify(
        world.loaded,
        discovery,
        world.engines,
        {
            "user.contact.email": NEW,
            "shop.customers.name": "Alice Smith-Jones",
            "user.contact.phone_number": "+32 470 00 00 00",
        },
        now=NOW,
    )

    assert result.complete
    assert {f.field: f.rows for f in result.fields} == {
        "shop.customers.email": 2,
        "shop.invoices.email": 2,
        "crm.contacts.email": 1,
        "shop.customers.name": 2,
        "shop.customers.phone": 1,  # her second row has no phone: correcting is not completing
        "crm.contacts.phone": 1,
    }
    # Exactly the corrected fields of Alice's rows differ; every other value of every row is as it was.
    corrected = {
        "customers": {1: {"email": NEW, "name": "Alice Smith-Jones", "phone": "+32 470 00 00 00"},
                      2: {"email": NEW, "name": "Alice Smith-Jones"}},
        "invoices": {100: {"email": NEW}, 101: {"email": NEW}},
    }  # fmt: skip
    shop_after, crm_after = world.state()
    assert isinstance(shop_before, dict) and isinstance(crm_before, list)
    expected = {
        name: [_with(row, METADATA_COLUMNS[name], corrected.get(name, {}).get(row[0], {})) for row in table_rows]
        for name, table_rows in shop_before.items()
    }
    assert shop_after == expected
    assert crm_after == [
        (1, NEW, "+32 470 00 00 00", "9000", date(1990, 5, 4), "Smith"),
        *[row for row in crm_before if row[0] != 1],
    ]

    again = rectify(
        world.loaded,
        discovery,
        world.engines,
        {"user.contact.email": NEW, "shop.customers.name": "Alice Smith-Jones"},
        now=NOW,
    )
    assert again.complete and again.changed == 0


METADATA_COLUMNS = {table.name: [column.name for column in table.columns] for table in METADATA.sorted_tables}


def _with(row: tuple[object, ...], columns: list[str], changes: Mapping[str, object]) -> tuple[object, ...]:
    return tuple(changes.get(column, value) for column, value in zip(columns, row, strict=True))


KEYLESS_MAP = """\
organization: {{name: Club, country: BE, contact: {{email: privacy@club.example}}}}
subjects: {{member: Members}}
purposes:
  service: {{name: Membership, basis: contract, subjects: [member], categories: [user], retention: 2 years}}
systems:
  club:
    url: "{url}"
    tables:
      members:
        subject: member
        identity: {{email: email}}
        erase: delete
        fields:
          email: user.contact.email
          name: user.name
"""


def test_a_table_without_a_key_has_its_identity_corrected_last(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """No primary key to pin the rows by: the e-mail that found them is corrected after the name."""
    engine = sqlite_engine(tmp_path / "club.db")
    url = f"sqlite:///{tmp_path / 'club.db'}"
    request.addfinalizer(engine.dispose)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE members (email VARCHAR(254), name VARCHAR(80))"))
        conn.execute(
            sa.text("INSERT INTO members VALUES (:email, :name)"),
            [{"email": ALICE, "name": "Alice"}, {"email": "bob@example.com", "name": "Bob"}],
        )
    loaded = write_map(tmp_path, url, text=KEYLESS_MAP)
    discovery = discovered(loaded, {"club": engine}, {"email": [ALICE]})

    result = rectify(loaded, discovery, {"club": engine}, {"user.contact.email": NEW, "user.name": "Alice B"}, now=NOW)

    assert {f.field: f.rows for f in result.fields} == {"club.members.email": 1, "club.members.name": 1}
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT email, name FROM members ORDER BY name")).all() == [
            (NEW, "Alice B"),
            ("bob@example.com", "Bob"),
        ]


def test_the_command_corrects_the_email_and_then_the_name_of_the_same_person(tmp_path: Path) -> None:
    """The report that started it, through ``datavow request rectify``: the e-mail that found her is
    corrected first, and her name still is."""
    from click.testing import CliRunner

    from datavow.cli import main
    from tests.test_requests_run import MAP as RUN_MAP

    (tmp_path / "datavow.yaml").write_text(RUN_MAP)
    with sqlite3.connect(tmp_path / "shop.db") as db:
        db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, name TEXT, restricted BOOLEAN)")
        db.executemany(
            "INSERT INTO customers VALUES (?, ?, ?, 0)", [(1, ALICE, "Alice"), (2, "bob@example.com", "Bob")]
        )
    with sqlite3.connect(tmp_path / "mail.db") as db:
        db.execute("CREATE TABLE messages (id INTEGER PRIMARY KEY, customer_id INTEGER, body TEXT)")

    result = CliRunner().invoke(
        main,
        ["request", "rectify", "--map", str(tmp_path / "datavow.yaml"), "--email", ALICE, "--verified-by", "letter",
         "--set", f"user.contact.email={NEW}", "--set", "shop.customers.name=Alice Smith", "--json"],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    fields = {f["field"]: f["rows"] for f in json.loads(result.output)["result"]["fields"]}
    assert fields == {"shop.customers.email": 1, "shop.customers.name": 1}
    with sqlite3.connect(tmp_path / "shop.db") as db:
        assert db.execute("SELECT id, email, name FROM customers ORDER BY id").fetchall() == [
            (1, NEW, "Alice Smith"),
            (2, "bob@example.com", "Bob"),
        ]
