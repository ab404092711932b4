"""Acceptance: Fides' own sample project, imported with ``datavow import fides``, answers as Fides does.

The database is Fides' ``postgres_sample.sql`` and the map is what ``datavow import fides`` makes of
its three datasets (``tests/data/fides/sample/``, see its README), as one system. The SQL is
PostgreSQL's (SERIAL, MONEY, sequences, a second schema), so this runs on the suite's PostgreSQL
only: SQLite cannot load it.

What Fides returns is asserted in Fides' own tests (ethyca/fides):

- ``tests/service/dataset/test_dataset_config_service.py``, ``test_run_test_access_request``: the
  whole access result for ``jane@example.com`` on this dataset: her customer row, one order
  (ord_ddd-eee), one login (8), one payment card (pay_ccc-ccc), one address (4), and nothing in
  employee, report, visit, service_request, order_item or product.
- ``tests/ops/integration_tests/test_mongo_task.py``, ``test_object_querying_mongo`` (this dataset
  beside a MongoDB one, for ``customer-1@example.com``): customer 1, six logins, three orders, one
  payment card, one service request (handled by employee 1).
- ``tests/ops/service/privacy_request/test_postgres_privacy_requests.py``,
  ``test_create_and_process_access_request_postgres``: customer-1's customer row and visit row.
- ``tests/ops/integration_tests/test_sql_task.py``, ``test_postgres_access_request_task``: two
  addresses for customer-1 (their own, 1, and order ord_aaa-aaa's shipping address, 2).
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.pool import NullPool

from datavow import LoadedMap, load_map
from datavow.cli import DatavowGroup
from datavow.cli.importing import import_group
from datavow.plan import Discovery, compile_plan, discover, parse_identities
from datavow.requests.erasure import erase
from datavow.requests.export import ExportInfo, export_access, read_export

SAMPLE = Path(__file__).parent / "data" / "fides" / "sample"
DATASETS = sorted(SAMPLE.glob("*.yml"))
KEY = bytes(range(32))
NOW = datetime(2026, 3, 1, 12, 0)

MAIN_MAP = """\
organization:
  name: Cookie House
  country: US
  contact: {email: privacy@cookiehouse.example}
  supervisory_authority: {name: Data Protection Authority, country: IE}
subjects:
  customer: {name: Customers, taxonomy: customer}
purposes:
  service:
    name: Selling cookies
    basis: contract
    subjects: [customer]
    categories: [user]
    retention: 2 years
