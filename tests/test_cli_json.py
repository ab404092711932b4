"""``--json`` on the commands: a request only received, forwarded or run, verify, extend, deny,
restrict, object, lift and status print JSON that parses and says what happened; and every
command that prints a result has ``--json`` (a few, listed with why, write files or print help).

Real things: the shop's SQLite databases and a SQLite state store beside its map.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import click
from click.testing import CliRunner

from datavow.cli import main
from datavow.datamap import LoadedMap
from tests import test_requests_lifecycle as lifecycle
from tests.test_docs import commands

shop = lifecycle.shop

#: Commands without ``--json``, and why: each writes files (and says where) or only prints help.
WITHOUT_JSON = {
    "datavow demo": "writes the demo companies into a folder and prints a tour to read",
    "datavow import fides": "writes a data map fragment (to a file or to stdout): its output is the YAML",
    "datavow ropa": "writes the record of processing in the format asked for (HTML, PDF, CSV, XLSX, JSON-LD)",
    "datavow incident export": "writes the register as CSV or PDF",
    "datavow worker": "runs until stopped, telling each sweep as it happens",
}


def run(shop: LoadedMap, *args: str) -> tuple[int, Any]:
    """Run ``datavow ARGS --json`` on the shop; the exit code and the parsed output."""
    result = CliRunner().invoke(main, [*args, "--json", "--map", str(shop.path)], env={"DATAVOW_ACTOR": "agent:cli"})
    assert "Traceback" not in result.output, result.output
    return result.exit_code, json.loads(result.stdout)


def _add_jane(shop: LoadedMap) -> None:
    with sqlite3.connect(shop.directory / "shop.db") as db:
        db.executemany(
            "INSERT INTO customers VALUES (?, ?, ?)", [(1, "jane@example.com", 0), (2, "john@example.com", 0)]
        )


def test_a_request_only_received_forwarded_or_run_prints_what_became_of_it(shop: LoadedMap) -> None:
    _add_jane(shop)
    code, received = run(shop, "request", "erase", "--email", "jane@example.com")
    assert code == 0 and received["outcome"] == "received" and received["status"] == "received"
    assert received["kind"] == "erasure" and received["due_at"] and received["result"] is None

    code, forwarded = run(shop, "request", "access", "--email", "ann@uliege.be", "--tenant", "1")
    assert code == 0 and forwarded["outcome"] == "forwarded" and forwarded["forwarded_to"] == "Université de Liège"

    code, done = run(
        shop, "request", "erase", "--email", "john@example.com", "--source", "agent", "--verified-by", "id"
    )
    assert code == 0 and done["status"] == "completed" and done["kind"] == "erasure"
    assert [step["anonymised"] for step in done["result"]["steps"] if step["step"] == "shop.customers"] == [1]

    code, plan = run(shop, "request", "erase", "--email", "jane@example.com", "--dry-run")
    assert code == 0 and [step["rows"] for step in plan if step["table"] == "shop.customers"] == [1]


def test_verify_extend_and_deny_print_the_request_and_the_letter(shop: LoadedMap) -> None:
    _, first = run(shop, "request", "access", "--email", "jane@example.com")
    _, second = run(shop, "request", "erase", "--email", "jane@example.com")

    code, verified = run(shop, "requests", "verify", str(first["id"]), "--manual", "passport")
    assert code == 0 and verified["id"] == first["id"] and verified["status"] == "verified" and verified["verified_at"]

    code, extended = run(shop, "requests", "extend", str(second["id"]), "--months", "1", "--reason", "many systems")
    assert code == 0 and extended["request"]["extended_to"] and "many systems" in extended["letter"]

    code, denied = run(shop, "requests", "deny", str(second["id"]), "--reason", "no account")
    assert code == 0 and denied["request"]["status"] == "denied" and "no account" in denied["letter"]


def test_restrict_object_lift_and_status_print_the_entries_and_the_flags(shop: LoadedMap) -> None:
    _add_jane(shop)
    code, restricted = run(shop, "request", "restrict", "--email", "jane@example.com", "--reason", "accuracy contested")
    assert code == 0 and restricted["flagged"] == {"shop.customers": 1}
    (entry,) = restricted["entries"]
    assert entry["kind"] == "restriction" and entry["purpose"] is None

    code, objection = run(shop, "request", "object", "--email", "jane@example.com", "--purpose", "newsletter")
    assert code == 0 and objection["kind"] == "objection" and objection["purpose"] == "newsletter"

    code, status = run(shop, "request", "status", "--email", "jane@example.com")
    assert code == 1 and status["allowed"] is False
    assert sorted(item["id"] for item in status["active"]) == sorted([entry["id"], objection["id"]])

    code, lifted = run(shop, "request", "lift", str(entry["id"]), "--reason", "checked")
    assert code == 0 and lifted["lifted"]["id"] == entry["id"] and lifted["cleared"] == {"shop.customers": 1}
    assert lifted["still_restricted"] is False and "Art. 18(3)" in lifted["reminder"]


def test_every_command_that_prints_a_result_has_json() -> None:
    found = commands(main)
    assert set(WITHOUT_JSON) <= set(found), set(WITHOUT_JSON) - set(found)
    lacking = {
        path
        for path, command in found.items()
        if not isinstance(command, click.Group)
        and not any(isinstance(p, click.Option) and "--json" in p.opts for p in command.params)
    }
    assert lacking == set(WITHOUT_JSON)
