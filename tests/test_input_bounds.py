"""Identities and tenants are held to what their columns can hold: a value that cannot fit is refused
as invalid input (exit 8, naming the option), never a crash, and never a statement the database
refuses ("integer out of range" on PostgreSQL, an overflow in SQLite's driver).

Real things: the shop's map with its platform's tenant table on SQLite, PostgreSQL and MariaDB,
the commands run in-process.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from datavow.cli import main
from datavow.datamap import LoadedMap, load_map
from datavow.plan.sql import NO_MATCH, reflected, typed_column, typed_value
from tests import test_requests_lifecycle as lifecycle

shop = lifecycle.shop

HUGE = "9" * 5000
PAST_64_BITS = "99999999999999999999"
PAST_32_BITS = "3000000000"


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def platform(request: pytest.FixtureRequest, shop: LoadedMap) -> Iterator[LoadedMap]:
    """The shop, its platform's tables (32-bit integer keys, bounded text) on each database."""
    if request.param == "sqlite":
        url = f"sqlite:///{shop.directory / 'tenants.db'}"
    else:
        url = request.getfixturevalue("postgres_url" if request.param == "postgresql" else "mariadb_url")
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE clients (id INTEGER PRIMARY KEY, name VARCHAR(20))"))
        connection.execute(sa.text("CREATE TABLE users (id INTEGER PRIMARY KEY, client_id INTEGER, email TEXT)"))
        connection.execute(sa.text("INSERT INTO clients VALUES (1, 'Liège')"))
    engine.dispose()
    shop.path.write_text(shop.path.read_text().replace("sqlite:///platform.db", url))
    yield load_map(shop.path)


def _run(loaded: LoadedMap, *args: str) -> Result:
    result = CliRunner().invoke(main, [*args, "--map", str(loaded.path)], env={"DATAVOW_ACTOR": "agent:cli"})
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


@pytest.mark.parametrize("tenant", [PAST_32_BITS, PAST_64_BITS, HUGE])
def test_a_tenant_no_key_can_hold_is_refused_as_invalid_input(platform: LoadedMap, tenant: str) -> None:
    asked = _run(platform, "request", "access", "--email", "ann@example.com", "--tenant", tenant)
    assert asked.exit_code == 8, asked.output
    assert "(--tenant)" in asked.output and "out of range" not in asked.output
    assert len(asked.output) < 300  # the value is shown shortened
    ended = _run(platform, "tenant", "end", tenant)
    assert ended.exit_code == 8 and "(--tenant)" in ended.output, ended.output
    assert _run(platform, "request", "access", "--email", "ann@example.com", "--tenant", "1").exit_code == 0


def test_an_integer_identity_of_thousands_of_digits_is_refused_as_invalid_input(platform: LoadedMap) -> None:
    for value in (HUGE, PAST_64_BITS):
        asked = _run(platform, "request", "status", "--identity", f"customer_no={value}")
        assert asked.exit_code == 8 and "is too large to be an identifier" in asked.output, asked.output
        assert len(asked.output) < 200


def test_a_value_a_column_cannot_hold_matches_nothing_by_the_columns_type(platform: LoadedMap) -> None:
    engine = sa.create_engine(platform.system_url("platform"))
    try:
        with engine.connect() as connection:
            clients = reflected(connection, None, "clients", system="platform")
            kind = connection.dialect.name
    finally:
        engine.dispose()
    key, name = clients.c.id, clients.c.name
    assert typed_value(key, " 42 ") == 42 and typed_value(key, "x") is NO_MATCH
    assert typed_value(key, PAST_64_BITS) is NO_MATCH and typed_value(key, HUGE) is NO_MATCH
    # PostgreSQL holds an INTEGER in 32 bits and refuses to compare it with more; SQLite keeps 64.
    assert (typed_value(key, PAST_32_BITS) is NO_MATCH) == (kind == "postgresql")
    # Text past VARCHAR(20) is in no row, except in SQLite, which keeps any length in any column.
    assert (typed_value(name, "x" * 21) is NO_MATCH) == (kind != "sqlite")
    assert typed_value(name, 12) == "12"
    # A batch's values, most of them already numbers, are held to the same bounds in one pass.
    batch = {(1,), (2,), (int(PAST_32_BITS),), ("7",), (int(PAST_64_BITS),)}
    fitting = [1, 2, 7] if kind == "postgresql" else [1, 2, 7, int(PAST_32_BITS)]
    assert sorted(typed_column(key.type, batch, kind)) == fitting  # type: ignore[type-var]
