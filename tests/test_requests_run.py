"""Requests executed end to end: receive, verify, plan, discover (kept), erase / rectify / export."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from datavow.cli import main

MAP = """\
organization: {name: Shop bv, country: BE, contact: {email: privacy@shop.example}}
subjects: {customer: Customers}
purposes:
  service: {name: Selling, basis: contract, subjects: [customer], categories: [user.contact, user.name, user.unique_id],
            retention: 2 years}
systems:
  shop:
    url: sqlite:///shop.db
    tables:
      customers:
        subject: customer
        identity: {email: email}
        primary_key: id
        erase: anonymize
        restriction_flag: restricted
        fields:
          id: {category: user.unique_id, erase: keep}
          email: {category: user.contact.email, erase: hash}
          name: {category: user.name, erase: nullify}
          restricted: ~
  mail:
    url: sqlite:///mail.db
    tables:
      messages:
        subject: customer
        primary_key: id
        references: {customer_id: shop.customers.id}
        erase: delete
        fields: {id: ~, customer_id: ~, body: {category: user.contact, erase: nullify}}
"""


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    (tmp_path / "datavow.yaml").write_text(MAP)
    with sqlite3.connect(tmp_path / "shop.db") as db:
        db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, name TEXT, restricted BOOLEAN)")
        db.executemany(
            "INSERT INTO customers VALUES (?, ?, ?, 0)",
            [(1, "Jane@Example.com ", "Jane"), (2, "bob@example.com", "Bob")],
        )
    with sqlite3.connect(tmp_path / "mail.db") as db:
        db.execute("CREATE TABLE messages (id INTEGER PRIMARY KEY, customer_id INTEGER, body TEXT)")
        db.executemany("INSERT INTO messages VALUES (?, ?, ?)", [(10, 1, "hi"), (11, 1, "again"), (12, 2, "bob")])
    return tmp_path / "datavow.yaml"


def rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute(sql).fetchall()


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_erasure_end_to_end_across_systems(shop: Path) -> None:
    code, out = invoke(
        "request",
        "erase",
        "--map",
        str(shop),
        "--email",
        "jane@example.com",
        "--verified-by",
        "signed letter",
        "--json",
    )
    assert code == 0, out
    report = json.loads(out)
    assert report["status"] == "completed" and report["result"]["found"] is True
    jane = rows(shop.parent / "shop.db", "SELECT email, name FROM customers WHERE id = 1")[0]
    assert jane[0] != "Jane@Example.com " and len(str(jane[0])) == 64 and jane[1] is None
    assert rows(shop.parent / "shop.db", "SELECT email, name FROM customers WHERE id = 2") == [
        ("bob@example.com", "Bob")
    ]
    assert rows(shop.parent / "mail.db", "SELECT id FROM messages") == [(12,)]
    code, log = invoke("audit", "show", "--map", str(shop), "--json")
    actions = [entry["action"] for entry in json.loads(log)]
    assert {"request.received", "request.verified", "request.discovered", "request.completed"} <= set(actions)


def test_interrupted_erasure_resumes_on_the_rows_it_found(shop: Path) -> None:
    mail = shop.parent / "mail.db"
    with sqlite3.connect(mail) as db:  # the mail database refuses deletes on the first run
        db.execute("CREATE TRIGGER full BEFORE DELETE ON messages BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    code, out = invoke(
        "request", "erase", "--map", str(shop), "--email", "jane@example.com", "--verified-by", "signed letter"
    )
    assert code == 8 and "could not finish on mail" in out
    # the shop was erased (the e-mail that found Jane is a hash now), the mail system not at all
    assert rows(shop.parent / "shop.db", "SELECT name FROM customers WHERE id = 1") == [(None,)]
    assert rows(mail, "SELECT id FROM messages ORDER BY id") == [(10,), (11,), (12,)]
    with sqlite3.connect(mail) as db:
        db.execute("DROP TRIGGER full")
    code, out = invoke("requests", "list", "--map", str(shop), "--json")
    (request,) = json.loads(out)
    assert request["status"] == "in_progress"
    # searching again would find nothing (the e-mail is gone): the kept discovery finds the messages
    code, out = invoke("requests", "run", str(request["id"]), "--map", str(shop))
    assert code == 0, out
    assert rows(mail, "SELECT id FROM messages") == [(12,)]
    code, out = invoke("requests", "run", str(request["id"]), "--map", str(shop))
    assert code != 0 and "completed" in out  # a finished request is not run again


def test_dry_run_records_and_changes_nothing(shop: Path) -> None:
    code, out = invoke("request", "erase", "--map", str(shop), "--email", "jane@example.com", "--dry-run", "--json")
    assert code == 0, out
    steps = {step["table"]: step["rows"] for step in json.loads(out)}
    assert steps == {"shop.customers": 1, "mail.messages": 2}
    assert not (shop.parent / ".datavow" / "state.db").exists()
    assert rows(shop.parent / "mail.db", "SELECT count(*) FROM messages") == [(3,)]


def test_unknown_person_gets_no_data_held_and_bad_identity_is_refused(shop: Path) -> None:
    code, out = invoke("request", "erase", "--map", str(shop), "--email", "nobody@example.com", "--verified-by", "x")
    assert code == 0 and "no personal data held" in out
    code, out = invoke(
        "request", "erase", "--map", str(shop), "--email", "x'; DROP TABLE customers; --", "--verified-by", "x"
    )
    assert code == 8 and "is not an e-mail address" in out
    assert rows(shop.parent / "shop.db", "SELECT count(*) FROM customers") == [(2,)]


def test_rectification_and_restriction_flags(shop: Path) -> None:
    code, out = invoke(
        "request",
        "rectify",
        "--map",
        str(shop),
        "--email",
        "jane@example.com",
        "--set",
        "user.name=Jane Doe",
        "--verified-by",
        "x",
    )
    assert code == 0, out
    assert rows(shop.parent / "shop.db", "SELECT name FROM customers ORDER BY id") == [("Jane Doe",), ("Bob",)]
    code, out = invoke(
        "request",
        "rectify",
        "--map",
        str(shop),
        "--email",
        "jane@example.com",
        "--set",
        "user.contact.email=not-an-email",
        "--verified-by",
        "x",
    )
    assert code == 8 and "e-mail" in out


def test_access_writes_an_encrypted_package(shop: Path) -> None:
    code, out = invoke(
        "request", "access", "--map", str(shop), "--email", "jane@example.com", "--verified-by", "x", "--json"
    )
    assert code == 0, out
    result = json.loads(out)["result"]
    package = Path(result["package"])
    assert package.exists() and result["tables"] == {"shop.customers": 1, "mail.messages": 2}
    assert b"Jane" not in package.read_bytes()  # sealed at rest


def test_a_batch_of_erasures_runs_as_one_plan(shop: Path) -> None:
    with sqlite3.connect(shop.parent / "shop.db") as db:
        db.executemany(
            "INSERT INTO customers VALUES (?, ?, ?, 0)", [(3, "ann@example.com", "Ann"), (4, "cy@x.org", "Cy")]
        )
    ids = []
    for email in ("jane@example.com", "bob@example.com", "ann@example.com"):
        code, out = invoke("request", "erase", "--map", str(shop), "--email", email, "--source", "controller")
        assert code == 0, out
        ids.append(out.split("#")[1].split()[0])
        invoke("requests", "verify", ids[-1], "--map", str(shop), "--manual", "controller's instruction")
    code, out = invoke("requests", "run", *ids, "--map", str(shop))
    assert code == 0, out
    assert "3 requests completed as one batch" in out
    assert rows(shop.parent / "shop.db", "SELECT id, name FROM customers ORDER BY id") == [
        (1, None),
        (2, None),
        (3, None),
        (4, "Cy"),
    ]
    assert rows(shop.parent / "mail.db", "SELECT id FROM messages") == []
    code, out = invoke("requests", "list", "--map", str(shop), "--json")
    assert {r["status"] for r in json.loads(out)} == {"completed"}
    code, log = invoke("audit", "show", "--map", str(shop), "--json", "--action", "request.discovered")
    assert len(json.loads(log)) == 1  # one discovery for the whole batch


def test_a_batch_prints_every_requests_result_as_json(shop: Path) -> None:
    ids = []
    for email in ("jane@example.com", "bob@example.com"):
        code, out = invoke("request", "erase", "--map", str(shop), "--email", email, "--source", "controller", "--json")
        assert code == 0, out
        ids.append(str(json.loads(out)["id"]))
        invoke("requests", "verify", ids[-1], "--map", str(shop), "--manual", "controller's instruction")
    code, out = invoke("requests", "run", *reversed(ids), "--map", str(shop), "--json")
    assert code == 0, out
    results = json.loads(out)
    assert [str(result["id"]) for result in results] == ids  # in the order of their ids
    assert {(result["kind"], result["status"]) for result in results} == {("erasure", "completed")}
    assert all(result["result"] for result in results)


def test_restriction_sets_the_flag_and_lifting_clears_it(shop: Path) -> None:
    code, out = invoke(
        "request", "restrict", "--map", str(shop), "--email", "jane@example.com", "--reason", "accuracy contested"
    )
    assert code == 0, out
    assert "restriction flag set on 1 row(s) of shop.customers" in out
    assert rows(shop.parent / "shop.db", "SELECT id, restricted FROM customers ORDER BY id") == [(1, 1), (2, 0)]
    code, out = invoke("request", "status", "--map", str(shop), "--email", "jane@example.com")
    assert code == 1  # restricted: processing is not allowed
    restriction_id = out.split("#")[1].split()[0] if "#" in out else "1"
    code, out = invoke("request", "lift", restriction_id, "--map", str(shop), "--reason", "accuracy verified")
    assert code == 0, out
    assert rows(shop.parent / "shop.db", "SELECT restricted FROM customers WHERE id = 1") == [(0,)]


def test_check_finds_an_erasure_strategy_the_column_cannot_hold(shop: Path) -> None:
    with sqlite3.connect(shop.parent / "shop.db") as db:  # too narrow for a keyed hash
        db.executescript("""
            CREATE TABLE narrow (id INTEGER PRIMARY KEY, email VARCHAR(10), name TEXT NOT NULL, restricted BOOLEAN);
            INSERT INTO narrow SELECT id, substr(email, 1, 10), name, restricted FROM customers;
            DROP TABLE customers; ALTER TABLE narrow RENAME TO customers;""")
    code, out = invoke("check", "--map", str(shop), "--json")
    unfit = [f for f in json.loads(out)["findings"] if f["rule"] == "drift-erasure-unfit"]
    assert code == 1 and {f["target"] for f in unfit} == {"shop.customers.email", "shop.customers.name"}
    assert all(f["line"] and f["article"] == "Art. 17(1)" for f in unfit)
    assert any("NOT NULL" in f["message"] for f in unfit) and any("too short" in f["message"] for f in unfit)
