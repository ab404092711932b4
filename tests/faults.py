"""What the tests of faults share (tests/test_faults_*.py and the crash drills): a database per
backend, a map written around it, one person's erasure as a request runs it, and a child process
to kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from datavow import load_map
from datavow.connectors.sql import connect
from datavow.datamap.load import LoadedMap
from datavow.plan import compile_plan, discover, parse_identities
from datavow.requests.erasure import ErasureResult, erase

BACKENDS = ["sqlite", "postgresql", "mariadb"]
SERVER = {"postgresql": "postgres_url", "mariadb": "mariadb_url"}  # the fixtures' names
KEY = bytes(range(32))
NOW = datetime(2026, 3, 1, 12, 0)

# A map's head: ``{url}`` is the shop's database; its tables follow, indented under ``tables:``.
HEAD = """\
organization: {{name: Shop, country: BE, contact: {{email: privacy@shop.example}}}}
subjects: {{customer: Customers}}
purposes:
  service: {{name: Selling, basis: contract, subjects: [customer], categories: [user], retention: 2 years}}
  invoicing: {{name: Invoicing, basis: legal_obligation, law: Accounting law, subjects: [customer],
              categories: [user], retention: 7 years}}
systems:
  shop:
    url: "{url}"
    tables:
"""


def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """An empty database: a new SQLite file, or the suite's fresh PostgreSQL or MariaDB database."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'shop.db'}"
        sa.create_engine(url).dispose()  # creates the file: datavow never creates databases
        return url
    return str(request.getfixturevalue(SERVER[backend]))


def open_map(tmp_path: Path, tables: str, url: str, request: pytest.FixtureRequest) -> tuple[LoadedMap, Engine]:
    """The map of :data:`HEAD` with ``tables``, and an engine opened as requests open it (foreign keys
    enforced on SQLite), disposed of after the test."""
    path = tmp_path / "datavow.yaml"
    path.write_text((HEAD + tables).format(url=url), encoding="utf-8")
    loaded = load_map(path)
    engine = connect(loaded.system_url("shop"), system="shop")
    request.addfinalizer(engine.dispose)
    return loaded, engine


def erase_person(loaded: LoadedMap, engine: Engine, email: str) -> ErasureResult:
    """Plan, discover and erase the person with ``email`` in system ``shop``."""
    identities = {"email": [email]}
    plan = compile_plan(loaded, identities)
    with ExitStack() as stack:
        connection = stack.enter_context(engine.connect())
        discovery = discover(loaded, plan, parse_identities(loaded, identities), {"shop": connection})
    return erase(loaded, discovery, {"shop": engine}, key=KEY, now=NOW)


def ids(engine: Engine, table: sa.Table) -> list[int]:
    """The ids of ``table``'s rows, in order."""
    with engine.connect() as conn:
        return [int(row[0]) for row in conn.execute(sa.select(table.c.id).order_by(table.c.id))]


ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def child(call: str, args: list[str], errors: Path) -> Iterator[subprocess.Popen[str]]:
    """A Python process running ``call`` (``module:function``, from the repository) with ``args``,
    its output a text pipe and its errors written to ``errors``; killed, if need be, and reaped."""
    module, function = call.split(":")
    code = f"import sys; from {module} import {function}; {function}(*sys.argv[1:])"
    with errors.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-c", code, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=stderr, text=True
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        assert process.stdout is not None
        process.stdout.close()


def kill_hard(process: subprocess.Popen[str]) -> None:
    """SIGKILL: the process stops where it is, with no chance to clean up."""
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL
