"""The kind and field of the main refusals, read through the library as the HTTP API will read them:
an unknown id is not found (404), a step the state forbids a conflict (409), a bad value invalid
(422) naming its input; the exit code stays the one of the part that refused."""

from __future__ import annotations

import ast
import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import click
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy import exc as sa_exc

import datavow
from datavow.audit import append
from datavow.consent.identity import Hasher
from datavow.datamap import LoadedMap
from datavow.datamap.source import MISSING_FILE
from datavow.driver_errors import KINDS, Fault
from datavow.errors import (
    AuditError,
    ConnectionError_,
    ConsentError,
    DatavowError,
    ErrorKind,
    ImportError_,
    IncidentError,
    PlanError,
    Problem,
    RequestError,
    StateError,
    outcome_of,
)
from datavow.incidents import classify_incident, get_incident, open_incident
from datavow.requests import get, receive, start
from datavow.requests.restriction import lift
from datavow.retention import rules_of
from datavow.secrets import KEY_ENV, create_key, state_directory
from datavow.store import Store, open_store, state_error
from tests.test_requests_lifecycle import write_shop


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LoadedMap:
    monkeypatch.delenv(KEY_ENV, raising=False)
    loaded = write_shop(tmp_path / "shop")
    create_key(state_directory(loaded.path))
    return loaded


@pytest.fixture
def store(shop: LoadedMap) -> Iterator[Store]:
    with open_store(f"sqlite:///{shop.directory / '.datavow' / 'state.db'}") as opened:
        yield opened


def _reported(error: DatavowError) -> tuple[ErrorKind, int, int, str | None]:
    outcome = outcome_of(error)
    return outcome.kind, outcome.exit_code, outcome.http_status, error.field


def test_an_unknown_request_is_not_found(store: Store) -> None:
    with pytest.raises(RequestError, match="there is no request 12") as caught:
        get(store, 12)
    assert _reported(caught.value) == (ErrorKind.NOT_FOUND, 8, 404, None)


def test_a_step_the_state_forbids_is_a_conflict(store: Store, shop: LoadedMap) -> None:
    record = receive(store, shop, "access", {"email": "jane@example.com"}, source="agent", actor="agent:ann")
    with pytest.raises(RequestError, match="received, so it cannot be started") as caught:
        start(store, record.id, "agent:ann")
    assert _reported(caught.value) == (ErrorKind.CONFLICT, 8, 409, None)


def test_a_bad_email_is_invalid_and_names_its_identity(store: Store, shop: LoadedMap) -> None:
    with pytest.raises(RequestError, match="'bob@' is not an e-mail address") as caught:
        receive(store, shop, "access", {"email": "bob@"}, source="agent", actor="agent:ann")
    assert _reported(caught.value) == (ErrorKind.INVALID, 8, 422, "email")
    with pytest.raises(RequestError, match="is not a whole number") as number:
        receive(store, shop, "access", {"customer_no": "twelve"}, source="agent", actor="agent:ann")
    assert _reported(number.value) == (ErrorKind.INVALID, 8, 422, "customer_no")
    with pytest.raises(RequestError, match="unknown request kind 'forget'") as kind:
        receive(store, shop, "forget", {"email": "jane@example.com"}, source="agent", actor="agent:ann")
    assert _reported(kind.value) == (ErrorKind.INVALID, 8, 422, "kind")


def test_a_bad_email_in_the_consent_ledger_keeps_its_kind_and_field(shop: LoadedMap) -> None:
    keys = Hasher(shop, b"k" * 32)
    with pytest.raises(ConsentError, match="is not an e-mail address") as caught:
        keys.hash("email", "bob@")
    assert _reported(caught.value) == (ErrorKind.INVALID, 10, 422, "email")


def test_an_unknown_tenant_is_not_found(store: Store, shop: LoadedMap) -> None:
    with pytest.raises(RequestError, match="no tenant '99' in platform.clients") as caught:
        receive(store, shop, "access", {"email": "a@uliege.be"}, source="data_subject", tenant="99", actor="a")
    assert _reported(caught.value) == (ErrorKind.NOT_FOUND, 8, 404, "tenant")


def test_an_unknown_incident_is_not_found_and_a_step_out_of_order_a_conflict(store: Store) -> None:
    with pytest.raises(IncidentError, match="no incident 7 in the register") as caught:
        get_incident(store, 7)
    assert _reported(caught.value) == (ErrorKind.NOT_FOUND, 11, 404, None)
    aware = datetime(2024, 3, 15, 10, 0, tzinfo=UTC)
    with pytest.raises(IncidentError, match="the time of awareness .* is in the future") as future:
        open_incident(store, "Lost laptop", "A laptop was stolen", aware_at=datetime(2999, 1, 1, tzinfo=UTC), actor="a")
    assert _reported(future.value) == (ErrorKind.INVALID, 11, 422, "aware_at")
    incident = open_incident(store, "Lost laptop", "A laptop was stolen", aware_at=aware, actor="a")
    with pytest.raises(IncidentError, match="is registered, so it cannot") as early:
        classify_incident(
            store, incident.id, risk="low", reasoning="encrypted disk", kinds=["confidentiality"], actor="a"
        )
    assert _reported(early.value) == (ErrorKind.CONFLICT, 11, 409, None)


def test_a_sweep_of_an_unknown_system_is_not_found(shop: LoadedMap) -> None:
    with pytest.raises(PlanError, match="no system 'warehouse' in the map") as caught:
        rules_of(shop, ["warehouse"])
    assert _reported(caught.value) == (ErrorKind.NOT_FOUND, 7, 404, "systems")


