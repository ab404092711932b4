"""The whole request cycle on public sample databases (tests/data/samples/), on SQLite, PostgreSQL and MariaDB.

Each case names one person who shares rows with other people (a support rep whom customers name, a
customer whose address a staff member lives at, an employee on other people's orders) and says, in
SQL written by hand, which rows are that person's. Access must export exactly those rows; erasure,
rectification and restriction must change only those rows: every other row of every table is the
same before and after. A map that calls a link ownership must be refused before anything changes.
"""

from __future__ import annotations

import json
import re
import warnings
import zipfile
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from datavow import load_map
from datavow.connectors.sql import connect
from datavow.datamap.load import LoadedMap
from datavow.errors import PlanError
from datavow.plan import Discovery, compile_plan, discover, parse_identities
from datavow.requests.erasure import erase
from datavow.requests.export import ExportInfo, export_access, read_export, withheld_columns
from datavow.requests.export.rows import json_value
from datavow.requests.rectification import rectify
from datavow.requests.restricting import set_restriction_flags
from tests.samples import add_restriction_flags, load_sample, map_text

KEY = bytes(range(32))
NOW = datetime(2026, 3, 1, 12, 0)
BACKENDS = ["sqlite", "postgresql", "mariadb"]
SERVER = {"postgresql": "postgres_url", "mariadb": "mariadb_url"}

Tables = Mapping[str, sa.Table]
Where = Callable[[Tables], sa.ColumnElement[bool]]
Snapshot = dict[str, set[tuple[Any, ...]]]


@dataclass(frozen=True)
class Person:
    """One person of a sample, and which of its rows are theirs."""

    case: str
    sample: str
    system: str
    identities: dict[str, list[str]]
    own: dict[str, Where]  # table -> the person's rows, by hand; every other table holds none of theirs
    correction: dict[str, str]  # a rectification: category or field path -> new value
    # The map line of a link that leads to this person, and its wrong version calling it ownership:
    # the guard must refuse that map. None where the case is not the one showing the guard.
    leak: tuple[str, str] | None
    # Parent rows the person's rows point at, which other people's rows point at too (a shared
    # address): exported, but never changed.
    shared: dict[str, Where] = field(default_factory=dict)
    # A change to the published rows before the test, where the subset lacks the sharing to test.
    setup: Callable[[sa.Connection, Tables], None] | None = None


def _sub(tables: Tables, table: str, column: str, where: sa.ColumnElement[bool]) -> sa.Select[Any]:
    return sa.select(tables[table].c[column]).where(where)


CHINOOK_SUPPORT_REP = (
    "SupportRepId: {to: Employee, to_columns: [EmployeeId], owner: false}",
    "SupportRepId: {to: Employee, to_columns: [EmployeeId], owner: true}",
)


def share_marys_address(connection: sa.Connection, t: Tables) -> None:
    """Patricia (customer 2) and Jon (staff 2) move in with Mary (customer 1) at address 5: in the
    published rows no two people share an address, but the schema lets them, and real shops do."""
    connection.execute(sa.update(t["customer"]).where(t["customer"].c.customer_id == 2).values(address_id=5))
    connection.execute(sa.update(t["staff"]).where(t["staff"].c.staff_id == 2).values(address_id=5))


SAKILA_STAFF_ON_PAYMENTS = (
    "staff_id: {to: staff, to_columns: [staff_id], owner: false}",
    "staff_id: {to: staff, to_columns: [staff_id], owner: true}",
)

NORTHWIND_EMPLOYEE_ON_ORDERS = (
    "employee_id: {to: employees, to_columns: [employee_id], owner: false}",
    "employee_id: {to: employees, to_columns: [employee_id], owner: true}",
)

