"""The demo companies: maps that load, databases that match them, and the mess planted on purpose.

Every test builds real databases (SQLite files, and the suite's own PostgreSQL and MariaDB) and
looks at them through SQLAlchemy, never through the generator's own bookkeeping.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from pathlib import Path
from typing import TypedDict

import pytest
import sqlalchemy as sa

from datavow.audit import list_entries, verify_chain
from datavow.check import check_map
from datavow.datamap import LoadedMap, TableRef, load_map
from datavow.demo import (
    COMPANIES,
    PASSWORD_VARIABLE,
    DemoCompany,
    build_demo,
    packaged_map,
    point_map,
    record_demo,
)
from datavow.errors import DemoError
from datavow.store import default_state_url, open_store

TODAY = date(2026, 3, 1)

# Where each company keeps one person twice, in two systems: (system.table.column) pairs.
SAME_PEOPLE = {
    "mira-software": ("platform.users.email", "business.contacts.email"),
    "mira-network": ("crm.persons.email", "platform.users.email"),
    "miralix": ("telephony.users.email", "support.cases.reporter_email"),
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> list[DemoCompany]:
    """All three companies at the default scale, on SQLite (as `datavow demo` builds them)."""
    return build_demo(tmp_path_factory.mktemp("demo"), today=TODAY)


@pytest.fixture(scope="module")
def maps(demo: list[DemoCompany]) -> dict[str, LoadedMap]:
    return {company.name: load_map(company.map_path) for company in demo}


def engine_for(loaded: LoadedMap, system: str) -> sa.Engine:
    return sa.create_engine(loaded.system_url(system))


def table_of(loaded: LoadedMap, ref: TableRef) -> sa.Table:
    engine = engine_for(loaded, ref.system_name)
    return sa.Table(ref.table_name, sa.MetaData(), schema=ref.schema, autoload_with=engine)


def column_values(loaded: LoadedMap, dotted: str) -> list[str]:
    system, table, column = dotted.split(".")
    with engine_for(loaded, system).connect() as conn:
        return [v for v in conn.execute(sa.text(f"SELECT {column} FROM {table}")).scalars() if v is not None]


def checksums(loaded: LoadedMap) -> dict[str, str]:
    """A digest of every table's rows, in primary-key order."""
    found = {}
    for ref in loaded.tables():
        table = table_of(loaded, ref)
        with engine_for(loaded, ref.system_name).connect() as conn:
            rows = conn.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
        found[ref.label] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return found


# --------------------------------------------------------------------------- the maps


def test_the_three_companies_are_built_in_order(demo: list[DemoCompany]) -> None:
    assert [c.name for c in demo] == list(COMPANIES) == ["mira-software", "mira-network", "miralix"]
    for company in demo:
        assert company.map_path == company.folder / "datavow.yaml"
        assert company.people > 500 and company.total_rows > 10_000
        assert sum(company.subjects.values()) >= company.people  # one person may be in several categories


def test_each_map_loads_and_points_at_its_own_sqlite_files(demo: list[DemoCompany], maps: dict[str, LoadedMap]) -> None:
    for company in demo:
        loaded = maps[company.name]
        assert set(loaded.model.systems) == set(company.systems)
        for system in loaded.model.systems:
            assert loaded.model.systems[system].url == f"sqlite:///{system}.db"  # relative: the folder moves
            assert loaded.system_url(system) == f"sqlite:///{(company.folder / f'{system}.db').resolve()}"


def test_every_declared_column_exists_and_no_undeclared_one(maps: dict[str, LoadedMap]) -> None:
    for loaded in maps.values():
        for system in loaded.model.systems:
            inspector = sa.inspect(engine_for(loaded, system))
            assert set(inspector.get_table_names()) == set(loaded.model.systems[system].tables), system
        for ref in loaded.tables():
            columns = {c["name"] for c in sa.inspect(engine_for(loaded, ref.system_name)).get_columns(ref.table_name)}
            assert columns == set(ref.table.fields), ref.label


