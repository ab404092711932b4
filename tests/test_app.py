"""The application object: one per process, shared by threads, closed explicitly; its caches notice a
schema that changed under them; and no cache is left at module level."""

from __future__ import annotations

import ast
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

import datavow
from datavow import Datavow
from datavow.errors import ConnectionError_, DatavowError, PlanError, QueryError
from datavow.requests import receive, verify

MAP = """\
organization: {name: Shop bv, country: BE, contact: {email: privacy@shop.example}}
subjects: {customer: Customers}
purposes:
  service: {name: Selling, basis: contract, subjects: [customer], categories: [user.contact, user.name, user.unique_id],
            retention: 2 years}
systems:
  shop:
    url: URL
    tables:
      customers:
        subject: customer
        identity: {email: email}
        primary_key: id
        erase: anonymize
        fields:
          id: {category: user.unique_id, erase: keep}
          email: {category: user.contact.email, erase: hash}
          name: {category: user.name, erase: nullify}
      messages:
        subject: customer
        primary_key: id
        references: {customer_id: customers.id}
        erase: delete
        fields: {id: ~, customer_id: ~, body: {category: user.contact, erase: nullify}}
"""

PEOPLE = 12  # person n has n + 1 messages


def make_shop(tmp_path: Path, url: str) -> Path:
    """The map, and the shop's two tables filled: customer n is person<n>@example.com."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, name TEXT)")
            connection.exec_driver_sql("CREATE TABLE messages (id INTEGER PRIMARY KEY, customer_id INTEGER, body TEXT)")
            for n in range(PEOPLE):
                connection.execute(
                    sa.text("INSERT INTO customers VALUES (:id, :email, :name)"),
                    {"id": n, "email": f"person{n}@example.com", "name": f"Person {n}"},
                )
                for m in range(n + 1):
                    connection.execute(
                        sa.text("INSERT INTO messages VALUES (:id, :customer, 'hello')"),
                        {"id": n * 100 + m, "customer": n},
                    )
    finally:
        engine.dispose()
    path = tmp_path / "datavow.yaml"
    path.write_text(MAP.replace("URL", url), encoding="utf-8")
    return path


def open_app(tmp_path: Path, map_path: Path) -> Datavow:
    return Datavow.open(map_path, state_url=f"sqlite:///{tmp_path / 'state.db'}", create=True)


def access(app: Datavow, email: str) -> dict[str, int]:
    """An access request for ``email``, received, verified and run; its rows per table."""
    record = receive(
        app.store, app.loaded, "access", {"email": [email]}, source="data_subject", actor="t", databases=app.databases
    )
    verify(app.store, record.id, "t", method="test")
    done = app.run_request(record.id, "t", export_dir=app.map_path.parent / "exports")
    assert done.result is not None
    return dict(done.result["tables"])


def rename_column(url: str, old: str, new: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"ALTER TABLE customers RENAME COLUMN {old} TO {new}")
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def shop_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        sqlite3.connect(tmp_path / "shop.db").close()
        return f"sqlite:///{tmp_path / 'shop.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


def test_a_renamed_column_is_a_schema_error_and_the_same_app_works_once_it_is_back(
    tmp_path: Path, shop_url: str
) -> None:
    map_path = make_shop(tmp_path, shop_url)
    with open_app(tmp_path, map_path) as app:
        assert access(app, "person2@example.com") == {"shop.customers": 1, "shop.messages": 3}
        rename_column(shop_url, "email", "e_mail")  # the column the map finds people by
        with pytest.raises(DatavowError) as raised:
            access(app, "person2@example.com")
        assert not isinstance(raised.value, ConnectionError_)
        assert isinstance(raised.value, PlanError | QueryError)
        assert "no column email" in str(raised.value) and "cannot connect" not in str(raised.value)
        assert app.databases.generation() >= 1  # what was reflected before the rename was dropped
        rename_column(shop_url, "e_mail", "email")
        assert access(app, "person3@example.com") == {"shop.customers": 1, "shop.messages": 4}


def test_a_statement_on_a_stale_reflection_is_retried_on_the_fresh_schema(tmp_path: Path) -> None:
    """A column the map does not read is dropped: the statement reflected with it fails once, the
    schema is reflected again, and the request succeeds without the caller seeing an error."""
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    sqlite3.connect(tmp_path / "shop.db").close()
    map_path = make_shop(tmp_path, url)
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE messages ADD COLUMN note TEXT")
    with open_app(tmp_path, map_path) as app:
        assert access(app, "person1@example.com") == {"shop.customers": 1, "shop.messages": 2}
        with engine.begin() as connection:
            connection.exec_driver_sql("ALTER TABLE messages DROP COLUMN note")
        assert access(app, "person4@example.com") == {"shop.customers": 1, "shop.messages": 5}
        assert app.databases.generation() == 1  # noticed once, then reflected afresh
    engine.dispose()


def test_threads_share_one_app_and_each_gets_its_own_persons_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    sqlite3.connect(tmp_path / "shop.db").close()
    map_path = make_shop(tmp_path, url)
    app = open_app(tmp_path, map_path)
    disposed: list[sa.Engine] = []
    with app, ThreadPoolExecutor(max_workers=6) as pool:
        found = list(pool.map(lambda n: access(app, f"person{n}@example.com"), range(PEOPLE)))
        (engine,) = app.engines(["shop"]).values()  # one engine, made once, shared by every thread
        sa.event.listen(engine, "engine_disposed", disposed.append)
        assert disposed == []
    assert found == [{"shop.customers": 1, "shop.messages": n + 1} for n in range(PEOPLE)]
    assert disposed == [engine]
    with pytest.raises(DatavowError, match="closed"):
        app.engines(["shop"])  # closed: the engines were disposed and no new one is made


def test_the_store_and_key_are_made_only_when_asked_for(tmp_path: Path) -> None:
    """Opening the application touches nothing: a command that only reads the map creates no
    state store and no key."""
    sqlite3.connect(tmp_path / "shop.db").close()
    map_path = make_shop(tmp_path, f"sqlite:///{tmp_path / 'shop.db'}")
    with Datavow.open(map_path) as app:
        assert app.loaded.model.organization.name == "Shop bv"
    assert not (tmp_path / ".datavow").exists()


# --------------------------------------------------------------------------- no module-level caches

PACKAGE = Path(datavow.__file__).parent

#: Module-level state allowed to stay, and why: memoised pure functions of constants or of their
#: own arguments (nothing a schema, a map or a store could make stale), and one lock that holds no data.
ALLOWED: dict[str, str] = {
    "store/migrate.py:_IN_PROCESS_LOCK": "serialises Alembic's in-process upgrade of a store; holds no data",
    "retention/offboarding/documents.py:_environment": "the certificate's template environment: package files",
    "incidents/render.py:_environment": "the notices' template environment: package files",
    "documents/disclosure.py:_environment": "the access letter's template environment: package files",
    "documents/wording.py:environment": "a template environment per folder and mode: the folder's files",
    "taxonomy/__init__.py:default_taxonomy": "fideslang's default taxonomy as datavow ships it: a package file",
    "plan/national_ids.py:written_forms": "the written forms of a national id: a pure function of its text",
    "plan/national_ids.py:_module": "python-stdnum's module for a region: a constant of the installed package",
    "plan/phone_numbers.py:written_forms": "the written forms of a phone number: a pure function of its text",
    "demo/fake.py:ascii_slug": "a name as ASCII: a pure function of its text",
    "plan/identity_keys.py:identity_keys": "the subkeys derived from the installation's key: a pure function of it",
}

_MADE_MUTABLE = {"dict", "set", "list", "defaultdict", "OrderedDict", "WeakKeyDictionary", "WeakValueDictionary"}
_LOCKS = {"Lock", "RLock"}
_MEMOISERS = {"lru_cache", "cache"}


def _called(node: ast.expr) -> str:
    """The name of what ``node`` calls (or is, for a decorator without arguments)."""
    target = node.func if isinstance(node, ast.Call) else node
    return target.attr if isinstance(target, ast.Attribute) else target.id if isinstance(target, ast.Name) else ""


def _module_level_state(path: Path, root: Path = PACKAGE) -> list[str]:
    """Module-level names that keep state: a lock, an empty container filled later (a constant
    table in capitals is read, not filled), or a memoised function."""
    found = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef):
            if any(_called(decorator) in _MEMOISERS for decorator in node.decorator_list):
                found.append(node.name)
            continue
        if isinstance(node, ast.Assign):
            targets, value = [t for t in node.targets if isinstance(t, ast.Name)], node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        empty = (isinstance(value, ast.Dict) and not value.keys) or (
            isinstance(value, ast.Set | ast.List) and not value.elts
        )
        made = isinstance(value, ast.Call) and _called(value) in _MADE_MUTABLE and not value.args
        lock = isinstance(value, ast.Call) and _called(value) in _LOCKS
        found += [target.id for target in targets if lock or ((empty or made) and not target.id.isupper())]
    return [f"{path.relative_to(root).as_posix()}:{name}" for name in found]


def test_no_module_keeps_a_cache() -> None:
    found = sorted(name for path in PACKAGE.rglob("*.py") for name in _module_level_state(path))
    assert [name for name in found if name not in ALLOWED] == []
    assert sorted(set(ALLOWED) - set(found)) == [], "an allowed entry is gone: drop it from ALLOWED"


def test_the_scan_sees_module_level_state(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import threading\nfrom functools import lru_cache\n"
        "_seen: dict[str, int] = {}\n_lock = threading.Lock()\nTABLE = {1: 2}\n_names = set()\n"
        "@lru_cache(maxsize=8)\ndef f(x: int) -> int:\n    return x\n",
        encoding="utf-8",
    )
    assert _module_level_state(probe, tmp_path) == ["probe.py:_seen", "probe.py:_lock", "probe.py:_names", "probe.py:f"]
