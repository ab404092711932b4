"""Drift: the data map compared with real databases (SQLite files, PostgreSQL, MariaDB).

Each test builds its tables with plain SQL, writes a map that reads its URL from ``${SHOP_URL}``
and checks what :func:`check_drift` reports, down to the line of the map it points at.
"""

from __future__ import annotations

import re
import socket
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from datavow import MapError, load_map
from datavow.connectors import DRIFT_RULES, check_drift, connect
from datavow.errors import ConnectionError_
from datavow.findings import Finding, Severity

DOCS = Path(__file__).resolve().parent.parent / "docs" / "drift.md"

HEADER = """\
organization: {name: Shop, country: BE, contact: {email: a@b.be}}
subjects: {customer: Customers}
purposes:
  service:
    {name: Service, basis: contract, subjects: [customer], categories: [user.contact.email, user.name],
     retention: 2 years}
systems:
"""

# The shop of the examples; {schema} and {extra} let a test add lines to the system.
SHOP = """\
  shop:
    url: ${SHOP_URL}
    ignore: [alembic_version, "tmp_*"]
    tables:
      customers:
        subject: customer
        identity: {email: email}
        primary_key: [id]
        purposes: [service]
        erase: anonymize
        fields:
          id: ~
          email: {category: user.contact.email, erase: hash}
          name: {category: user.name, erase: nullify}
      orders:
        references: {customer_id: customers.id}
        erase: delete
        fields: {id: ~, customer_id: ~, total: ~}
"""

CUSTOMERS = "CREATE TABLE {s}customers (id INTEGER NOT NULL PRIMARY KEY, email VARCHAR(200), name VARCHAR(200))"
ORDERS = (
    "CREATE TABLE {s}orders (id INTEGER NOT NULL PRIMARY KEY, customer_id INTEGER, total INTEGER, "
    "FOREIGN KEY (customer_id) REFERENCES {s}customers (id))"
)


@dataclass
class Database:
    """A fresh database on one backend, and a way to run SQL in it."""

    kind: str  # "sqlite", "postgresql" or "mariadb"
    url: str
    default_schema: str

    def run(self, *statements: str) -> None:
        engine = sa.create_engine(self.url, poolclass=NullPool)
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(sa.text(statement))
        engine.dispose()

    def shop(self, schema: str | None = None) -> None:
        """The tables the map ``SHOP`` describes, in ``schema`` (default: the default schema)."""
        prefix = f"{schema}." if schema else ""
        self.run(CUSTOMERS.format(s=prefix), ORDERS.format(s=prefix))


def _sqlite(tmp_path: Path) -> Database:
    path = tmp_path / "shop.db"
    sqlite3.connect(path).close()
    return Database("sqlite", f"sqlite:///{path}", "main")


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    if request.param == "sqlite":
        return _sqlite(tmp_path)
    if request.param == "postgresql":
        return Database("postgresql", request.getfixturevalue("postgres_url"), "public")
    url = request.getfixturevalue("mariadb_url")
    return Database("mariadb", url, str(make_url(url).database))


@pytest.fixture(params=["postgresql", "mariadb"])
def server_database(request: pytest.FixtureRequest) -> Database:
    """A fresh database on a server that has schemas besides the default one."""
    if request.param == "postgresql":
        return Database("postgresql", request.getfixturevalue("postgres_url"), "public")
    url = request.getfixturevalue("mariadb_url")
    return Database("mariadb", url, str(make_url(url).database))


@pytest.fixture
def other_schema(server_database: Database, request: pytest.FixtureRequest) -> Iterator[str]:
    """A second schema next to the default one: a PostgreSQL schema, a MariaDB database."""
    if server_database.kind == "postgresql":
        server_database.run("CREATE SCHEMA sales")
        yield "sales"
        return
    server = request.getfixturevalue("mariadb_server")
    name = server.create_database("dv_sales")
    try:
        yield name
    finally:
        server.drop_database(name)


def write_map(tmp_path: Path, systems: str = SHOP) -> Path:
    path = tmp_path / "datavow.yaml"
    path.write_text(HEADER + systems, encoding="utf-8")
    return path