def test_declared_primary_keys_are_the_databases(maps: dict[str, LoadedMap]) -> None:
    composite = []
    for loaded in maps.values():
        for ref in loaded.tables():
            key = sa.inspect(engine_for(loaded, ref.system_name)).get_pk_constraint(ref.table_name)
            if ref.table.primary_key is not None:
                assert key["constrained_columns"] == ref.table.primary_key, ref.label
            if len(key["constrained_columns"]) > 1:
                composite.append(ref.label)
    assert {
        "platform.materials",
        "crm.affiliations",
        "crm.communication_preferences",
        "hr.payslips",
        "telephony.voicemail",
    } <= set(composite)


def test_row_counts_are_what_the_builder_reports(demo: list[DemoCompany], maps: dict[str, LoadedMap]) -> None:
    for company in demo:
        loaded = maps[company.name]
        for ref in loaded.tables():
            with engine_for(loaded, ref.system_name).connect() as conn:
                count = conn.execute(sa.text(f"SELECT COUNT(*) FROM {ref.table_name}")).scalar()
            assert count == company.rows[ref.label] > 0, ref.label


# --------------------------------------------------------------------------- the mess


@pytest.mark.parametrize("name", COMPANIES)
def test_one_person_in_two_systems_typed_differently(maps: dict[str, LoadedMap], name: str) -> None:
    systems = {dotted.split(".")[0] for dotted in SAME_PEOPLE[name]}
    assert len(systems) == 2
    first, second = (column_values(maps[name], dotted) for dotted in SAME_PEOPLE[name])
    normalised = {v.strip().lower(): v for v in first}
    shared = [(normalised[v.strip().lower()], v) for v in second if v.strip().lower() in normalised]
    assert shared, "nobody is in both systems"
    assert any(a != b for a, b in shared), "the same address is never typed differently"


def test_rows_past_their_retention_are_waiting(maps: dict[str, LoadedMap]) -> None:
    checked = []
    for loaded in maps.values():
        for ref in loaded.tables():
            rule = ref.table.retention
            if rule is None or rule.after.table is not None:
                continue
            table = table_of(loaded, ref)
            column = table.c[rule.after.column]
            assert rule.keep is not None, f"{ref.label}: the demo's rules name their period"
            cutoff = rule.keep.before(datetime.combine(TODAY, time()))
            if isinstance(column.type, sa.Date) and not isinstance(column.type, sa.DateTime):
                cutoff = cutoff.date() if isinstance(cutoff, datetime) else cutoff
            query = sa.select(sa.func.count()).select_from(table).where(column < cutoff)
            if rule.where:
                query = query.where(sa.text(rule.where))
            with engine_for(loaded, ref.system_name).connect() as conn:
                assert conn.execute(query).scalar_one() > 0, f"nothing in {ref.label} is older than {rule.keep}"
            checked.append(ref.label)
    assert {
        "platform.login_events",
        "platform.support_tickets",
        "platform.customers",
        "business.invoices",
        "hr.payslips",
    } <= set(checked)


def test_nullable_references_hold_nulls(maps: dict[str, LoadedMap]) -> None:
    checked = []
    for loaded in maps.values():
        for ref in loaded.tables():
            table = table_of(loaded, ref)
            for reference in ref.table.references.values():
                column = table.c[reference.columns[0]]
                if len(reference.columns) > 1 or not column.nullable:
                    continue
                query = sa.select(sa.func.count()).select_from(table).where(column.is_(None))
                with engine_for(loaded, ref.system_name).connect() as conn:
                    assert conn.execute(query).scalar_one() > 0, f"{ref.label}.{column.name} is never NULL"
                checked.append(f"{ref.label}.{column.name}")
    assert {
        "platform.support_tickets.assignee_id",
        "business.contact_submissions.contact_id",
        "telephony.call_history.user_id",
        "crm.correspondence.person_id",
    } <= set(checked)


def test_people_share_addresses_and_numbers(maps: dict[str, LoadedMap]) -> None:
    shared_home = """SELECT COUNT(*) FROM (SELECT street, postal_code, city FROM records
                     GROUP BY street, postal_code, city HAVING COUNT(DISTINCT last_name || first_name) > 1) AS homes"""
    with engine_for(maps["mira-network"], "platform").connect() as conn:
        assert conn.execute(sa.text(shared_home)).scalar_one() > 0
    shared_phone = "SELECT COUNT(*) FROM (SELECT phone FROM users GROUP BY phone HAVING COUNT(*) > 1) AS numbers"
    with engine_for(maps["miralix"], "telephony").connect() as conn:
        assert conn.execute(sa.text(shared_phone)).scalar_one() > 0


