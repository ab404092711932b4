"""Whose row is whose, on a schema built the way real ones are, on SQLite, PostgreSQL and MariaDB.

One company database where people share rows the way they do in real schemas: one ``address``
table serves customers, staff and stores (Alice shares her address with Sam of staff, Bob his with
Carol); every customer has a support rep (``support_rep_id``); an employee is named on orders; a
customer can be referred by another and staff have managers (self-references); messages reference
a customer and a member of staff, transfers two customers; on PostgreSQL, ``events`` is a
partitioned table. Real foreign keys everywhere.

Every test asserts the exact rows a request reaches, and that a snapshot of every other row of
every table is identical before and after an erasure, a rectification or a restriction.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from rich.console import Console

from datavow import load_map
from datavow.connectors.sql import connect
from datavow.datamap.load import LoadedMap
from datavow.errors import PlanError
from datavow.lint import run_lint
from datavow.plan import Discovery, compile_plan, discover, parse_identities, render_plan
from datavow.requests.erasure import erase
from datavow.requests.export import ExportInfo, export_access, read_export
from datavow.requests.rectification import rectify
from datavow.requests.restricting import set_restriction_flags

KEY = bytes(range(32))
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

MAP = """\
organization: {{name: Company, country: BE, contact: {{email: privacy@company.example}}}}
subjects: {{customer: Customers, staff: Staff}}
purposes:
  service: {{name: Selling, basis: contract, subjects: [customer], categories: [user], retention: 2 years}}
  employment: {{name: Employment, basis: contract, subjects: [staff], categories: [user], retention: 2 years}}
systems:
  company:
    url: "{url}"
    tables:
      address:
        erase: delete
        fields: {{id: ~, street: {{category: user.contact.address.street, erase: nullify}}, city: ~}}
      store:
        references:
          address_id: address.id
          manager_id: {{to: staff, to_columns: id, owner: false}}
        fields: {{id: ~, address_id: ~, manager_id: ~}}
      staff:
        subject: staff
        identity: {{email: email, phone: phone}}
        erase: anonymize
        references: {{address_id: address.id, manager_id: staff.id, store_id: store.id}}
        fields:
          id: ~
          email: {{category: user.contact.email, erase: hash}}
          phone: {{category: user.contact.phone_number, erase: nullify}}
          name: {{category: user.name, erase: nullify}}
          address_id: ~
          manager_id: ~
          store_id: ~
      customer:
        subject: customer
        identity: {{email: email}}
        erase: anonymize
        restriction_flag: restricted
        references:
          address_id: address.id
          support_rep_id: {support_rep}
          referred_by: customer.id
          store_id: store.id
        fields:
          id: ~
          email: {{category: user.contact.email, erase: hash}}
          name: {{category: user.name, erase: nullify}}
          address_id: ~
          support_rep_id: ~
          referred_by: ~
          store_id: ~
          restricted: ~
      orders:
        subject: customer
        erase: delete
        references: {{customer_id: customer.id, employee_id: staff.id, shipping_address_id: address.id}}
        fields: {{id: ~, customer_id: ~, employee_id: ~, shipping_address_id: ~}}
      order_lines:
        primary_key: [order_id, line_no]
        erase: delete
        references: {{order_id: orders.id}}
        fields: {{order_id: ~, line_no: ~, product: ~}}
      messages:
        subject: customer
        erase: delete
        references: {{customer_id: customer.id, staff_id: staff.id}}
        fields: {{id: ~, customer_id: ~, staff_id: ~, body: {{category: user.content.private}}}}
      transfers:
        subject: customer
        erase: delete
        references: {{from_customer: customer.id, to_customer: customer.id}}
        fields: {{id: ~, from_customer: ~, to_customer: ~, amount: ~}}
      events:
        subject: customer
        erase: delete
        primary_key: [id, created]
        references: {{customer_id: customer.id}}
        fields: {{id: ~, customer_id: ~, created: ~}}