def drift(tmp_path: Path, database: Database, monkeypatch: pytest.MonkeyPatch, systems: str = SHOP) -> list[Finding]:
    monkeypatch.setenv("SHOP_URL", database.url)
    return check_drift(load_map(write_map(tmp_path, systems)))


def line_of(text: str, *needles: str) -> int:
    """The line of the last needle, each searched after the one before (1-based)."""
    position = 0
    for needle in needles:
        position = text.index(needle, position)
    return text.count("\n", 0, position) + 1


def summary(findings: list[Finding]) -> set[tuple[str, str | None]]:
    return {(f.rule, f.target) for f in findings}


def located(finding: Finding, systems: str, *needles: str) -> bool:
    assert finding.location is not None
    return finding.location.file.endswith("datavow.yaml") and finding.location.line == line_of(
        HEADER + systems, *needles
    )


# --------------------------------------------------------------------------- every backend


def test_a_matching_database_has_no_drift_and_ignore_is_what_hides_a_table(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database.shop()
    database.run(
        "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)",
        "CREATE TABLE tmp_import (id INTEGER)",
    )
    assert drift(tmp_path, database, monkeypatch) == []
    unignored = SHOP.replace('    ignore: [alembic_version, "tmp_*"]\n', "")
    assert summary(drift(tmp_path, database, monkeypatch, unignored)) == {
        ("drift-undeclared-table", "shop.alembic_version"),
        ("drift-undeclared-table", "shop.tmp_import"),
    }


def test_a_declared_table_that_does_not_exist(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database.shop()
    systems = SHOP + "      invoices:\n        fields: {id: ~}\n      customer:\n        fields: {id: ~}\n"
    findings = drift(tmp_path, database, monkeypatch, systems)
    assert summary(findings) == {("drift-missing-table", "shop.invoices"), ("drift-missing-table", "shop.customer")}
    invoices, customer = sorted(findings, key=lambda f: f.location.line if f.location else 0)
    assert invoices.severity is Severity.error
    assert located(invoices, systems, "      invoices:")
    assert located(customer, systems, "      customer:\n")
    assert "did you mean 'customers'?" in customer.hint


def test_a_declared_column_that_does_not_exist(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database.run(CUSTOMERS.format(s="").replace("email VARCHAR", "email_address VARCHAR"), ORDERS.format(s=""))
    systems = SHOP.replace(
        "fields: {id: ~, customer_id: ~, total: ~}", "fields: {id: ~, customer_id: ~, total: ~, paid: ~}"
    )
    findings = drift(tmp_path, database, monkeypatch, systems)
    assert summary(findings) == {
        ("drift-missing-column", "shop.customers.email"),
        ("drift-undeclared-column", "shop.customers.email_address"),
        ("drift-missing-column", "shop.orders.paid"),
    }
    by_target = {f.target: f for f in findings}
    email = by_target["shop.customers.email"]
    assert email.severity is Severity.error
    assert located(email, systems, "          email:")
    assert "did you mean 'email_address'?" in email.hint
    assert located(by_target["shop.orders.paid"], systems, "      orders:", "fields:")


def test_a_table_the_map_does_not_mention(database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    database.shop()
    database.run("CREATE TABLE newsletter (email VARCHAR(200))")
    findings = drift(tmp_path, database, monkeypatch)
    assert summary(findings) == {("drift-undeclared-table", "shop.newsletter")}
    [finding] = findings
    assert finding.severity is Severity.error
    assert located(finding, SHOP, "    tables:")
    assert "systems.shop.ignore" in finding.hint and "schema:" not in finding.hint


def test_a_column_the_map_does_not_mention(database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    database.shop()
    database.run("ALTER TABLE customers ADD COLUMN phone VARCHAR(40)")
    findings = drift(tmp_path, database, monkeypatch)
    assert summary(findings) == {("drift-undeclared-column", "shop.customers.phone")}
    [finding] = findings
    assert located(finding, SHOP, "      customers:", "fields:")
    assert "'phone: ~'" in finding.hint


def test_a_primary_key_that_differs(database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    database.shop()
    systems = SHOP.replace("primary_key: [id]", "primary_key: [email]")
    findings = drift(tmp_path, database, monkeypatch, systems)
    assert summary(findings) == {("drift-primary-key", "shop.customers")}
    [finding] = findings
    assert finding.severity is Severity.warning
    assert located(finding, systems, "primary_key:")
    assert "primary_key: [id]" in finding.hint


def test_a_foreign_key_the_map_does_not_follow(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database.shop()
    database.run(
        "CREATE TABLE order_lines (order_id INTEGER NOT NULL, line INTEGER NOT NULL, "
        "customer_id INTEGER, PRIMARY KEY (order_id, line), "
        "FOREIGN KEY (order_id) REFERENCES orders (id), "
        "FOREIGN KEY (customer_id) REFERENCES customers (id))"
    )
    systems = (
        SHOP.replace("        references: {customer_id: customers.id}\n", "")
        + "      order_lines:\n        references: {order_id: orders.id}\n"
        "        fields: {order_id: ~, line: ~, customer_id: ~}\n"
    )
    findings = drift(tmp_path, database, monkeypatch, systems)
    assert summary(findings) == {
        ("drift-foreign-key", "shop.orders.customer_id"),
        ("drift-foreign-key", "shop.order_lines.customer_id"),
    }
    by_target = {f.target: f for f in findings}
    orders, lines = by_target["shop.orders.customer_id"], by_target["shop.order_lines.customer_id"]
    assert orders.severity is Severity.warning
    assert located(orders, systems, "      orders:")
    assert "'references: {customer_id: customers.id}'" in orders.hint
    assert located(lines, systems, "      order_lines:", "references:")
    assert "add 'customer_id: customers.id' under systems.shop.tables.order_lines.references" in lines.hint


def test_a_composite_foreign_key_matches_a_long_reference(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database.run(
        "CREATE TABLE accounts (tenant INTEGER NOT NULL, id INTEGER NOT NULL, PRIMARY KEY (tenant, id))",
        "CREATE TABLE logins (id INTEGER NOT NULL PRIMARY KEY, tenant INTEGER, account INTEGER, "
        "FOREIGN KEY (tenant, account) REFERENCES accounts (tenant, id))",
    )
    systems = """\
  shop:
    url: ${SHOP_URL}
    tables:
      accounts:
        primary_key: [id, tenant]
        fields: {tenant: ~, id: ~}
      logins:
        fields: {id: ~, tenant: ~, account: ~}
"""
    [finding] = drift(tmp_path, database, monkeypatch, systems)
    assert finding.rule == "drift-foreign-key" and finding.target == "shop.logins.tenant,account"
    assert "columns: [tenant, account], to: accounts, to_columns: [tenant, id]" in finding.hint
    declared = systems.replace(
        "      logins:\n",
        "      logins:\n        references:\n"
        "          account: {columns: [account, tenant], to: shop.accounts, to_columns: [id, tenant]}\n",
    )
    assert drift(tmp_path, database, monkeypatch, declared) == []


def test_a_schema_that_does_not_exist(database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    database.shop()
    systems = SHOP.replace("    tables:\n", "    schema: nowhere\n    tables:\n", 1)
    findings = drift(tmp_path, database, monkeypatch, systems)
    assert summary(findings) == {("drift-missing-schema", "shop.nowhere")}
    [finding] = findings
    assert located(finding, systems, "schema: nowhere")
    assert "customers, orders not checked" in finding.message
    expected_hint = {
        "sqlite": "attached databases",
        "postgresql": "CREATE SCHEMA nowhere",
        "mariadb": "CREATE DATABASE nowhere",
    }[database.kind]
    assert expected_hint in finding.hint


def test_a_database_that_cannot_be_opened_is_one_finding(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = make_url(database.url)
    missing = url.set(database=str(tmp_path / "gone.db") if database.kind == "sqlite" else "dv_no_such_db")
    monkeypatch.setenv("SHOP_URL", missing.render_as_string(hide_password=False))
    findings = check_drift(load_map(write_map(tmp_path)))
    assert summary(findings) == {("drift-unreachable", "shop")}
    [finding] = findings
    assert finding.severity is Severity.error
    assert located(finding, SHOP, "    url:")
    if url.password:
        assert f":{url.password}@" not in finding.message and ":***@" in finding.message
    assert not (tmp_path / "gone.db").exists()  # SQLite must not create it


# --------------------------------------------------------------------------- schemas on servers


def test_a_system_schema_is_read_instead_of_the_default(
    server_database: Database, other_schema: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server_database.shop(other_schema)
    server_database.run("CREATE TABLE unrelated (id INTEGER)")  # in the default schema: not this system's
    systems = SHOP.replace("    tables:\n", f"    schema: {other_schema}\n    tables:\n", 1)
    assert drift(tmp_path, server_database, monkeypatch, systems) == []
    server_database.run(
        f"CREATE TABLE {other_schema}.secrets (id INTEGER)",
        f"ALTER TABLE {other_schema}.orders ADD COLUMN note VARCHAR(100)",
    )
    findings = drift(tmp_path, server_database, monkeypatch, systems)
    assert summary(findings) == {
        ("drift-undeclared-table", "shop.secrets"),
        ("drift-undeclared-column", "shop.orders.note"),
    }
    secrets = next(f for f in findings if f.rule == "drift-undeclared-table")
    assert f"schema '{other_schema}'" in secrets.message
    assert "schema:" not in secrets.hint  # the system's own schema needs no per-table schema


def test_a_table_schema_overrides_the_system_default(
    server_database: Database, other_schema: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server_database.shop()
    server_database.run(f"CREATE TABLE {other_schema}.archive (id INTEGER NOT NULL PRIMARY KEY, email VARCHAR(200))")
    # ``orders`` names the default schema explicitly: it must be the same schema as no schema.
    systems = (
        SHOP.replace("      orders:\n", f"      orders:\n        schema: {server_database.default_schema}\n")
        + f"      archive:\n        schema: {other_schema}\n        primary_key: [id]\n"
        "        fields: {id: ~, email: {category: user.contact.email, erase: hash}}\n"
    )
    assert drift(tmp_path, server_database, monkeypatch, systems) == []
    server_database.run(
        f"CREATE TABLE {other_schema}.secrets (id INTEGER)", "CREATE TABLE archive (id INTEGER)"
    )  # same name, default schema: undeclared
    findings = drift(tmp_path, server_database, monkeypatch, systems)
    assert summary(findings) == {("drift-undeclared-table", "shop.secrets"), ("drift-undeclared-table", "shop.archive")}
    secrets = next(f for f in findings if f.target == "shop.secrets")
    assert f"with 'schema: {other_schema}'" in secrets.hint
    missing = systems.replace(f"        schema: {other_schema}\n", "        schema: dv_nowhere\n")
    assert summary(drift(tmp_path, server_database, monkeypatch, missing)) == {
        ("drift-missing-schema", "shop.dv_nowhere"),
        ("drift-undeclared-table", "shop.archive"),
    }


def test_postgres_reads_a_schema_in_a_fixed_number_of_queries(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = Database("postgresql", postgres_url, "public")
    database.run(*(f"CREATE TABLE t{i} (id INTEGER PRIMARY KEY, ref INTEGER REFERENCES t0 (id))" for i in range(40)))

    def statements(count: int) -> int:
        tables = "".join(
            f"      t{i}:\n        references: {{ref: t0.id}}\n        fields: {{id: ~, ref: ~}}\n"
            for i in range(count)
        )
        systems = f'  shop:\n    url: ${{SHOP_URL}}\n    ignore: ["t*"]\n    tables:\n{tables}'
        executed: list[str] = []

        def record(*args: object) -> None:
            executed.append(str(args[2]))

        sa.event.listen(sa.Engine, "before_cursor_execute", record)
        try:
            assert drift(tmp_path, database, monkeypatch, systems) == []
        finally:
            sa.event.remove(sa.Engine, "before_cursor_execute", record)
        return len(executed)

    assert statements(3) == statements(40)


# --------------------------------------------------------------------------- unreachable systems


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("scheme", ["postgresql+psycopg", "mysql+pymysql"])
def test_an_unreachable_server_is_a_finding_and_other_systems_are_still_checked(
    scheme: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = _sqlite(tmp_path)
    shop.shop()
    shop.run("CREATE TABLE newsletter (email VARCHAR(200))")
    monkeypatch.setenv("DOWN_URL", f"{scheme}://app:s3cret-pw@127.0.0.1:{_closed_port()}/crm")
    systems = SHOP + "  crm:\n    url: ${DOWN_URL}\n    tables: {}\n"
    findings = drift(tmp_path, shop, monkeypatch, systems)
    assert summary(findings) == {("drift-unreachable", "crm"), ("drift-undeclared-table", "shop.newsletter")}
    down = next(f for f in findings if f.rule == "drift-unreachable")
    assert located(down, systems, "  crm:", "url:")
    assert "s3cret-pw" not in str(down) and "app:***@127.0.0.1" in down.message
    assert "check that the server is running" in down.message


def test_a_missing_environment_variable_is_a_finding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHOP_URL", raising=False)
    findings = check_drift(load_map(write_map(tmp_path)))
    assert summary(findings) == {("drift-unreachable", "shop")}
    assert "SHOP_URL is not set" in findings[0].message
    assert located(findings[0], SHOP, "    url:")


def test_a_file_that_is_not_a_database_is_a_finding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # SQLite opens any file; the error comes only when the catalogue is read, and is caught there.
    path = tmp_path / "notes.db"
    path.write_text("not a database\n" * 200, encoding="utf-8")
    findings = drift(tmp_path, Database("sqlite", f"sqlite:///{path}", "main"), monkeypatch)
    assert summary(findings) == {("drift-unreachable", "shop")}
    assert "file is not a database" in findings[0].message and str(path) in findings[0].message


def test_a_relative_sqlite_path_is_taken_from_the_map_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    database = _sqlite(tmp_path)
    database.shop()
    database.run("CREATE TABLE newsletter (email VARCHAR(200))")
    monkeypatch.chdir(tmp_path.parent)  # not the map's folder
    findings = check_drift(load_map(write_map(tmp_path, SHOP.replace("${SHOP_URL}", "sqlite:///shop.db"))))
    assert summary(findings) == {("drift-undeclared-table", "shop.newsletter")}


def test_only_the_named_systems_are_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    database = _sqlite(tmp_path)
    database.shop()
    monkeypatch.delenv("CRM_URL", raising=False)
    loaded = load_map(write_map(tmp_path, SHOP + "  crm:\n    url: ${CRM_URL}\n"))
    monkeypatch.setenv("SHOP_URL", database.url)
    assert summary(check_drift(loaded)) == {("drift-unreachable", "crm")}
    assert check_drift(loaded, ["shop"]) == []
    with pytest.raises(MapError, match="declares no system 'shops'"):
        check_drift(loaded, ["shops"])


# --------------------------------------------------------------------------- connect


def test_connect_refuses_to_create_a_missing_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "typo.db"
    with pytest.raises(ConnectionError_, match=re.escape(f"the database file {path} does not exist")):
        connect(f"sqlite:///{path}", system="shop")
    assert not path.exists()
    existing = _sqlite(tmp_path)
    engine = connect(existing.url)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT 1")).scalar() == 1
    engine.dispose()


def test_connect_translates_a_wrong_password_without_printing_it(mariadb_url: str) -> None:
    wrong = make_url(mariadb_url).set(password="not-the-pw-9")
    with pytest.raises(ConnectionError_) as caught:
        connect(wrong.render_as_string(hide_password=False), system="crm")
    message = str(caught.value)
    assert "system 'crm'" in message and "Access denied" in message
    assert "not-the-pw-9" not in message and ":***@" in message
    assert isinstance(caught.value.__cause__, sa.exc.OperationalError)


def test_connect_names_a_missing_driver(tmp_path: Path) -> None:
    with pytest.raises(ConnectionError_, match="install the driver for 'nosuchdb'"):
        connect("nosuchdb://u:pw@host/db", system="crm")


# --------------------------------------------------------------------------- docs


def test_every_drift_rule_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for rule in DRIFT_RULES.values():
        assert f"`{rule.id}`" in text, f"{rule.id} is not documented in docs/drift.md"
        assert rule.severity.value in text.split(f"`{rule.id}`", 1)[1][:200], rule.id