def test_cross_system_references_point_at_real_rows(maps: dict[str, LoadedMap]) -> None:
    loaded = maps["mira-software"]
    customers = set(column_values(loaded, "platform.customers.id"))
    invoiced = set(column_values(loaded, "business.invoices.platform_customer_id"))
    assert invoiced and invoiced <= customers
    assert (
        loaded.model.systems["business"].tables["invoices"].references["platform_customer_id"].to
        == "platform.customers"
    )


# --------------------------------------------------------------------------- determinism


def test_same_seed_same_rows_other_seed_other_rows(tmp_path: Path) -> None:
    first = build_demo(tmp_path / "a", scale=0.2, today=TODAY)
    again = build_demo(tmp_path / "b", scale=0.2, today=TODAY)
    other = build_demo(tmp_path / "c", scale=0.2, seed=8, today=TODAY, companies=["miralix"])
    for one, two in zip(first, again, strict=True):
        assert checksums(load_map(one.map_path)) == checksums(load_map(two.map_path))
        assert one.rows == two.rows and one.people == two.people
    assert checksums(load_map(other[0].map_path)) != checksums(load_map(first[2].map_path))


def test_scale_multiplies_the_people(tmp_path: Path, demo: list[DemoCompany]) -> None:
    small = build_demo(tmp_path, scale=0.2, today=TODAY, companies=["miralix"])[0]
    full = next(c for c in demo if c.name == "miralix")
    assert 0.15 < small.people / full.people < 0.25
    assert 0.15 < small.rows["telephony.call_history"] / full.rows["telephony.call_history"] < 0.25


# --------------------------------------------------------------------------- building


def test_an_existing_demo_is_refused_unless_forced(tmp_path: Path) -> None:
    built = build_demo(tmp_path, scale=0.05, today=TODAY, companies=["miralix"])[0]
    (built.folder / "notes.txt").write_text("mine")
    with pytest.raises(DemoError, match="force"):
        build_demo(tmp_path, scale=0.05, today=TODAY, companies=["miralix"])
    assert (built.folder / "notes.txt").exists()
    rebuilt = build_demo(tmp_path, scale=0.05, today=TODAY, companies=["miralix"], force=True)[0]
    assert rebuilt.rows == built.rows
    assert not (built.folder / "notes.txt").exists()  # force replaces the company's folder
    load_map(rebuilt.map_path)


def test_progress_reports_every_table_up_to_its_total(tmp_path: Path) -> None:
    seen: dict[tuple[str, str], list[tuple[int, int]]] = {}
    built = build_demo(
        tmp_path,
        scale=0.05,
        today=TODAY,
        companies=["mira-software"],
        progress=lambda c, t, done, total: seen.setdefault((c, t), []).append((done, total)),
    )[0]
    assert {table for _, table in seen} == set(built.rows)
    for (_, table), calls in seen.items():
        assert calls[0][0] == 0 and calls[-1] == (built.rows[table], built.rows[table])


def test_record_demo_opens_the_audit_log_next_to_the_map(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATAVOW_STATE_URL", raising=False)
    built = build_demo(tmp_path, scale=0.05, today=TODAY, companies=["miralix"])[0]
    record_demo(built, check_map(built.map_path))
    with open_store(default_state_url(built.map_path)) as store:
        entries = list_entries(store)
        assert verify_chain(store).ok
    assert [e.action for e in entries] == ["demo.built", "map.checked"]
    assert entries[0].details["rows"] == built.rows and entries[0].details["people"] == built.people
    assert (built.folder / ".datavow" / "state.db").exists()


class DemoArguments(TypedDict, total=False):
    companies: list[str]
    scale: float
    url: str


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"companies": ["mira"]}, "unknown demo company mira"),
        ({"scale": 0}, "scale must be above 0"),
        ({"url": "oracle://me@db/demo"}, "not oracle"),
        ({"url": "not a url"}, "is not a database URL"),
    ],
)
def test_mistakes_are_clear_errors(tmp_path: Path, arguments: DemoArguments, message: str) -> None:
    with pytest.raises(DemoError, match=message):
        build_demo(tmp_path, **arguments)


