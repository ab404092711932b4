"""A second erasure of a person whose invoices a hold keeps finds nothing (the e-mail that led to them
is a hash now); it said "no personal data held" while the invoices remained. It says what is still
held, how many rows, for what and until when."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner
from dateutil.relativedelta import relativedelta

from datavow.cli import main

MAP = """\
organization: {name: Shop bv, country: BE, contact: {email: privacy@shop.example}}
subjects: {customer: Customers}
purposes:
  service: {name: Selling, basis: contract, subjects: [customer], categories: [user], retention: 2 years}
  invoicing: {name: Invoicing, basis: legal_obligation, law: Accounting law, subjects: [customer],
              categories: [user], retention: 7 years}
systems:
  shop:
    url: sqlite:///shop.db
    tables:
      customers:
        subject: customer
        identity: {email: email}
        erase: anonymize
        fields:
          id: {category: user.unique_id, erase: keep}
          email: {category: user.contact.email, erase: hash}
      invoices:
        subject: customer
        references: {customer_id: customers.id}
        erase: delete
        hold: {purpose: invoicing, keep: 7 years, after: issued_on}
        fields: {id: ~, customer_id: ~, issued_on: ~}
"""


def _erase(path: Path, *extra: str) -> tuple[int, str]:
    args = ["request", "erase", "--map", str(path), "--email", "jane@example.com", "--verified-by", "letter", *extra]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    return result.exit_code, result.output


def test_a_second_erasure_says_what_is_still_held(tmp_path: Path) -> None:
    path = tmp_path / "datavow.yaml"
    path.write_text(MAP)
    issued = datetime.now(UTC).date() - relativedelta(years=1)
    with sqlite3.connect(tmp_path / "shop.db") as db:
        db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT)")
        db.execute(
            "CREATE TABLE invoices (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id), "
            "issued_on DATE)"
        )
        db.execute("INSERT INTO customers VALUES (1, 'jane@example.com')")
        db.execute("INSERT INTO invoices VALUES (10, 1, ?)", (issued.isoformat(),))
    code, out = _erase(path, "--json")
    assert code == 0, out
    first = json.loads(out)["result"]
    assert [step["kept"] for step in first["steps"] if step["step"] == "shop.invoices"] == [1]

    code, out = _erase(path, "--json")
    assert code == 0, out
    second = json.loads(out)["result"]
    until = issued + relativedelta(years=7)
    assert second["found"] is False
    assert second["still_held"] == [
        {
            "step": "shop.invoices",
            "rows": 1,
            "held_until": until.isoformat(),
            "hold_purpose": "invoicing",
            "referenced": 0,
        }
    ]
    code, out = _erase(path)
    assert code == 0, out
    assert "no personal data held" not in out
    assert f"shop.invoices: 1 rows held until {until.isoformat()} for invoicing" in out
