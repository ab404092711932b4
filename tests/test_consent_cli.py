"""`datavow consent ...` over the library, and the demo CRM company's preferences deciding who may
be e-mailed. Real SQLite files throughout; the demo is built by `build_demo` as `datavow demo` does.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from datavow.cli import main
from datavow.consent import may_contact
from datavow.datamap import LoadedMap, load_map
from datavow.demo import build_demo
from datavow.secrets import KEY_ENV, load_key, short_fingerprint, state_directory
from datavow.secrets import fingerprint as datavow_fingerprint
from datavow.store import open_store
from tests import test_requests_lifecycle as lifecycle

shop = lifecycle.shop


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), input=stdin, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_record_withdraw_check_contact_proof_export_import_and_verify(shop: LoadedMap, tmp_path: Path) -> None:
    where = ["--map", str(shop.path)]
    jane = ["--email", "jane@example.com"]
    (tmp_path / "notice.txt").write_text("Yes, the newsletter.\nUnsubscribe any time.")
    code, out, _ = run("consent", "record", *where, *jane, "--phone", "+32470123456", "--purpose", "newsletter",
                       "--source", "form", "--notice-file", str(tmp_path / "notice.txt"), "--actor", "web")  # fmt: skip
    assert code == 0 and out.startswith("Recorded #1: granted for purpose newsletter")
    assert run("consent", "check", *where, "--phone", "+32 470 12 34 56", "--purpose", "newsletter")[:2] == (
        0,
        "yes\n  - granted for purpose newsletter on " + out.split(" at ")[1][:10] + " (event #1)\n",
    )
    code, out, _ = run("consent", "withdraw", *where, *jane, "--channel", "email", "--detail", "phone call", "--json")
    assert code == 0 and json.loads(out)["channel"] == "email" and json.loads(out)["source_detail"] == "phone call"
    code, out, _ = run("consent", "contact", *where, *jane, "--topic", "newsletter")
    assert code == 1 and out.startswith("no\n") and "no to channel email" in out
    assert (
        run("consent", "contact", *where, "--phone", "+32470123456", "--channel", "phone", "--topic", "newsletter")[0]
        == 0
    )
    code, out, _ = run("consent", "check", *where, *jane, "--purpose", "newsletter", "--json")
    assert code == 0 and json.loads(out)["allowed"] is True

    code, out, _ = run("consent", "proof", *where, *jane, "--purpose", "newsletter", "--channel", "email")
    assert code == 0 and "#1 " in out and "#2 " in out and "| Yes, the newsletter." in out
    assert "| Unsubscribe any time." in out and "contact on email: no" in out and "ledger: 2 events" in out

    code, out, err = run("consent", "filter", *where, "--topic", "newsletter",
                         stdin="jane@example.com\nJohn@Example.com\nnot-an-address\n")  # fmt: skip
    assert code == 0 and out == "" and "0 of 3 may be contacted" in err  # newsletter needs consent; jane said no
    code, out, err = run("consent", "filter", *where, stdin="jane@example.com\nJohn@Example.com\n")
    assert out == "John@Example.com\n" and "1 of 2" in err

    code, out, _ = run("consent", "gpc", *where, *jane)
    assert code == 0 and "nothing to opt out of" in out

    assert run("consent", "export", *where, "--out", str(tmp_path / "ledger.csv"))[1] == (
        f"Exported 2 event(s) to {tmp_path / 'ledger.csv'}.\n"
    )
    other = ["--map", str(shop.path), "--state", f"sqlite:///{tmp_path / 'other.db'}"]
    code, out, _ = run("consent", "import", str(tmp_path / "ledger.csv"), *other)
    assert (code, out) == (0, "Imported 2 event(s) from ledger.csv (#1–#2).\n")
    assert run("consent", "contact", *other, *jane, "--topic", "newsletter")[0] == 1
    code, out, _ = run("consent", "verify", *where)
    fingerprint = short_fingerprint(datavow_fingerprint(load_key(state_directory(shop.path))))
    assert (code, out) == (
        0,
        f"key: {fingerprint}, the state store's\nok: 2 events, chain and state intact (head #2)\n",
    )


def test_bad_input_is_a_clear_error_and_its_exit_code(shop: LoadedMap, tmp_path: Path) -> None:
    where = ["--map", str(shop.path)]
    bad = tmp_path / "bad.csv"
    bad.write_text("email,channel,allowed\nann@example.com,email,false\nbob@,email,false\n")
    result = CliRunner().invoke(main, ["consent", "import", str(bad), *where])
    assert result.exit_code == 10 and "line 3: 'bob@' is not an e-mail address" in result.stderr
    result = CliRunner().invoke(main, ["consent", "record", *where, "--email", "a@example.com", "--purpose", "x"])
    assert result.exit_code == 10 and "unknown purpose 'x'" in result.stderr
    result = CliRunner().invoke(main, ["consent", "check", *where, "--purpose", "newsletter"])
    assert result.exit_code == 2 and "exactly one identity" in result.stderr


@pytest.fixture
def mira(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LoadedMap:
    monkeypatch.delenv(KEY_ENV, raising=False)
    (built,) = build_demo(tmp_path / "demo", scale=0.1, companies=["mira-network"], today=date(2025, 1, 15))
    return load_map(built.map_path)


#: The documented sync (docs/consent.md): the CRM's preferences, as CSV `datavow consent import` takes.
SYNC = """
SELECT p.email, p.mobile AS phone, cp.channel, cp.allowed, cp.changed_at AS at, cp.source
FROM communication_preferences cp JOIN persons p ON p.id = cp.person_id
"""


def test_the_demo_crm_preferences_decide_who_may_be_emailed(mira: LoadedMap) -> None:
    crm = sqlite3.connect(mira.directory / "crm.db")
    cursor = crm.execute(SYNC)
    with (mira.directory / "preferences.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([column[0] for column in cursor.description])
        writer.writerows(cursor)
    code, out, _ = run("consent", "import", str(mira.directory / "preferences.csv"), "--map", str(mira.path))
    rows = crm.execute("SELECT count(*) FROM communication_preferences").fetchone()[0]
    assert code == 0 and out.startswith(f"Imported {rows} event(s)")

    # The oracle, straight from the CRM: the latest e-mail or "all" preference of the address decides.
    latest: dict[str, tuple[str, bool]] = {}
    for email, at, allowed in crm.execute(
        "SELECT lower(trim(p.email)), cp.changed_at, cp.allowed FROM communication_preferences cp "
        "JOIN persons p ON p.id = cp.person_id WHERE cp.channel IN ('email', 'all')"
    ):
        if email not in latest or at > latest[email][0]:
            latest[email] = (at, bool(allowed))
    mailing = [row[0] for row in crm.execute("SELECT email FROM persons UNION ALL SELECT email_address FROM "
                                             "correspondence")]  # fmt: skip
    expected = [a for a in mailing if latest.get(a.strip().lower(), ("", True))[1]]
    assert 0 < len(expected) < len(mailing) and any(not allowed for _, allowed in latest.values())

    code, out, err = run("consent", "filter", "--map", str(mira.path), stdin="\n".join(mailing) + "\n")
    assert code == 0 and out.splitlines() == [a.strip() for a in expected]
    assert f"{len(expected)} of {len(mailing)} may be contacted on email" in err

    # One by one, the library agrees; and a person who said "nothing at all" is not phoned either.
    key = load_key(state_directory(mira.path))
    (nothing,) = crm.execute(
        "SELECT p.email FROM communication_preferences cp JOIN persons p ON p.id = cp.person_id "
        "WHERE cp.channel = 'all' AND NOT cp.allowed LIMIT 1"
    ).fetchone()
    with open_store(f"sqlite:///{mira.directory / '.datavow' / 'state.db'}") as store:
        for channel in ("email", "phone", "post"):
            answer = may_contact(store, mira, ("email", nothing), channel, "marketing", key=key)
            assert not answer.allowed and "no to every channel" in answer.reasons[-1]
        objected = next(a for a in expected if "@" in a)
        assert may_contact(store, mira, ("email", objected), "email", "marketing", key=key).allowed
    code, _, _ = run("consent", "withdraw", "--map", str(mira.path), "--email", objected, "--channel", "email")
    code, out, _ = run("consent", "filter", "--map", str(mira.path), stdin="\n".join(mailing) + "\n")
    assert objected.strip() not in out.splitlines()