def test_pointing_a_map_keeps_its_comments_and_hides_passwords() -> None:
    text = packaged_map("miralix")
    pointed = point_map(
        text,
        {
            "telephony": ("postgresql+psycopg://me@db/x", "miralix_telephony"),
            "support": ("postgresql+psycopg://me@db/x", None),
        },
    )
    assert "# Miralix: the data map behind its privacy policy." in pointed
    assert '    url: "postgresql+psycopg://me@db/x"\n    schema: miralix_telephony\n' in pointed
    assert pointed.count("schema:") == 1
    assert point_map(text, {"telephony": ("sqlite:///telephony.db", None)}) == text


# --------------------------------------------------------------------------- servers


@contextmanager
def built_on_server(tmp_path: Path, url: str) -> Iterator[list[DemoCompany]]:
    built = build_demo(tmp_path, url=url, scale=0.05, today=TODAY, force=True)
    try:
        yield built
    finally:  # on MariaDB the schemas are databases of the whole server: leave none behind
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            for company in built:
                for schema in company.schemas.values():
                    kind = "SCHEMA" if engine.dialect.name == "postgresql" else "DATABASE"
                    cascade = " CASCADE" if engine.dialect.name == "postgresql" else ""
                    conn.exec_driver_sql(f"DROP {kind} IF EXISTS {schema}{cascade}")
        engine.dispose()


def check_server_build(built: list[DemoCompany], url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    password = sa.make_url(url).password
    if password is not None:
        monkeypatch.setenv(PASSWORD_VARIABLE, password)
    for company in built:
        text = company.map_path.read_text()
        assert password is None or (f":{password}@" not in text and "${" + PASSWORD_VARIABLE + "}@" in text)
        loaded = load_map(company.map_path)
        engines = {system: engine_for(loaded, system) for system in loaded.model.systems}
        for system, spec in loaded.model.systems.items():
            assert spec.schema_ == company.schemas[system] == f"{company.name.replace('-', '_')}_{system}"
            inspector = sa.inspect(engines[system])
            assert set(inspector.get_table_names(schema=spec.schema_)) == set(spec.tables)
            for name, table in spec.tables.items():
                columns = {c["name"] for c in inspector.get_columns(name, schema=spec.schema_)}
                assert columns == set(table.fields), f"{system}.{name}"
                counted = sa.select(sa.func.count()).select_from(sa.table(name, schema=spec.schema_))
                with engines[system].connect() as conn:
                    assert conn.execute(counted).scalar_one() == company.rows[f"{system}.{name}"] > 0
        for engine in engines.values():
            engine.dispose()


def test_builds_on_postgresql(tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with built_on_server(tmp_path, postgres_url) as built:
        check_server_build(built, postgres_url, monkeypatch)
        loaded = load_map(built[0].map_path)
        engine = sa.create_engine(loaded.system_url("platform"))
        inspector = sa.inspect(engine)
        assert inspector.get_foreign_keys("users", schema="mira_software_platform")  # added after the load
        with engine.begin() as conn:  # the id sequence continues after the demo's own ids
            users = table_of(loaded, loaded.table("platform", "users"))
            new_id = conn.execute(
                users.insert()
                .values(
                    customer_id=1,
                    email="new@izit.be",
                    role="admin",
                    active=True,
                    processing_restricted=False,
                    created_at=datetime(2026, 3, 1),
                )
                .returning(users.c.id)
            ).scalar_one()
        assert new_id == built[0].rows["platform.users"] + 1
        with pytest.raises(DemoError, match="already has tables"):
            build_demo(tmp_path / "again", url=postgres_url, scale=0.05, companies=["mira-software"])


def test_builds_on_mariadb(tmp_path: Path, mariadb_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with built_on_server(tmp_path, mariadb_url) as built:
        check_server_build(built, mariadb_url, monkeypatch)