PEOPLE = [
    # Jane Peacock, a sales support agent: 21 customers name her as their support rep, and she shares
    # her office phone number with her manager.
    Person(
        case="chinook-support-rep",
        sample="chinook",
        system="store",
        identities={"email": ["jane@chinookcorp.com"]},
        own={"Employee": lambda t: t["Employee"].c.EmployeeId == 3},
        correction={"user.contact.phone_number": "+1 (403) 555-0103"},
        leak=CHINOOK_SUPPORT_REP,
    ),
    # Luís Gonçalves, a customer whose support rep is Jane: his invoices and their lines are his.
    Person(
        case="chinook-customer",
        sample="chinook",
        system="store",
        identities={"email": ["luisg@embraer.com.br"]},
        own={
            "Customer": lambda t: t["Customer"].c.CustomerId == 1,
            "Invoice": lambda t: t["Invoice"].c.CustomerId == 1,
            "InvoiceLine": lambda t: t["InvoiceLine"].c.InvoiceId.in_(
                _sub(t, "Invoice", "InvoiceId", t["Invoice"].c.CustomerId == 1)
            ),
        },
        correction={"user.contact.address.city": "Campinas"},
        leak=None,
    ),
    # Mary Smith, a customer: her rentals and payments are hers; her address is shared with another
    # customer and a staff member (kept, exported); the staff who served her are other people.
    Person(
        case="sakila-customer",
        sample="sakila",
        system="rental",
        identities={"email": ["mary.smith@sakilacustomer.org"]},
        own={
            "customer": lambda t: t["customer"].c.customer_id == 1,
            "rental": lambda t: t["rental"].c.customer_id == 1,
            "payment": lambda t: t["payment"].c.customer_id == 1,
        },
        shared={"address": lambda t: t["address"].c.address_id == 5},
        correction={"user.name.last": "SMYTHE"},
        leak=None,
        setup=share_marys_address,
    ),
    # Jon Stephens, staff: he served customers (rentals, payments) and lives at Mary's address.
    Person(
        case="sakila-staff",
        sample="sakila",
        system="rental",
        identities={"email": ["jon.stephens@sakilastaff.com"]},
        own={"staff": lambda t: t["staff"].c.staff_id == 2},
        shared={"address": lambda t: t["address"].c.address_id == 5},
        correction={"user.account.username": "jstephens"},
        leak=SAKILA_STAFF_ON_PAYMENTS,
        setup=share_marys_address,
    ),
    # Steven Buchanan, sales manager: he took orders of two customers and manages three employees;
    # his territories are his.
    Person(
        case="northwind-employee",
        sample="northwind",
        system="trade",
        identities={"employee_no": ["5"]},
        own={
            "employees": lambda t: t["employees"].c.employee_id == 5,
            "employee_territories": lambda t: t["employee_territories"].c.employee_id == 5,
        },
        correction={"user.contact.phone_number": "(71) 555-0105"},
        leak=NORTHWIND_EMPLOYEE_ON_ORDERS,
    ),
    # Chop-suey Chinese's contact: their order and its lines are theirs, the employee is not.
    Person(
        case="northwind-customer",
        sample="northwind",
        system="trade",
        identities={"customer_code": ["CHOPS"]},
        own={
            "customers": lambda t: t["customers"].c.customer_id == "CHOPS",
            "orders": lambda t: t["orders"].c.customer_id == "CHOPS",
            "order_details": lambda t: t["order_details"].c.order_id == 10254,
        },
        correction={"user.name": "Yang Wáng"},
        leak=None,
    ),
]


# --------------------------------------------------------------------------- the sample, loaded


@dataclass
class Loaded:
    person: Person
    loaded: LoadedMap
    engine: Engine
    tables: dict[str, sa.Table]

    @property
    def engines(self) -> dict[str, Engine]:
        return {self.person.system: self.engine}


def sample_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest, name: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / f'{name}.db'}"
    return str(request.getfixturevalue(SERVER[backend]))


def write_map(folder: Path, text: str) -> LoadedMap:
    path = folder / "datavow.yaml"
    path.write_text(text, encoding="utf-8")
    return load_map(path)