"""

Rows = dict[str, set[tuple[Any, ...]]]  # a table's rows, as tuples, by table name

ROWS: dict[str, list[dict[str, Any]]] = {
    "address": [
        {"id": 1, "street": "1 Shared Street", "city": "Ghent"},  # Alice's and Sam's
        {"id": 2, "street": "2 Other Street", "city": "Ghent"},  # Bob's and Carol's
        {"id": 3, "street": "3 Store Street", "city": "Ghent"},  # the store's
        {"id": 4, "street": "4 Delivery Lane", "city": "Bruges"},  # only Alice's order ships here
        {"id": 5, "street": "5 Manager Road", "city": "Antwerp"},  # Max's
        {"id": 6, "street": "6 Own Street", "city": "Mons"},  # Dave's alone
    ],
    "staff": [
        {
            "id": 2,
            "email": "max@company.example",
            "phone": "02 555 00 00",
            "name": "Max",
            "address_id": 5,
            "manager_id": None,
            "store_id": None,
        },
        {
            "id": 1,
            "email": "sam@company.example",
            "phone": "+32 2 555 00 00",
            "name": "Sam",
            "address_id": 1,
            "manager_id": 2,
            "store_id": None,
        },
    ],
    "store": [{"id": 1, "address_id": 3, "manager_id": 2}],
    "customer": [
        {
            "id": 1,
            "email": "alice@example.com",
            "name": "Alice",
            "address_id": 1,
            "support_rep_id": 1,
            "referred_by": None,
            "store_id": 1,
            "restricted": False,
        },
        {
            "id": 2,
            "email": "bob@example.com",
            "name": "Bob",
            "address_id": 2,
            "support_rep_id": 1,
            "referred_by": 1,
            "store_id": 1,
            "restricted": False,
        },
        {
            "id": 3,
            "email": "carol@example.com",
            "name": "Carol",
            "address_id": 2,
            "support_rep_id": 2,
            "referred_by": None,
            "store_id": 1,
            "restricted": False,
        },
        {
            "id": 4,
            "email": "dave@example.com",
            "name": "Dave",
            "address_id": 6,
            "support_rep_id": 2,
            "referred_by": None,
            "store_id": 1,
            "restricted": False,
        },
    ],
    "orders": [
        {"id": 10, "customer_id": 1, "employee_id": 1, "shipping_address_id": 4},
        {"id": 11, "customer_id": 1, "employee_id": 2, "shipping_address_id": 1},
        {"id": 12, "customer_id": 2, "employee_id": 1, "shipping_address_id": 2},
    ],
    "order_lines": [
        {"order_id": 10, "line_no": 1, "product": "pen"},
        {"order_id": 10, "line_no": 2, "product": "ink"},
        {"order_id": 11, "line_no": 1, "product": "pad"},
        {"order_id": 12, "line_no": 1, "product": "pen"},
    ],
    "messages": [
        {"id": 1, "customer_id": 1, "staff_id": 1, "body": "Alice asks Sam"},
        {"id": 2, "customer_id": 2, "staff_id": 1, "body": "Bob asks Sam"},
    ],
    "transfers": [
        {"id": 1, "from_customer": 1, "to_customer": 2, "amount": 5},
        {"id": 2, "from_customer": 2, "to_customer": 3, "amount": 7},
    ],
    "events": [
        {"id": 1, "customer_id": 1, "created": date(2025, 3, 1)},
        {"id": 2, "customer_id": 2, "created": date(2025, 4, 1)},
        {"id": 3, "customer_id": 1, "created": date(2026, 2, 1)},
    ],
}

# Alice's rows, by key: what an access for alice@example.com must hold, exactly.
ALICE: Rows = {
    "customer": {(1,)},
    "orders": {(10,), (11,)},
    "order_lines": {(10, 1), (10, 2), (11, 1)},
    "messages": {(1,)},
    "events": {(1, date(2025, 3, 1)), (3, date(2026, 2, 1))},
    "address": {(1,), (4,)},  # parents: her own address (shared with Sam) and her order's
}
KEYS = {"order_lines": ("order_id", "line_no"), "events": ("id", "created")}


def schema(metadata: sa.MetaData, partitioned: bool) -> None:
    integer = sa.Integer
    sa.Table(
        "address",
        metadata,
        sa.Column("id", integer, primary_key=True, autoincrement=False),
        sa.Column("street", sa.String(100)),
        sa.Column("city", sa.String(100)),
    )
    sa.Table(
        "store",
        metadata,
        sa.Column("id", integer, primary_key=True, autoincrement=False),
        sa.Column("address_id", integer, sa.ForeignKey("address.id")),
        sa.Column("manager_id", integer, sa.ForeignKey("staff.id", use_alter=True)),
    )
    sa.Table(
        "staff",
        metadata,
        sa.Column("id", integer, primary_key=True, autoincrement=False),
        sa.Column("email", sa.String(100)),
        sa.Column("phone", sa.String(40)),
        sa.Column("name", sa.String(100)),
        sa.Column("address_id", integer, sa.ForeignKey("address.id")),
        sa.Column("manager_id", integer, sa.ForeignKey("staff.id")),
        sa.Column("store_id", integer, sa.ForeignKey("store.id", use_alter=True)),
    )
    sa.Table(
        "customer",
        metadata,
        sa.Column("id", integer, primary_key=True, autoincrement=False),
        sa.Column("email", sa.String(100)),
        sa.Column("name", sa.String(100)),
        sa.Column("address_id", integer, sa.ForeignKey("address.id")),
        sa.Column("support_rep_id", integer, sa.ForeignKey("staff.id")),
        sa.Column("referred_by", integer, sa.ForeignKey("customer.id")),
        sa.Column("store_id", integer, sa.ForeignKey("store.id")),
        sa.Column("restricted", sa.Boolean, nullable=False),
    )
    sa.Table(
        "orders",
        metadata,
        sa.Column("id", integer, primary_key=True, autoincrement=False),
        sa.Column("customer_id", integer, sa.ForeignKey("customer.id")),
        sa.Column("employee_id", integer, sa.ForeignKey("staff.id")),
        sa.Column("shipping_address_id", integer, sa.ForeignKey("address.id")),
    )
    sa.Table(
        "order_lines",
        metadata,
        sa.Column("order_id", integer, sa.ForeignKey("orders.id"), primary_key=True, autoincrement=False),
        sa.Column("line_no", integer, primary_key=True, autoincrement=False),
        sa.Column("product", sa.String(40)),
    )
    sa.Table(
        "messages",
        metadata,
        sa.Column("id", integer, primary_key=True, autoincrement=False),
        sa.Column("customer_id", integer, sa.ForeignKey("customer.id")),
        sa.Column("staff_id", integer, sa.ForeignKey("staff.id")),
        sa.Column("body", sa.String(200)),
    )
    sa.Table(
        "transfers",
        metadata,
        sa.Column("id", integer, primary_key=True, autoincrement=False),
        sa.Column("from_customer", integer, sa.ForeignKey("customer.id")),
        sa.Column("to_customer", integer, sa.ForeignKey("customer.id")),
        sa.Column("amount", integer),
    )
    events = sa.Table(
        "events",
        metadata,
        sa.Column("id", integer, primary_key=True, autoincrement=False),
        sa.Column("customer_id", integer, sa.ForeignKey("customer.id")),
        sa.Column("created", sa.Date, primary_key=True),
    )
    if partitioned:  # PostgreSQL: a partitioned table, one partition per year
        events.dialect_options["postgresql"]["partition_by"] = "RANGE (created)"


def build(url: str) -> sa.Engine:
    engine = connect(url, system="company")
    metadata = sa.MetaData()
    partitioned = engine.dialect.name == "postgresql"
    schema(metadata, partitioned)
    with engine.begin() as connection:
        metadata.create_all(connection)
        if partitioned:
            for year in (2025, 2026):
                connection.exec_driver_sql(
                    f"CREATE TABLE events_{year} PARTITION OF events "
                    f"FOR VALUES FROM ('{year}-01-01') TO ('{year + 1}-01-01')"
                )
        for name in (
            "address",
            "staff",
            "store",
            "customer",
            "orders",
            "order_lines",
            "messages",
            "transfers",
            "events",
        ):
            connection.execute(metadata.tables[name].insert(), ROWS[name])
    return engine


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def company(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, sa.Engine, str]]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'company.db'}"
        sa.create_engine(url).dispose()
        (tmp_path / "company.db").touch()
    else:
        url = request.getfixturevalue("postgres_url" if request.param == "postgresql" else "mariadb_url")
    engine = build(url)
    yield tmp_path, engine, url
    engine.dispose()


def load(folder: Path, url: str, support_rep: str = "staff.id") -> LoadedMap:
    path = folder / "datavow.yaml"
    path.write_text(MAP.format(url=url, support_rep=support_rep), encoding="utf-8")
    return load_map(path)


def find(loaded: LoadedMap, engine: sa.Engine, *, refuse: bool = True, **given: list[str]) -> Discovery:
    identities = parse_identities(loaded, given)
    plan = compile_plan(loaded, list(identities))
    with engine.connect() as connection:
        return discover(loaded, plan, identities, {"company": connection}, refuse_strangers=refuse)


def snapshot(engine: sa.Engine) -> Rows:
    """Every row of every table, as tuples keyed by table."""
    metadata = sa.MetaData()
    metadata.reflect(engine, only=list(ROWS))
    with engine.connect() as connection:
        return {
            name: {tuple(_plain(v) for v in row) for row in connection.execute(sa.select(metadata.tables[name]))}
            for name in ROWS
        }


def _plain(value: object) -> object:
    return value.date() if isinstance(value, datetime) else value


def without(rows: Rows, removed: Rows) -> Rows:
    """``rows`` less the rows whose key is in ``removed`` (the person's), by table."""
    kept: Rows = {}
    for name, found in rows.items():
        width = len(KEYS.get(name, ("id",)))
        positions = _key_positions(name, width)
        kept[name] = {row for row in found if tuple(row[i] for i in positions) not in removed.get(name, set())}
    return kept


def _key_positions(name: str, width: int) -> list[int]:
    columns = list(ROWS[name][0])
    return [columns.index(column) for column in KEYS.get(name, ("id",))][:width]


# --------------------------------------------------------------------------- the tests


def test_a_request_reaches_exactly_the_person_and_exports_exactly_her_rows(
    company: tuple[Path, sa.Engine, str],
) -> None:
    folder, engine, url = company
    loaded = load(folder, url)
    found = find(loaded, engine, email=["Alice@Example.com"])
    assert found.reach is not None and found.reach.one_person and found.reach.people == 1
    assert {label.split(".")[1]: rows for label, rows in found.counts().items() if rows} == {
        name: len(keys) for name, keys in ALICE.items()
    }
    shared = found.selections[("company", "address")]
    assert shared.shared_rows == 1 and shared.shared_with == 1  # address 1: Sam's staff row points at it too
    out = folder / "out"
    out.mkdir()
    info = ExportInfo("REQ-1", NOW, {"email": ["alice@example.com"]})
    package = export_access(
        loaded,
        found,
        {"company": engine},
        out / "alice.dvs",
        key=KEY,
        request=info,
        expires_at=datetime.now(UTC) + timedelta(days=30),
    )
    archive = zipfile.ZipFile(read_export(package.path, KEY, out))
    exported = {
        name.split("/")[-1].removesuffix(".json"): json.loads(archive.read(name))
        for name in archive.namelist()
        if name.startswith("data/company/") and name.endswith(".json")
    }
    keys = {
        name: {tuple(_exported_key(row[column]) for column in KEYS.get(name, ("id",))) for row in rows}
        for name, rows in exported.items()
    }
    assert keys == ALICE


def _exported_key(value: object) -> object:
    if isinstance(value, str) and len(value) >= 10 and value[4] == "-":
        return date.fromisoformat(value[:10])
    return value


def test_staff_reach_their_own_rows_not_the_customers_orders_or_stores_that_name_them(
    company: tuple[Path, sa.Engine, str],
) -> None:
    folder, engine, url = company
    loaded = load(folder, url)
    found = find(loaded, engine, email=["sam@company.example"])
    reached = {label.split(".")[1] for label, rows in found.counts().items() if rows}
    # Sam is the support rep of two customers, the employee on two orders, in one message, and lives
    # at Alice's address: only his own row and his address, which is shared and stays unchanged.
    assert reached == {"staff", "address"}
    assert found.selections[("company", "address")].changeable().is_empty()


def test_erasure_changes_exactly_the_persons_rows(company: tuple[Path, sa.Engine, str]) -> None:
    folder, engine, url = company
    loaded = load(folder, url)
    before = snapshot(engine)
    found = find(loaded, engine, email=["alice@example.com"])
    result = erase(loaded, found, {"company": engine}, key=KEY, now=NOW)
    assert result.complete, result.to_dict()
    after = snapshot(engine)
    mine = {name: keys for name, keys in ALICE.items() if name != "address"} | {"address": {(4,)}}
    assert without(after, mine) == without(before, mine)  # every other row, of every table, as it was
    assert not {row for row in after["orders"] if row[1] == 1} and len(after["order_lines"]) == 1
    alice = next(row for row in after["customer"] if row[0] == 1)
    assert alice[1] != "alice@example.com" and alice[2] is None  # anonymised, kept
    assert (1, "1 Shared Street", "Ghent") in after["address"] and not {r for r in after["address"] if r[0] == 4}
    address = result.step("company.address")
    assert address.shared == 1 and address.shared_with == 1 and address.deleted == 1


def test_rectification_and_restriction_change_exactly_the_persons_rows(
    company: tuple[Path, sa.Engine, str],
) -> None:
    folder, engine, url = company
    loaded = load(folder, url)
    before = snapshot(engine)
    found = find(loaded, engine, email=["alice@example.com"])
    flagged = set_restriction_flags(loaded, found, {"company": engine}, True)
    assert flagged == {"company.customer": 1}
    fixed = rectify(
        loaded,
        found,
        {"company": engine},
        {"user.contact.email": "alice@example.org", "user.contact.address.street": "9 New Street"},
        now=NOW,
    )
    assert fixed.complete
    after = snapshot(engine)
    changed = {"customer": {(1,)}, "address": {(4,)}}
    assert without(after, changed) == without(before, changed)
    assert (1, "alice@example.org", "Alice", 1, 1, None, 1, True) in after["customer"]
    assert (4, "9 New Street", "Bruges") in after["address"]
    assert (1, "1 Shared Street", "Ghent") in after["address"]  # shared with Sam: never corrected


def test_a_link_declared_as_ownership_is_refused_before_anything_changes(
    company: tuple[Path, sa.Engine, str],
) -> None:
    folder, engine, url = company
    loaded = load(folder, url, support_rep="{to: staff, to_columns: id, owner: true}")
    before = snapshot(engine)
    with pytest.raises(PlanError) as refused:
        find(loaded, engine, email=["sam@company.example"])
    message = str(refused.value)
    assert "reaches 3 people" in message
    assert "company.staff → customer.support_rep_id → company.customer" in message
    assert "owner: false" in message and "company.customer.support_rep_id" in message
    # the dry run shows it instead of refusing
    dry = find(loaded, engine, refuse=False, email=["sam@company.example"])
    assert dry.reach is not None and dry.reach.people == 3
    console = Console(record=True, width=200)
    console.print(render_plan(loaded, dry.plan, dry))
    assert "reaches 3 people: refused" in console.export_text()
    assert snapshot(engine) == before


def test_a_shared_number_is_several_people(company: tuple[Path, sa.Engine, str]) -> None:
    folder, engine, url = company
    loaded = load(folder, url)
    with pytest.raises(PlanError, match=r"reaches 2 people.*company.staff.*2 different email values.*email instead"):
        find(loaded, engine, phone=["+32 2 555 00 00"])  # Sam's and Max's switchboard, written two ways
    found = find(loaded, engine, email=["max@company.example"])
    assert found.reach is not None and found.reach.one_person


def test_check_names_the_ambiguous_reference_with_its_fix(tmp_path: Path) -> None:
    loaded = load(tmp_path, f"sqlite:///{tmp_path / 'unused.db'}")
    findings = [f for f in run_lint(loaded) if f.rule == "reference-ownership-ambiguous"]
    assert [f.target for f in findings] == ["company.transfers"]
    assert "from_customer → company.customer, to_customer → company.customer" in findings[0].message
    assert "owner: true" in (findings[0].hint or "")


def test_a_batch_is_checked_person_by_person(company: tuple[Path, sa.Engine, str]) -> None:
    folder, engine, url = company
    loaded = load(folder, url)
    alice = parse_identities(loaded, {"email": ["alice@example.com"]})
    bob = parse_identities(loaded, {"email": ["bob@example.com"]})
    max_by_phone = parse_identities(loaded, {"phone": ["02 555 00 00"]})

    def batch(*people: dict[str, frozenset[object]]) -> Discovery:
        merged: dict[str, set[object]] = {}
        for person in people:
            for kind, values in person.items():
                merged.setdefault(kind, set()).update(values)
        plan = compile_plan(loaded, list(merged))
        with engine.connect() as connection:
            return discover(loaded, plan, merged, {"company": connection}, people=list(people))

    together = batch(alice, bob)  # two people, each one person: the batch goes ahead
    assert together.reach is not None and together.reach.people == 2 and together.reach.one_person
    assert together.counts()["company.customer"] == 2
    # one of them named by the switchboard number, which two members of staff share: refused
    with pytest.raises(PlanError, match=r"reaches 4 people.*company.staff"):
        batch(alice, bob, max_by_phone)


def test_the_dry_run_says_how_many_people_and_why_a_run_would_be_refused(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from datavow.cli import main

    url = f"sqlite:///{tmp_path / 'company.db'}"
    (tmp_path / "company.db").touch()
    build(url).dispose()
    loaded = load(tmp_path, url)
    args = ["request", "access", "--map", str(loaded.path), "--dry-run"]
    shared = CliRunner().invoke(main, [*args, "--phone", "+32 2 555 00 00"], catch_exceptions=False)
    assert shared.exit_code == 0, shared.output
    text = " ".join(shared.output.split())
    assert "reaches 2 people: refused" in text
    assert "refused when run: the request reaches 2 people" in text and "by their email instead" in text
    alone = CliRunner().invoke(main, [*args, "--email", "alice@example.com"], catch_exceptions=False)
    assert "reaches 1 person" in alone.output and "refused when run" not in alone.output
    assert not (tmp_path / ".datavow" / "state.db").exists()  # nothing recorded


def test_a_parent_row_the_persons_kept_row_still_points_at_is_kept_not_deleted(
    company: tuple[Path, sa.Engine, str],
) -> None:
    folder, engine, url = company
    loaded = load(folder, url)
    before = snapshot(engine)
    found = find(loaded, engine, email=["dave@example.com"])
    result = erase(loaded, found, {"company": engine}, key=KEY, now=NOW)
    # Dave's customer row is anonymised and stays, pointing at his address: deleting the address
    # would break the foreign key (and roll everything back), so it stays, its street erased
    assert result.complete, result.to_dict()
    address = result.step("company.address")
    assert (address.deleted, address.kept, address.kept_referenced) == (0, 1, 1)
    after = snapshot(engine)
    assert (6, None, "Mons") in after["address"]
    changed = {"customer": {(4,)}, "address": {(6,)}}
    assert without(after, changed) == without(before, changed)


def test_a_person_other_rows_still_name_is_kept_with_fields_erased_even_by_a_delete(
    company: tuple[Path, sa.Engine, str],
) -> None:
    folder, engine, url = company
    path = folder / "datavow.yaml"
    path.write_text(
        MAP.format(url=url, support_rep="staff.id").replace(
            "        subject: staff\n        identity: {email: email, phone: phone}\n        erase: anonymize",
            "        subject: staff\n        identity: {email: email, phone: phone}\n        erase: delete",
        ),
        encoding="utf-8",
    )
    loaded = load_map(path)
    before = snapshot(engine)
    found = find(loaded, engine, email=["max@company.example"])
    result = erase(loaded, found, {"company": engine}, key=KEY, now=NOW)
    # Max manages Sam (a reference of staff to itself), the store, and is Carol's support rep and
    # the employee on order 11: his row stays, with what the map says to erase erased
    assert result.complete, result.to_dict()
    staff = result.step("company.staff")
    assert (staff.deleted, staff.kept_referenced) == (0, 1)
    after = snapshot(engine)
    max_row = next(row for row in after["staff"] if row[0] == 2)
    assert max_row[1] != "max@company.example" and max_row[2] is None and max_row[3] is None
    assert (5, None, "Antwerp") in after["address"]  # his own address: kept (his row points at it), street erased
    changed = {"staff": {(2,)}, "address": {(5,)}}
    assert without(after, changed) == without(before, changed)