include: [fides.yaml]
"""

# The rows of each table that are customer-1's, by primary key, per the Fides tests named above.
CUSTOMER_1: dict[str, list[tuple[Any, ...]]] = {
    "customer": [(1,)],
    "address": [(1,), (2,)],
    "orders": [("ord_aaa-aaa",), ("ord_ccc-ccc",), ("ord_ddd-ddd",)],
    "payment_card": [("pay_aaa-aaa",)],
    "login": [(1,), (2,), (3,), (4,), (5,), (6,)],
    "visit": [("customer-1@example.com", datetime(2021, 1, 6, 1, 0))],
    "service_request": [("ser_aaa-aaa",)],
}
# The order items of customer-1's orders and their products: Fides reaches them too, but they
# hold no personal data (system.operations only), so a package may leave them out.
CUSTOMER_1_THINGS: dict[str, list[tuple[Any, ...]]] = {
    "order_item": [("ord_aaa-aaa", 1), ("ord_ccc-ccc", 1), ("ord_ccc-ccc", 2), ("ord_ddd-ddd", 1)],
    "product": [(1,), (2,)],
}
# test_run_test_access_request, field by field (the fields the Fides dataset declares).
JANE: dict[str, list[dict[str, Any]]] = {
    "customer": [{"address_id": 4, "created": "2020-04-01T11:47:42", "email": "jane@example.com", "id": 3,
                  "name": "Jane Customer"}],
    "orders": [{"customer_id": 3, "id": "ord_ddd-eee", "shipping_address_id": 4}],
    "login": [{"customer_id": 3, "id": 8, "time": "2021-01-06T01:00:00"}],
    "payment_card": [{"billing_address_id": 4, "ccn": 373719391, "code": 222, "customer_id": 3, "id": "pay_ccc-ccc",
                      "name": "Example Card 3", "preferred": False}],
    "address": [{"city": "Example Mountain", "house": 1111, "id": 4, "state": "TX", "street": "Example Place",
                 "zip": "54321"}],
}  # fmt: skip


def datavow_cli() -> click.Group:
    return DatavowGroup(name="datavow", commands=[import_group])


@pytest.fixture()
def sample(postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LoadedMap, sa.Engine]]:
    """Fides' sample database in a fresh PostgreSQL database, and the map imported from its datasets."""
    engine = sa.create_engine(postgres_url, poolclass=NullPool)
    with engine.begin() as connection:
        connection.exec_driver_sql((SAMPLE / "postgres_sample.sql").read_text(encoding="utf-8"))
    result = CliRunner().invoke(
        datavow_cli(),
        ["import", "fides", *map(str, DATASETS), "--system", "sample", "--subject", "customer", "-o",
         str(tmp_path / "fides.yaml")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (tmp_path / "datavow.yaml").write_text(MAIN_MAP, encoding="utf-8")
    monkeypatch.setenv("SAMPLE_URL", postgres_url)  # the fragment leaves the URL to the environment
    yield load_map(tmp_path / "datavow.yaml"), engine
    engine.dispose()


def find(loaded: LoadedMap, engine: sa.Engine, email: str) -> Discovery:
    identities = {"email": [email]}
    plan = compile_plan(loaded, identities, systems=["sample"])
    with ExitStack() as stack:
        connection = stack.enter_context(engine.connect())
        return discover(loaded, plan, parse_identities(loaded, identities), {"sample": connection})


def access(loaded: LoadedMap, engine: sa.Engine, email: str, folder: Path) -> dict[str, list[dict[str, Any]]]:
    """The access package for ``email``, decrypted: each table's exported rows."""
    folder.mkdir()
    package = export_access(
        loaded,
        find(loaded, engine, email),
        {"sample": engine},
        folder / "package.zip.dvs",
        key=KEY,
        request=ExportInfo("REQ-1", datetime(2026, 3, 1, 9, 0, tzinfo=UTC), {"email": [email]}),
        expires_at=datetime.now(UTC) + timedelta(days=30),
    )
    archive = zipfile.ZipFile(read_export(package.path, KEY, folder))
    return {
        name.removeprefix("data/sample/").removesuffix(".json"): json.loads(archive.read(name))
        for name in archive.namelist()
        if name.startswith("data/sample/") and name.endswith(".json")
    }


def keys_of(engine: sa.Engine) -> dict[str, list[str]]:
    """Each public table's primary key columns, as the database declares them."""
    inspector = sa.inspect(engine)
    return {name: inspector.get_pk_constraint(name)["constrained_columns"] for name in inspector.get_table_names()}


def keyed(rows: list[dict[str, Any]], key: list[str]) -> list[tuple[Any, ...]]:
    return sorted(tuple(_plain(row[column]) for column in key) for row in rows)


def _plain(value: Any) -> Any:
    # the package writes times as ISO text; the expectations hold datetimes
    return datetime.fromisoformat(value) if isinstance(value, str) and value[:4] == "2021" and "T" in value else value


def snapshot(engine: sa.Engine) -> dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]:
    """Every row of every table of the sample (both schemas), by primary key."""
    state: dict[str, dict[tuple[Any, ...], tuple[Any, ...]]] = {}
    metadata = sa.MetaData()
    with engine.connect() as connection:
        metadata.reflect(connection)  # public, the default schema: keys are the table names
        metadata.reflect(connection, schema="backup_schema")
        for table in metadata.sorted_tables:
            key = list(table.primary_key.columns)
            rows = connection.execute(sa.select(table)).all()
            state[table.fullname] = {tuple(row._mapping[c.name] for c in key): tuple(row) for row in rows}
    return state


# --------------------------------------------------------------------------- access


def test_customer_1_gets_exactly_what_fides_returns(sample: tuple[LoadedMap, sa.Engine], tmp_path: Path) -> None:
    loaded, engine = sample
    package = access(loaded, engine, "customer-1@example.com", tmp_path / "customer-1")
    keys = keys_of(engine)
    personal = {table: keyed(rows, keys[table]) for table, rows in package.items() if table not in CUSTOMER_1_THINGS}
    assert personal == CUSTOMER_1
    # nothing of anyone else: no other customer's card (pay_bbb-bbb is customer 2's, pay_ccc-ccc Jane's),
    # no employee row, no other customer's service request
    assert "employee" not in package and "report" not in package and "loyalty" not in package
    assert [row["ccn"] for row in package["payment_card"]] == [123456789]
    assert {row["id"] for row in package["service_request"]} == {"ser_aaa-aaa"}
    for table, expected in CUSTOMER_1_THINGS.items():
        assert set(keyed(package.get(table, []), keys[table])) <= set(expected), table


def test_jane_gets_exactly_what_fides_returns(sample: tuple[LoadedMap, sa.Engine], tmp_path: Path) -> None:
    loaded, engine = sample
    package = access(loaded, engine, "jane@example.com", tmp_path / "jane")
    found = {
        table: [{column: row[column] for column in JANE[table][0]} for row in rows]
        for table, rows in package.items()
        if table in JANE
    }
    assert found == JANE
    # Fides finds nothing for her in the other tables (her order's items name another order id)
    assert set(package) - set(JANE) <= {"order_item", "product"}
    assert package.get("order_item", []) == [] and package.get("product", []) == []


# --------------------------------------------------------------------------- erasure


def test_erasing_customer_2_changes_none_of_customer_1s_rows(sample: tuple[LoadedMap, sa.Engine]) -> None:
    loaded, engine = sample
    before = snapshot(engine)
    result = erase(loaded, find(loaded, engine, "customer-2@example.com"), {"sample": engine}, key=KEY, now=NOW)
    assert result.complete, result.to_dict()
    after = snapshot(engine)
    changed = {
        table: sorted(key for key in before[table] if after[table].get(key) != before[table][key])
        for table in before
        if after[table] != before[table]
    }
    # customer 2's own rows, and nothing else: address 1 (their card's billing address, also
    # customer-1's home) and address 2 (their home, also customer-1's shipping address) are shared.
    # Their order holds no personal data but the customer_id that links it, which erasure keeps.
    assert changed == {
        "customer": [(2,)],
        "payment_card": [("pay_bbb-bbb",)],
        "login": [(7,)],
        "visit": [("customer-2@example.com", datetime(2021, 1, 6, 1, 0))],  # its e-mail, part of its key, hashed
        "service_request": [("ser_bbb-bbb",)],
    }
    assert after["customer"][(2,)][1] is None  # the e-mail Fides' dataset found customer 2 by is cleared
    assert after["service_request"][("ser_bbb-bbb",)][1] is None  # so is the one Fides calls system.operations
    for table, rows in CUSTOMER_1.items():
        assert all(after[table].get(key) == before[table].get(key) for key in rows), table