def load(person: Person, backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Loaded:
    url = sample_url(backend, tmp_path, request, person.sample)
    loader = sa.create_engine(url, poolclass=NullPool)
    load_sample(person.sample, loader)
    loader.dispose()
    # the engine datavow itself opens: on SQLite it carries datavow's own SQL functions
    engine = connect(url, system=person.system)
    request.addfinalizer(engine.dispose)
    loaded = write_map(tmp_path, map_text(person.sample, engine.url.render_as_string(hide_password=False)))
    add_restriction_flags(engine, loaded)
    metadata = sa.MetaData()
    with warnings.catch_warnings():
        # PostgreSQL's bpchar (pg_dump's Northwind) is unknown to SQLAlchemy: read raw below anyway
        warnings.simplefilter("ignore", sa.exc.SAWarning)
        metadata.reflect(engine)
    for table in metadata.tables.values():
        for column in table.columns:
            # the values as the driver returns them: SQLAlchemy's SQLite DATE and REAL processors
            # refuse the text Northwind's dump stores there, and a snapshot compares raw values
            column.type = sa.types.NullType()
    tables = dict(metadata.tables)
    if person.setup is not None:
        with engine.begin() as connection:
            person.setup(connection, tables)
    return Loaded(person, loaded, engine, tables)


def discovered(sample: Loaded, loaded: LoadedMap | None = None) -> Discovery:
    loaded = loaded or sample.loaded
    plan = compile_plan(loaded, sample.person.identities)
    with ExitStack() as stack:
        connections = {system: stack.enter_context(sample.engines[system].connect()) for system in plan.systems()}
        return discover(loaded, plan, parse_identities(loaded, sample.person.identities), connections)


# --------------------------------------------------------------------------- looking at the data


def key_of(table: sa.Table, row: Mapping[Any, Any]) -> tuple[Any, ...]:
    return tuple(row[column.name] for column in table.primary_key.columns)


def persons_rows(sample: Loaded, *, shared: bool = False) -> dict[str, list[dict[str, Any]]]:
    """The person's rows, per table, found by the hand-written conditions (in key order); with
    ``shared``, the shared parent rows they point at instead."""
    found: dict[str, list[dict[str, Any]]] = {}
    conditions = sample.person.shared if shared else sample.person.own
    with sample.engine.connect() as connection:
        for name, where in conditions.items():
            table = sample.tables[name]
            query = sa.select(table).where(where(sample.tables)).order_by(*table.primary_key.columns)
            found[name] = [dict(row) for row in connection.execute(query).mappings()]
    return found


def persons_keys(sample: Loaded) -> dict[str, set[tuple[Any, ...]]]:
    return {name: {key_of(sample.tables[name], row) for row in rows} for name, rows in persons_rows(sample).items()}


def others(sample: Loaded, excluded: Mapping[str, set[tuple[Any, ...]]]) -> Snapshot:
    """Every row of every table, except the person's (by key): what must not change."""
    state: Snapshot = {}
    with sample.engine.connect() as connection:
        for name, table in sorted(sample.tables.items()):
            skip = excluded.get(name, set())
            rows = connection.execute(sa.select(table)).mappings()
            state[name] = {tuple(row.values()) for row in rows if key_of(table, row) not in skip}
    return state


def comparable(value: Any) -> Any:
    """A value as the package and a raw read can both give it: which rows, not how a number or a
    time is written, is what these tests check (a REAL is 22.9799995 to the driver, '22.9799995000'
    once reflected as NUMERIC)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return value
    if isinstance(value, str) and re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d", value):
        return value.replace("T", " ", 1)  # the package writes ISO 8601; SQLite stores text
    try:
        return round(float(value), 5)
    except ValueError:
        return value


def exported(package: Path, dest: Path) -> dict[str, list[dict[str, Any]]]:
    archive = zipfile.ZipFile(read_export(package, KEY, dest))
    tables: dict[str, list[dict[str, Any]]] = {}
    for name in archive.namelist():
        if name.startswith("data/") and name.endswith(".json"):
            tables[name.removeprefix("data/").removesuffix(".json")] = json.loads(archive.read(name))
    return tables


def only_changed(sample: Loaded, before_keys: dict[str, set[tuple[Any, ...]]], before: Snapshot) -> None:
    """Assert that no row but the person's changed, naming the table that did."""
    after = others(sample, before_keys)
    for name in before:
        assert after[name] == before[name], f"{name}: rows of other people changed"


# --------------------------------------------------------------------------- the tests

CASES = [pytest.param(person, backend, id=f"{person.case}-{backend}") for person in PEOPLE for backend in BACKENDS]


@pytest.mark.parametrize(("person", "backend"), CASES)
def test_access_exports_exactly_the_persons_rows(
    person: Person, backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    sample = load(person, backend, tmp_path, request)
    wanted = {**persons_rows(sample), **persons_rows(sample, shared=True)}
    expected = {f"{person.system}/{name}": rows for name, rows in wanted.items() if rows}
    assert expected, "the case must name rows of the person"

    package = export_access(
        sample.loaded,
        discovered(sample),
        sample.engines,
        tmp_path / "access.zip.dvs",
        key=KEY,
        request=ExportInfo("ACCESS-1", datetime(2026, 3, 1, tzinfo=UTC), person.identities),
        expires_at=datetime.now(UTC) + timedelta(days=30),
    )

    got = exported(package.path, tmp_path)
    assert sorted(got) == sorted(expected), "the package holds other tables than the person's"
    for label, rows in expected.items():
        withheld = set(withheld_columns(sample.loaded, sample.loaded.table(*label.split("/"))))
        want = [{c: comparable(json_value(v)) for c, v in row.items() if c not in withheld} for row in rows]
        have = [{c: comparable(v) for c, v in row.items()} for row in got[label]]
        assert have == want, f"{label}: the package holds other rows than the person's"


@pytest.mark.parametrize(("person", "backend"), CASES)
def test_erasure_changes_only_the_persons_rows(
    person: Person, backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    sample = load(person, backend, tmp_path, request)
    mine = persons_rows(sample)
    keys = {name: {key_of(sample.tables[name], row) for row in rows} for name, rows in mine.items()}
    before = others(sample, keys)

    result = erase(sample.loaded, discovered(sample), sample.engines, key=KEY, now=NOW)

    assert result.complete
    only_changed(sample, keys, before)
    # ... and the person's own rows did change: deleted, or every identity erased
    after = persons_keys_by(sample, keys)
    for name, rows in mine.items():
        ref = sample.loaded.table(person.system, name)
        if ref.table.erase == "delete":
            assert after[name] == [], f"{name}: the person's rows were not deleted"
        else:
            assert all(new != old for old, new in zip(rows, after[name], strict=True)), f"{name}: nothing erased"


@pytest.mark.parametrize(("person", "backend"), CASES)
def test_rectification_changes_only_the_persons_rows(
    person: Person, backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    sample = load(person, backend, tmp_path, request)
    keys = persons_keys(sample)
    before = others(sample, keys)

    result = rectify(sample.loaded, discovered(sample), sample.engines, person.correction, now=NOW)

    only_changed(sample, keys, before)
    (new_value,) = person.correction.values()
    corrected = persons_keys_by(sample, keys)
    assert any(new_value in row.values() for rows in corrected.values() for row in rows), f"nothing corrected: {result}"


@pytest.mark.parametrize(("person", "backend"), CASES)
def test_restriction_flags_only_the_persons_rows(
    person: Person, backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    sample = load(person, backend, tmp_path, request)
    keys = persons_keys(sample)
    before = others(sample, keys)

    changed = set_restriction_flags(sample.loaded, discovered(sample), sample.engines, True)

    only_changed(sample, keys, before)
    flagged = persons_keys_by(sample, keys)
    for name, rows in flagged.items():
        flag = sample.loaded.table(person.system, name).table.restriction_flag
        if flag is not None:
            assert rows and all(row[flag] for row in rows), f"{name}: the person's rows are not flagged"
            assert changed[f"{person.system}.{name}"] == len(rows)


GUARD_CASES = [
    pytest.param(person, backend, id=f"{person.case}-{backend}")
    for person in PEOPLE
    if person.leak is not None
    for backend in BACKENDS
]


@pytest.mark.parametrize(("person", "backend"), GUARD_CASES)
def test_a_link_declared_as_ownership_is_refused_before_anything_changes(
    person: Person, backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    sample = load(person, backend, tmp_path, request)
    assert person.leak is not None
    right, wrong = person.leak
    text = map_text(person.sample, sample.engine.url.render_as_string(hide_password=False))
    assert right in text
    (tmp_path / "leaky").mkdir()
    leaky = write_map(tmp_path / "leaky", text.replace(right, wrong))
    before = others(sample, {})

    with pytest.raises(PlanError) as refused:
        erase(leaky, discovered(sample, leaky), sample.engines, key=KEY, now=NOW)

    assert right.split(":")[0] in str(refused.value), "the error must name the reference that leaked"
    assert others(sample, {}) == before


def persons_keys_by(sample: Loaded, keys: Mapping[str, set[tuple[Any, ...]]]) -> dict[str, list[dict[str, Any]]]:
    """The rows that were the person's before (by key), as they are now."""
    now: dict[str, list[dict[str, Any]]] = {}
    with sample.engine.connect() as connection:
        for name, wanted in keys.items():
            table = sample.tables[name]
            rows = connection.execute(sa.select(table).order_by(*table.primary_key.columns)).mappings()
            now[name] = [dict(row) for row in rows if key_of(table, row) in wanted]
    return now
