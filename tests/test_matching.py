"""Matching identities: a person is found however their phone number, national id or e-mail address
was written, on SQLite, PostgreSQL and MariaDB (issue 14, "Matching").

Each test reads the rows a request selects back from a real database, so that the comparison is the
one the database makes (SQLite's ASCII-only ``lower()``, PostgreSQL's C locale, MariaDB's collation).
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.pool import NullPool

from datavow import load_map
from datavow.connectors import sqlite_functions
from datavow.connectors.sql import connect
from datavow.consent.identity import Hasher
from datavow.datamap.load import LoadedMap
from datavow.demo import build_demo
from datavow.errors import RequestError
from datavow.incidents.assessment import Scope
from datavow.incidents.impact import count_impact
from datavow.plan import compile_plan, discover, parse_identities
from datavow.plan.identities import Form, normal_forms, parse_value
from datavow.plan.matching import WHITESPACE, postgresql_index_expression
from datavow.plan.model import Selection, Step
from datavow.plan.sql import reflect_table, selection_clauses

COLUMNS = ("email", "phone", "personal_number", "nickname")
# (id, column, value as the database holds it)
ROWS = [
    (1, "email", "ÆRLIG.ØSTERGAARD@firma.dk"),
    (2, "email", "rene\u0301@example.com"),  # decomposed: e + combining acute accent
    (3, "email", "\u00a0jane@example.com\t"),
    (4, "email", "jan@example.com"),
    (10, "phone", "030-0074321"),
    (11, "phone", "+49 (0)30 0074321"),
    (12, "phone", "0049 30 0074321"),
    (13, "phone", "+32 472 11 22 34"),
    (14, "phone", "0471 12 34 56"),
    (15, "phone", "+32\u00a0(0)470 99 88 77"),
    (20, "personal_number", "19811218-9876"),
    (21, "personal_number", "640823-3234"),
    (22, "personal_number", "19700101 1233"),
    (23, "personal_number", "19640823 3234"),  # row 21's number again, written another way
    (24, "personal_number", "550615-1231"),
    (30, "nickname", "Rene\u0301e\u00a0"),
    (31, "nickname", "renée"),
]


def matching_map(country: str) -> dict[str, Any]:
    return {
        "organization": {"name": "Matching AB", "country": country, "contact": {"email": "privacy@match.example"}},
        "identities": {"personal_number": {"format": "national_id"}, "nickname": {"format": "text"}},
        "subjects": {"customer": "Customers"},
        "systems": {
            "shop": {
                "url": "${MATCHING_URL}",
                "tables": {
                    "people": {
                        "subject": "customer",
                        "identity": {column: column for column in COLUMNS},
                        "fields": {"id": None, **dict.fromkeys(COLUMNS)},
                    }
                },
            }
        },
    }


class Database:
    def __init__(self, kind: str, url: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.kind = kind
        self.folder = folder
        monkeypatch.setenv("MATCHING_URL", url)

    def loaded(self, country: str) -> LoadedMap:
        path = self.folder / f"{country}.yaml"
        path.write_text(yaml.safe_dump(matching_map(country), allow_unicode=True), encoding="utf-8")
        return load_map(path)

    def found(self, country: str, kind: str, value: str) -> set[int]:
        """The ids of the rows a request by ``kind`` = ``value`` selects, read from the database."""
        loaded = self.loaded(country)
        identities = parse_identities(loaded, {kind: [value]})
        plan = compile_plan(loaded, [kind])
        with ExitStack() as stack:
            # connect() is how datavow reaches a target database: on SQLite it registers datavow's functions
            engine = connect(loaded.system_url("shop"), system="shop")
            stack.callback(engine.dispose)
            connection = stack.enter_context(engine.connect())
            discovery = discover(loaded, plan, identities, {"shop": connection})
            selection = discovery.selections[("shop", "people")]
            table = reflect_table(loaded, selection.step, connection)
            ids: set[int] = set()
            for clause in selection_clauses(table, selection, connection.dialect.name):
                ids.update(connection.execute(sa.select(table.c.id).where(clause)).scalars())
            assert selection.rows == len(ids)  # discovery counted the same rows
            return ids


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def database(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    kind = request.param
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'shop.db'}"
    else:
        url = request.getfixturevalue("postgres_url" if kind == "postgresql" else "mariadb_url")
    metadata = sa.MetaData()
    people = sa.Table(
        "people",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        *(sa.Column(column, sa.String(100)) for column in COLUMNS),
    )
    engine = sa.create_engine(url, poolclass=NullPool)
    with engine.begin() as connection:
        metadata.create_all(connection)
        rows = [{"id": id_, **dict.fromkeys(COLUMNS), column: value} for id_, column, value in ROWS]
        connection.execute(people.insert(), rows)
    engine.dispose()
    yield Database(kind, url, tmp_path, monkeypatch)


# --------------------------------------------------------------------------- phone numbers


def test_phone_numbers_match_however_they_are_written(database: Database) -> None:
    # the German number, written at home, with "(0)" and with 00, found from E.164 in Germany
    assert database.found("DE", "phone", "+49 30 0074321") == {10, 11, 12}
    assert database.found("DE", "phone", "030 007 43 21") == {10, 11, 12}
    # for a Belgian organisation "030…" is a Belgian number: the German one is found only by its +49 forms
    assert database.found("BE", "phone", "+49 30 0074321") == {11, 12}
    assert database.found("BE", "phone", "0472 11 22 34") == {13}
    assert database.found("BE", "phone", "+32 (0)471 12 34 56") == {14}
    assert database.found("BE", "phone", "0470/99.88.77") == {15}
    assert database.found("BE", "phone", "+32 470 00 00 00") == set()


def test_a_phone_number_is_kept_in_e164_read_in_the_organisations_country() -> None:
    assert parse_value("phone", "030-0074321", region="DE") == "+49300074321"
    assert parse_value("phone", "+32 (0)471 12 34 56", region="BE") == "+32471123456"
    assert parse_value("phone", "0032\u00a0472 11 22 34", region="BE") == "+32472112234"
    # a value read from a database through a link is written out in every form too
    assert normal_forms("phone", "0472/11.22.34", "BE") == {
        "+32472112234",
        "0032472112234",
        "+320472112234",
        "00320472112234",
        "0472112234",
    }
    # a number phonenumbers cannot read is compared by its digits, as before
    assert parse_value("phone", "12345", region="BE") == "12345"


# --------------------------------------------------------------------------- unicode


def test_unicode_does_not_hide_a_person(database: Database) -> None:
    assert database.found("DK", "email", "ærlig.østergaard@firma.dk") == {1}
    assert database.found("DK", "email", "Ærlig.Østergaard@FIRMA.dk") == {1}
    assert database.found("DK", "email", "René@Example.com") == {2}  # composed, the row decomposed
    assert database.found("DK", "email", "jane@example.com") == {3}  # the row padded with a no-break space, a tab
    assert database.found("DK", "email", "jan@example.com") == {4}
    # (MariaDB's utf8mb4_general_ci ignores case: there "renée" is found too, see below)
    assert database.found("DK", "nickname", "Renée") == ({30, 31} if database.kind == "mariadb" else {30})


def test_text_identities_keep_their_case(database: Database) -> None:
    found = database.found("DK", "nickname", "renée")
    if database.kind == "mariadb":
        # MariaDB compares in the column's collation; utf8mb4_general_ci ignores case (documented)
        assert found == {30, 31}
    else:
        assert found == {31}


def test_the_whitespace_trimmed_in_sql_is_what_str_strip_removes() -> None:
    every_space = "".join(chr(code) for code in range(sys.maxunicode + 1) if chr(code).isspace())
    assert WHITESPACE == every_space


def test_sqlite_functions_fold_unicode_on_every_connection(tmp_path: Path) -> None:
    raw = sqlite3.connect(tmp_path / "plain.db")
    sqlite_functions.register(raw)
    assert raw.execute("SELECT datavow_fold(?)", ("\u00a0ÆRLIG\t",)).fetchone() == ("ærlig",)
    assert raw.execute("SELECT datavow_tidy(?)", (" Rene\u0301e\u00a0",)).fetchone() == ("Renée",)
    assert raw.execute("SELECT datavow_fold(NULL), datavow_fold(7)").fetchone() == (None, 7)
    raw.close()
    (tmp_path / "target.db").touch()
    engine = connect(f"sqlite:///{tmp_path / 'target.db'}")
    with engine.connect() as connection:  # every connection datavow makes to a target database
        assert connection.execute(sa.text("SELECT datavow_fold('ÅSA')")).scalar_one() == "åsa"
    engine.dispose()


# --------------------------------------------------------------------------- national ids


def test_a_personnummer_matches_with_or_without_its_separators(database: Database) -> None:
    assert database.found("SE", "personal_number", "198112189876") == {20}
    assert database.found("SE", "personal_number", "8112189876") == {20}
    assert database.found("SE", "personal_number", "811218-9876") == {20}
    assert database.found("SE", "personal_number", "19700101-1233") == {22}  # the row: "19700101 1233"
    assert database.found("SE", "personal_number", "7001011233") == {22}


def test_a_personnummer_stored_in_its_ten_digits_is_found_by_its_twelve(database: Database) -> None:
    assert database.found("SE", "personal_number", "19550615-1231") == {24}  # the row: "550615-1231"


def test_one_personnummer_written_two_ways_in_one_table_is_one_person(database: Database) -> None:
    assert database.found("SE", "personal_number", "6408233234") == {21, 23}


def test_a_national_id_is_validated_for_the_organisations_country() -> None:
    assert parse_value("national_id", "811218-9876", region="SE") == "198112189876"
    assert parse_value("national_id", "19811218-9876", region="SE") == "198112189876"
    with pytest.raises(RequestError, match="is not a valid national identity number of SE"):
        parse_value("national_id", "811218-9875", region="SE")  # wrong check digit
    # a country python-stdnum has no personal id for: compacted only
    assert parse_value("national_id", "ab 12-34", region="NL") == "AB1234"


# --------------------------------------------------------------------------- indexes


def test_postgresql_finds_e_mail_addresses_by_an_expression_index(postgres_url: str, tmp_path: Path) -> None:
    # An index must be on the very expression a request compares, or every request reads the whole table.
    engine = sa.create_engine(postgres_url, poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE people (id integer PRIMARY KEY, email varchar(100), pn varchar(20))"))
        rows = [{"id": n, "email": f"user{n}@example.com", "pn": f"{n:010d}"} for n in range(5000)]
        connection.execute(sa.text("INSERT INTO people VALUES (:id, :email, :pn)"), rows)
        forms: tuple[tuple[str, Form], ...] = (("email", "email"), ("pn", "national_id"))
        for column, form in forms:
            expression = postgresql_index_expression(column, form)
            connection.execute(sa.text(f"CREATE INDEX people_{column}_matched ON people ({expression})"))
        connection.execute(sa.text("ANALYZE people"))
    engine.dispose()
    with engine.connect() as connection:
        table = sa.Table("people", sa.MetaData(), autoload_with=connection)
        step = Step(
            ("shop", "people"),
            None,
            ("id",),
            {"email": ("email",)},
            (),
            None,
            (),
            "customer",
            {"email": "email", "pn": "national_id"},
        )
        for column, value in (("email", "user42@example.com"), ("pn", "0000000042")):
            selection = Selection(step, {(column,): {(value,)}})
            (clause,) = selection_clauses(table, selection, "postgresql")
            query = sa.select(table.c.id).where(clause)
            assert connection.execute(query).scalars().all() == [42]
            compiled = query.compile(connection)
            explained = connection.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params).scalars()
            plan = "\n".join(str(line) for line in explained)
            assert f"people_{column}_matched" in plan, plan


# --------------------------------------------------------------------------- the demo


def test_the_demo_finds_an_employee_by_personnummer_written_any_way(tmp_path: Path) -> None:
    (company,) = build_demo(tmp_path, scale=0.05, companies=["mira-network"])
    loaded = load_map(company.map_path)
    engine = connect(loaded.system_url("hr"), system="hr")
    with engine.connect() as connection:
        employees = sa.table("employees", sa.column("id"), sa.column("personal_number"))
        employee, written = connection.execute(sa.select(employees.c.id, employees.c.personal_number).limit(1)).one()
        assert "-" in written  # the demo writes 19811218-9876
        bare = written.replace("-", "")
        plan = compile_plan(loaded, ["personal_number"], systems=["hr"])
        for given in (bare, bare[2:], written[2:]):
            identities = parse_identities(loaded, {"personal_number": [given]})
            selection = discover(loaded, plan, identities, {"hr": connection}).selections[("hr", "employees")]
            table = reflect_table(loaded, selection.step, connection)
            (clause,) = selection_clauses(table, selection, "sqlite")
            assert connection.execute(sa.select(table.c.id).where(clause)).scalars().all() == [employee], given
    engine.dispose()


# --------------------------------------------------------------------------- the consent ledger


def test_consent_hashes_a_phone_number_and_a_personnummer_as_requests_read_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Restrictions (the requests ledger) and consent events about one person meet on one hash.
    monkeypatch.setenv("MATCHING_URL", f"sqlite:///{tmp_path / 'unused.db'}")
    path = tmp_path / "se.yaml"
    path.write_text(yaml.safe_dump(matching_map("SE")), encoding="utf-8")
    hasher = Hasher(load_map(path), b"k" * 32)
    assert hasher.hash("phone", "08-123 456 78") == hasher.hash("phone", "+46 8 123 456 78")
    assert hasher.hash("personal_number", "811218-9876") == hasher.hash("personal_number", "198112189876")


def test_a_phone_number_read_from_a_row_finds_its_other_written_forms_through_a_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The person is named by e-mail; their number, read from the database as "+49 30 0074321",
    # reaches the CRM's mobile column, where it was typed the German way.
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    engine = sa.create_engine(url, poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT, phone TEXT)"))
        connection.execute(sa.text("CREATE TABLE crm_contacts (id INTEGER PRIMARY KEY, mobile TEXT, note TEXT)"))
        connection.execute(sa.text("INSERT INTO people VALUES (1, 'jane@example.com', '+49 30 0074321')"))
        connection.execute(
            sa.text("INSERT INTO crm_contacts VALUES (7, '030-0074321', 'Jane'), (8, '030-0074322', 'Max')")
        )
    engine.dispose()
    monkeypatch.setenv("MATCHING_URL", url)
    document = matching_map("DE")
    tables = document["systems"]["shop"]["tables"]
    tables["people"] = {
        "subject": "customer",
        "identity": {"email": "email", "phone": "phone"},
        "fields": dict.fromkeys(("id", "email", "phone")),
    }
    tables["crm_contacts"] = {
        "subject": "customer",
        "identity": {"phone": "mobile"},
        "references": {"mobile": {"to": "people", "to_columns": "phone", "owner": True}},
        "fields": dict.fromkeys(("id", "mobile", "note")),
    }
    path = tmp_path / "link.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    loaded = load_map(path)
    plan = compile_plan(loaded, ["email", "phone"])  # phone columns are compared as phones in plans for phones
    engine = connect(url, system="shop")
    with engine.connect() as connection:
        discovery = discover(
            loaded, plan, parse_identities(loaded, {"email": ["jane@example.com"]}), {"shop": connection}
        )
        selection = discovery.selections[("shop", "crm_contacts")]
        table = reflect_table(loaded, selection.step, connection)
        (clause,) = selection_clauses(table, selection, "sqlite")
        assert connection.execute(sa.select(table.c.id).where(clause)).scalars().all() == [7]
    engine.dispose()


# --------------------------------------------------------------------------- incident impact


def test_an_incident_counts_one_person_typed_two_ways_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    engine = sa.create_engine(url, poolclass=NullPool)
    with engine.begin() as connection:
        for table in ("people", "newsletter"):
            connection.execute(sa.text(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, email TEXT)"))
        connection.execute(sa.text("INSERT INTO people VALUES (1, 'ÆRLIG.ØSTERGAARD@firma.dk'), (2, 'max@firma.dk')"))
        connection.execute(sa.text("INSERT INTO newsletter VALUES (1, 'ærlig.østergaard@firma.dk\u00a0')"))
    engine.dispose()
    monkeypatch.setenv("MATCHING_URL", url)
    document = matching_map("DK")
    document["systems"]["shop"]["tables"] = {
        table: {"subject": "customer", "identity": {"email": "email"}, "fields": {"id": None, "email": None}}
        for table in ("people", "newsletter")
    }
    path = tmp_path / "incident.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    impact = count_impact(load_map(path), Scope(tables=(("shop", "people"), ("shop", "newsletter"))))
    assert impact["records"] == 3
    assert impact["people"] == 2
