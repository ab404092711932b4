"""A consent import happens once: a batch run again adds nothing and says so, a row imported before
is skipped by its checksum, and an import killed (SIGKILL) at any point, then run again, leaves
exactly the events of one clean import. On SQLite and PostgreSQL state stores.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from datavow.cli import main
from datavow.consent import ConsentError, consent_key, import_csv, may_contact, verify_ledger
from datavow.datamap import LoadedMap, load_map
from datavow.store import Store, open_store
from datavow.store.models import ConsentEventRow, ConsentImportedRow, ConsentImportRow
from tests import faults
from tests import test_requests_lifecycle as lifecycle

shop = lifecycle.shop
any_store = lifecycle.any_store
store = lifecycle.store

HEADER = "email,channel,allowed,at,source\n"


def _count(store: Store, table: type[ConsentEventRow] | type[ConsentImportedRow] = ConsentEventRow) -> int:
    with store.session(write=False) as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


def test_a_committed_import_run_again_adds_nothing_and_says_when_it_was_imported(
    any_store: Store, shop: LoadedMap, tmp_path: Path
) -> None:
    key = consent_key(any_store, shop)
    prefs = tmp_path / "prefs.csv"
    prefs.write_text(
        HEADER + "ann@example.com,email,false,2024-05-01T10:00:00,form\n" + "bob@example.com,email,true,,form\n"
    )

    first = import_csv(any_store, shop, prefs, actor="import", key=key)
    again = import_csv(any_store, shop, prefs, actor="import", key=key)

    assert (first.events, first.skipped, first.imported_before) == (2, 0, None)
    assert first.batch_id.startswith("sha256:") and again.batch_id == first.batch_id
    assert (again.events, again.first_seq, again.imported_before is not None) == (0, None, True)
    assert _count(any_store) == 2 and _count(any_store, ConsentImportedRow) == 2
    assert verify_ledger(any_store).ok
    with any_store.session(write=False) as session:
        (batch,) = session.scalars(sa.select(ConsentImportRow)).all()
    assert (batch.rows, batch.events, batch.first_seq, batch.last_seq) == (2, 2, 1, 2)
    assert again.imported_before == batch.imported_at


def test_rows_imported_before_are_skipped_by_checksum_and_a_row_without_a_time_is_new_in_another_batch(
    any_store: Store, shop: LoadedMap, tmp_path: Path
) -> None:
    key = consent_key(any_store, shop)
    march = tmp_path / "march.csv"
    march.write_text(HEADER + "ann@example.com,email,false,2024-03-01T10:00:00+01:00,form\n"
                     "bob@example.com,email,true,,form\n")  # fmt: skip
    april = tmp_path / "april.csv"
    # ann's row again, in other spellings of the same address and time; bob's row without a time
    # (said again); cid's row twice in the same file; dan's row once
    april.write_text(HEADER + "cid@example.com,email,true,2024-04-01T10:00:00Z,form\n"
                     "ANN@Example.com,email,false,2024-03-01T09:00:00Z,form\n"
                     "bob@example.com,email,true,,form\n"
                     "cid@example.com,email,true,2024-04-01T10:00:00Z,form\n"
                     "dan@example.com,email,false,2024-04-02T10:00:00Z,form\n")  # fmt: skip

    assert import_csv(any_store, shop, march, actor="import", key=key).events == 2
    result = import_csv(any_store, shop, april, actor="import", key=key)

    assert (result.events, result.skipped) == (3, 2)  # bob, cid, dan; ann's row and cid's second
    assert _count(any_store) == 5
    assert not may_contact(any_store, shop, ("email", "dan@example.com"), "email", None, key=key).allowed
    assert may_contact(any_store, shop, ("email", "cid@example.com"), "email", None, key=key).allowed


def test_a_named_batch_is_imported_once_whatever_its_file_holds_and_a_bad_name_is_refused(
    store: Store, shop: LoadedMap, tmp_path: Path
) -> None:
    key = consent_key(store, shop)
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    one.write_text(HEADER + "ann@example.com,email,false,2024-05-01T10:00:00,form\n")
    two.write_text(HEADER + "bob@example.com,email,false,2024-05-01T10:00:00,form\n")

    assert import_csv(store, shop, one, actor="import", key=key, batch_id="crm-2024-05").events == 1
    again = import_csv(store, shop, two, actor="import", key=key, batch_id=" crm-2024-05 ")
    assert (again.events, again.batch_id, again.imported_before is not None) == (0, "crm-2024-05", True)
    assert import_csv(store, shop, two, actor="import", key=key).events == 1  # by its content: new
    with pytest.raises(ConsentError, match="a batch id is 1 to 100 characters"):
        import_csv(store, shop, one, actor="import", key=key, batch_id=" ")
    assert _count(store) == 2


def test_the_import_command_says_a_batch_was_imported_already_and_what_it_skipped(
    shop: LoadedMap, tmp_path: Path
) -> None:
    prefs = tmp_path / "prefs.csv"
    prefs.write_text(HEADER + "ann@example.com,email,false,2024-05-01T10:00:00,form\n")
    more = tmp_path / "more.csv"
    more.write_text(prefs.read_text() + "bob@example.com,email,true,2024-05-01T10:00:00,form\n")
    where = ["--map", str(shop.path)]

    def run(*args: str) -> str:
        result = CliRunner().invoke(main, ["consent", "import", *where, *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.stdout

    assert run(str(prefs)) == "Imported 1 event(s) from prefs.csv (#1–#1).\n"
    out = run(str(prefs))
    assert out.startswith("prefs.csv was already imported on ") and out.endswith(": 0 new events.\n")
    assert run(str(more)) == (
        "Imported 1 event(s) from more.csv (#2–#2).\nSkipped 1 row(s) imported before (the same row, by checksum).\n"
    )
    data = json.loads(run(str(more), "--json"))
    assert data["events"] == 0 and data["imported_before"] and data["batch_id"].startswith("sha256:")
    data = json.loads(run(str(prefs), "--batch-id", "crm-1", "--json"))
    assert (data["events"], data["skipped"], data["batch_id"]) == (0, 1, "crm-1")


# --------------------------------------------------------------------------- killed, then run again

DRILL_ROWS = 1500
TRIALS = 20


def import_child(map_path: str, url: str, file: str, key_hex: str) -> None:
    """Run in a child process: import ``file``, say so, and wait to be killed."""
    with open_store(url) as store:
        import_csv(store, load_map(map_path), Path(file), actor="import", key=bytes.fromhex(key_hex))
    print("imported", flush=True)
    time.sleep(600)


def _drill_file(path: Path, trial: int) -> None:
    """A list of :data:`DRILL_ROWS` rows about people no other trial names, a third without a time."""
    lines = [HEADER]
    for n in range(DRILL_ROWS):
        at = "" if n % 3 == 0 else f"2024-05-01T10:{n % 60:02d}:00"
        lines.append(f"person{trial}.{n}@example.com,{('email', 'phone', 'all')[n % 3]},{n % 2 == 0},{at},form\n")
    path.write_text("".join(lines))


def _url(store: Store) -> str:
    return store.engine.url.render_as_string(hide_password=False)


def test_an_import_killed_at_any_point_then_run_again_leaves_the_events_of_one_clean_import(
    any_store: Store, shop: LoadedMap, tmp_path: Path
) -> None:
    key = consent_key(any_store, shop)
    prefs = tmp_path / "prefs.csv"
    args = [str(shop.path), _url(any_store), str(prefs), key.hex()]
    chance = random.Random(16)
    outcomes = {"before the commit": 0, "after the commit": 0}
    took = 0.0
    for trial in range(TRIALS):
        _drill_file(prefs, trial)
        before = _count(any_store)
        with faults.child("tests.test_consent_imports:import_child", args, tmp_path / "child.err") as importing:
            assert importing.stdout is not None
            began = time.monotonic()
            if trial % 4 == 0 or not took:  # the case found in the field: killed after its commit
                assert importing.stdout.readline() == "imported\n", (tmp_path / "child.err").read_text()
                took = took or time.monotonic() - began
            else:  # anywhere from start-up to just after the commit
                time.sleep(chance.uniform(0.3, 1.1) * took)
            faults.kill_hard(importing)
        committed = _count(any_store) > before
        outcomes["after the commit" if committed else "before the commit"] += 1
        result = import_csv(any_store, shop, prefs, actor="import", key=key)  # run again
        assert (result.events, result.imported_before is not None) == ((0, True) if committed else (DRILL_ROWS, False))
        done = DRILL_ROWS * (trial + 1)  # as many events as clean imports of every trial's file
        assert _count(any_store) == done and _count(any_store, ConsentImportedRow) == done
    assert verify_ledger(any_store).ok
    assert outcomes["after the commit"] >= TRIALS // 4 and outcomes["before the commit"] >= 1, outcomes
