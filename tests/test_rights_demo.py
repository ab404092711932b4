"""Every right, on each demo company, on SQLite, PostgreSQL and MariaDB: a real person is found,
exported, restricted, corrected and erased, through the same service the CLI uses."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from datavow import load_map
from datavow.connectors.databases import Databases
from datavow.datamap import LoadedMap
from datavow.demo import PASSWORD_VARIABLE, build_demo
from datavow.requests import receive, verify
from datavow.requests.lifecycle import Status
from datavow.requests.restricting import flag_person
from datavow.requests.restriction import is_restricted, restrict
from datavow.requests.service import RunOptions, run_request
from datavow.secrets import load_key, state_directory
from datavow.store import default_state_url, open_store
from tests.test_demo import TODAY, built_on_server

ACTOR = "test:rights"


def a_person(loaded: LoadedMap) -> tuple[str, str | None]:
    """An e-mail address from the first table with an e-mail identity, and its tenant if scoped."""
    for ref in loaded.tables():
        columns = ref.table.identity.get("email")
        if not columns or ref.table.subject is None:
            continue
        tenant_column = ref.table.tenant_column if ref.system.tenant is not None else None
        engine = sa.create_engine(loaded.system_url(ref.system_name))
        try:
            table = sa.Table(ref.table_name, sa.MetaData(), schema=ref.schema, autoload_with=engine)
            wanted = [table.c[columns[0]]] + ([table.c[tenant_column]] if tenant_column else [])
            with engine.connect() as conn:
                row = conn.execute(sa.select(*wanted).where(table.c[columns[0]].is_not(None)).limit(1)).one()
        finally:
            engine.dispose()
        return str(row[0]).strip(), (str(row[1]) if tenant_column else None)
    raise AssertionError("no table with an e-mail identity")


def exercise_rights(loaded: LoadedMap) -> None:
    email, tenant = a_person(loaded)
    source = "controller" if tenant is not None else "data_subject"
    key = load_key(state_directory(loaded.path))
    with open_store(default_state_url(loaded.path)) as store, Databases() as databases:

        def run(kind: str, who: str, corrections: Mapping[str, str] | None = None) -> dict[str, Any]:
            record = receive(
                store, loaded, kind, {"email": [who]}, source=source, tenant=tenant, actor=ACTOR, databases=databases
            )
            verify(store, record.id, ACTOR, method="test")
            options = RunOptions(key=key, corrections=corrections or {})
            done = run_request(store, loaded, record.id, options, ACTOR, databases=databases)
            assert done.status is Status.completed
            return dict(done.result or {})

        access = run("access", email)
        assert access["found"] is True and int(str(access["rows"])) > 0, (loaded.path, access)
        restrict(store, loaded, {"email": [email]}, reason="accuracy contested", actor=ACTOR)
        assert is_restricted(store, loaded, {"email": [email]})
        if any(ref.table.restriction_flag for ref in loaded.tables()):
            flag_person(loaded, {"email": [email]}, True, tenant=tenant, databases=databases)
        new_email = "corrected." + email.upper().replace(" ", "")
        fixed = run("rectification", email, corrections={"user.contact.email": new_email})
        assert sum(int(f["rows"]) for f in fixed["fields"]) > 0, fixed
        erased = run("erasure", new_email)
        assert erased["found"] is True and int(str(erased["changed"])) > 0, erased
        again = run("erasure", new_email)  # nothing left to find by that address: no harm done
        assert int(str(again.get("changed", 0))) == 0


@pytest.mark.parametrize("company", ["mira-software", "mira-network", "miralix"])
def test_every_right_on_sqlite(tmp_path: Path, company: str) -> None:
    (built,) = build_demo(tmp_path, scale=0.05, today=TODAY, companies=[company])
    exercise_rights(load_map(built.map_path))


@contextmanager
def server_demo(tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[LoadedMap]]:
    password = sa.make_url(url).password
    if password is not None:
        monkeypatch.setenv(PASSWORD_VARIABLE, password)
    with built_on_server(tmp_path, url) as built:
        yield [load_map(company.map_path) for company in built]


def test_every_right_on_postgresql(tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with server_demo(tmp_path, postgres_url, monkeypatch) as maps:
        for loaded in maps:
            exercise_rights(loaded)


def test_every_right_on_mariadb(tmp_path: Path, mariadb_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with server_demo(tmp_path, mariadb_url, monkeypatch) as maps:
        for loaded in maps:
            exercise_rights(loaded)