def test_an_unknown_restriction_is_not_found(store: Store) -> None:
    with pytest.raises(RequestError, match="there is no restriction or objection #5") as caught:
        lift(store, 5, reason="no longer contested", actor="agent:ann")
    assert _reported(caught.value) == (ErrorKind.NOT_FOUND, 8, 404, None)


# --------------------------------------------------------------------------- no CLI words in the library

PACKAGE = Path(datavow.__file__).parent
FLAG = re.compile(r"(?<![\w-])--[a-z]")

#: Strings outside ``cli/`` that may name a command, each with why: (module, the string).
ALLOWED: dict[tuple[str, str], str] = {
    ("demo/record.py", "datavow demo"): "the audit log's actor for what the demo built: a name recorded, not advice",
}


def _docstrings(tree: ast.Module) -> set[int]:
    """Docstrings are documentation for the code's readers, which may name the commands a function
    serves; only strings that reach a user (messages, hints, notes) are scanned."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _cli_words(text: str, command: re.Pattern[str]) -> bool:
    return bool(FLAG.search(text) or command.search(text))


def _library_strings() -> list[tuple[str, int, str]]:
    strings = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith("cli/"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                strings.append((relative, node.lineno, node.value))
    return strings


def _command_pattern() -> re.Pattern[str]:
    from datavow.cli import main

    names = main.list_commands(click.Context(main))
    assert {"demo", "check", "request", "consent", "import"} <= set(names)  # the scan knows the commands
    return re.compile(rf"\bdatavow (?:{'|'.join(map(re.escape, names))})\b")


def test_no_library_message_names_a_cli_flag_or_command() -> None:
    command = _command_pattern()
    found = [
        f"{path}:{line}: {text!r}"
        for path, line, text in _library_strings()
        if _cli_words(text, command) and (path, text) not in ALLOWED
    ]
    assert found == [], "say it in words and give the error its field; the CLI adds the flag"
    allowed = {(path, text) for path, _, text in _library_strings() if (path, text) in ALLOWED}
    assert allowed == set(ALLOWED), "an allowed string is gone: remove it from ALLOWED"


def test_the_scan_sees_a_flag_and_a_command() -> None:
    command = _command_pattern()
    assert _cli_words("pass --skip-nested to leave it out", command)
    assert _cli_words("run 'datavow check' to compare", command)
    assert not _cli_words("datavow cannot do that on mssql", command)
    assert not _cli_words("a range of 2024-03--2024-04 or x--y", command)


def test_the_cli_names_the_options_and_commands_the_library_leaves_out(tmp_path: Path) -> None:
    from datavow.cli import PROBLEM_COMMANDS, describe, main

    assert set(PROBLEM_COMMANDS) == {MISSING_FILE}
    missing = CliRunner().invoke(main, ["check", "--map", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2
    assert "no such file — check the path, or run 'datavow demo' for an example map (--map)" in missing.stderr
    wrong = ImportError_("cannot import x: 1 problem:\n  bad", problems=[Problem(None, "bad", "fix", fields=("url",))])
    assert describe(wrong) == "cannot import x: 1 problem:\n  bad — fix (--url)"


# --------------------------------------------------------------------------- the state store's driver errors


def test_the_state_store_reports_a_driver_error_by_the_rules_the_systems_follow(tmp_path: Path) -> None:
    url = "postgresql+psycopg://datavow:s3cret@localhost/state"
    gone = sa_exc.OperationalError("SELECT 1", {}, sqlite3.OperationalError("unable to open database file"))
    missing = sa_exc.OperationalError("INSERT INTO audit_entries", {}, sqlite3.OperationalError("no such column: ts"))
    duplicate = sa_exc.IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed: x.seq"))
    unreachable = state_error(gone, sa.make_url(url), "open the state store")
    assert isinstance(unreachable, ConnectionError_) and unreachable.field == "state_url"
    assert _reported(unreachable) == (ErrorKind.UNAVAILABLE, 3, 503, "state_url")
    assert "s3cret" not in str(unreachable) and "cannot open the state store" in str(unreachable)
    schema = state_error(missing, "sqlite:///state.db", "append to the audit log", AuditError)
    assert isinstance(schema, AuditError) and _reported(schema)[:3] == (ErrorKind.SCHEMA, 13, 500)
    refused = state_error(duplicate, "sqlite:///state.db", "record the request")
    assert isinstance(refused, StateError) and _reported(refused)[:3] == (ErrorKind.REFUSED, 13, 500)
    assert {KINDS[fault] for fault in Fault} == {ErrorKind.UNAVAILABLE, ErrorKind.SCHEMA, ErrorKind.REFUSED}


def test_an_audit_log_whose_table_was_changed_is_a_schema_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    with open_store(url) as store:
        append(store, "agent:ann", "request.received", "request", "1")
        with store.engine.begin() as connection:
            connection.execute(sa.text("ALTER TABLE audit_entries RENAME COLUMN actor TO who"))
        with pytest.raises(AuditError, match="could not append to the audit log at sqlite:") as caught:
            append(store, "agent:ann", "request.verified", "request", "1")
    assert _reported(caught.value)[:3] == (ErrorKind.SCHEMA, 13, 500)
    assert "lacks a table or column" in str(caught.value) and "cannot connect" not in str(caught.value)
