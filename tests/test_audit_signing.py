"""The audit log against someone who can write to the database: one test per attack, each on
SQLite and PostgreSQL.

The attacker writes plain SQL to the tables and knows the (public) hash algorithm, but not the
installation's key, unless a test says so; then only an anchor taken earlier catches them.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from datavow.audit import AuditEntry, append, list_entries, mark_entries, read_anchors, resign, verify_chain
from datavow.audit.anchors import anchor_head
from datavow.audit.entry import format_timestamp
from datavow.audit.signing import checkpoint_signature, head_signature, signing_key
from datavow.cli.audit import audit
from datavow.datamap.model import Duration
from datavow.datamap.model.settings import OwnRetention
from datavow.errors import AuditError, SecretError
from datavow.store import Store, open_store
from datavow.store.models import AuditCheckpointRow, AuditEntryRow, AuditHeadRow
from tests import test_store
from tests.test_audit import _forged, _insert, _tamper  # the same tampering as the chain's own tests

state_url = test_store.state_url
store = test_store.store

KEY = bytes(range(32))
OTHER_KEY = bytes(range(32, 64))


@pytest.fixture
def signed(store: Store) -> Iterator[Store]:
    """The same database, opened with the installation's key, as the application opens it."""
    yield Store(store.engine, lambda _session: KEY)


def _fill(store: Store, count: int) -> list[AuditEntry]:
    return [append(store, "dpo@example.org", "request.erased", "request", str(n)) for n in range(1, count + 1)]


def _head(store: Store) -> Any:
    with store.session(write=False) as session:
        return session.execute(sa.select(AuditHeadRow)).scalar_one()


def _rewritten(entries: list[AuditEntry], start: int, **changes: Any) -> list[AuditEntry]:
    """Every entry from #``start`` changed and re-hashed, each chained to the forged one before."""
    forged: list[AuditEntry] = []
    prev = next(entry.hash for entry in entries if entry.seq == start - 1)
    for entry in entries:
        if entry.seq >= start:
            forged.append(_forged(entry, prev_hash=prev, **changes))
            prev = forged[-1].hash
    return forged


def _replace_tail(store: Store, forged: list[AuditEntry], **head: Any) -> None:
    _tamper(
        store,
        sa.delete(AuditEntryRow).where(AuditEntryRow.seq >= forged[0].seq),
        *(_insert(entry) for entry in forged),
        sa.update(AuditHeadRow).values(seq=forged[-1].seq, hash=forged[-1].hash, **head),
    )


# --- a clean log ----------------------------------------------------------------------------


def test_a_signed_log_verifies_and_says_it_is_signed(signed: Store, store: Store) -> None:
    entries = _fill(signed, 5)
    # the first signed append opens the signed part with an entry of its own
    assert [entry.seq for entry in entries] == [2, 3, 4, 5, 6]
    assert list_entries(store)[0].action == "audit.signed"
    result = verify_chain(signed, key=KEY)
    assert result.ok, result.message
    assert (result.signed_from, result.signatures_checked, result.head_seq) == (1, True, 6)
    assert result.signing == "the log is signed throughout (from #1)"
    assert mark_entries(signed, entries, key=KEY) == {}
    unchecked = verify_chain(store)  # no key: the chain is checked, the signature cannot be
    assert unchecked.ok and "not checked" in unchecked.signing
    wrong = verify_chain(store, key=OTHER_KEY)
    assert wrong.problem is not None and (wrong.problem.kind, wrong.problem.seq) == ("signature", 6)


def test_a_log_written_before_signing_verifies_as_unsigned_then_is_signed(signed: Store, store: Store) -> None:
    _fill(store, 3)  # no key: an unsigned log, as every log written before signing
    before = verify_chain(store, key=KEY)
    assert before.ok and before.signed_from is None
    assert before.signing.startswith("the log is unsigned up to #3")
    _fill(signed, 2)
    after = verify_chain(store, key=KEY)
    assert after.ok and after.signed_from == 4 and after.head_seq == 6
    assert after.signing == "the log is unsigned up to #3 and signed from #4"
    with pytest.raises(SecretError, match="only be extended with the installation's key"):
        append(store, "mallory", "request.erased", "request", "1")  # a writer without the key


# --- attacks --------------------------------------------------------------------------------


def test_an_edited_entry_is_named(signed: Store) -> None:
    entries = _fill(signed, 5)
    _tamper(signed, sa.update(AuditEntryRow).where(AuditEntryRow.seq == 3).values(actor="mallory"))
    result = verify_chain(signed, key=KEY)
    assert result.problem is not None and (result.problem.kind, result.problem.seq) == ("changed", 3)
    assert result.problem.message == "entry #3 was changed: its hash no longer matches its contents"
    assert mark_entries(signed, list_entries(signed), key=KEY) == {3: "changed"}
    assert mark_entries(signed, entries, key=KEY) == {}  # the entries as written, before the edit


def test_an_edit_with_every_hash_recomputed_is_caught_by_the_signature(signed: Store) -> None:
    entries = _fill(signed, 5)
    forged = _rewritten(entries, 3, reason="nothing to see")
    _replace_tail(signed, forged)  # entries and head record consistent, signature left as it was
    result = verify_chain(signed, key=KEY)
    assert result.problem is not None and (result.problem.kind, result.problem.seq) == ("signature", 6)
    assert "the head (#6) is not signed with this installation's key" in result.problem.message
    assert mark_entries(signed, list_entries(signed), key=KEY)[6] == "signature"
    with pytest.raises(AuditError, match="does not carry this key's signature"):
        append(signed, "dpo@example.org", "request.erased", "request", "7")  # never signed over


@pytest.mark.parametrize("seq", [0, -5])
def test_a_row_numbered_at_or_before_the_start_is_outside_the_chain(signed: Store, seq: int) -> None:
    entries = _fill(signed, 3)
    _tamper(signed, _insert(_forged(entries[0], seq=seq, action="request.erased", prev_hash="f" * 64)))
    result = verify_chain(signed, key=KEY)
    assert result.problem is not None and (result.problem.kind, result.problem.seq) == ("outside", seq)
    assert result.problem.message == (
        f"entry #{seq} is outside the chain: the log starts at #1, so no entry can be numbered #{seq}"
    )
    shown = list_entries(signed)
    assert seq in [entry.seq for entry in shown]
    assert mark_entries(signed, shown, key=KEY) == {seq: "outside"}


def test_a_gap_is_named(signed: Store) -> None:
    _fill(signed, 5)
    _tamper(signed, sa.delete(AuditEntryRow).where(AuditEntryRow.seq == 4))
    result = verify_chain(signed, key=KEY)
    assert result.problem is not None and (result.problem.kind, result.problem.seq) == ("removed", 4)
    assert result.problem.message == "entry #4 was removed: the log goes from #3 to #5"
    assert mark_entries(signed, list_entries(signed), key=KEY) == {5: "removed"}


def _drop_uniqueness(store: Store) -> None:
    """What a writer who may change the schema can do: drop the constraints that keep numbers unique."""
    with store.engine.begin() as connection:
        if store.dialect == "postgresql":
            for name in connection.scalars(
                sa.text(
                    "SELECT conname FROM pg_constraint "
                    "WHERE conrelid = 'audit_entries'::regclass AND contype IN ('p', 'u')"
                )
            ).all():
                connection.execute(sa.text(f'ALTER TABLE audit_entries DROP CONSTRAINT "{name}"'))
            for name in connection.scalars(
                sa.text(
                    "SELECT indexname FROM pg_indexes WHERE tablename = 'audit_entries' AND indexdef LIKE '%UNIQUE%'"
                )
            ).all():
                connection.execute(sa.text(f'DROP INDEX "{name}"'))
        else:
            connection.execute(sa.text("CREATE TABLE loose AS SELECT * FROM audit_entries"))
            connection.execute(sa.text("DROP TABLE audit_entries"))
            connection.execute(sa.text("ALTER TABLE loose RENAME TO audit_entries"))


def test_a_duplicate_number_is_outside_the_chain(signed: Store) -> None:
    entries = _fill(signed, 4)
    _drop_uniqueness(signed)
    _tamper(signed, _insert(_forged(entries[1], actor="mallory")))  # a second #3
    result = verify_chain(signed, key=KEY)
    assert result.problem is not None and (result.problem.kind, result.problem.seq) == ("outside", 3)
    assert result.problem.message == "entry #3 appears 2 times: all but one were added outside the chain"
    assert mark_entries(signed, list_entries(signed), key=KEY)[3] == "outside"


def test_an_entry_appended_after_the_head_is_named(signed: Store) -> None:
    last = _fill(signed, 3)[-1]
    forged = _forged(last, seq=5, actor="mallory", action="request.erased", prev_hash=last.hash)
    _tamper(signed, _insert(forged))
    result = verify_chain(signed, key=KEY)
    assert result.problem is not None and (result.problem.kind, result.problem.seq) == ("head", 5)
    assert result.problem.message.startswith("entry #5 was not written by datavow")
    assert mark_entries(signed, list_entries(signed), key=KEY) == {5: "head"}
    # moving the head record over it too: the head's signature no longer verifies
    _tamper(signed, sa.update(AuditHeadRow).values(seq=5, hash=forged.hash))
    moved = verify_chain(signed, key=KEY)
    assert moved.problem is not None and (moved.problem.kind, moved.problem.seq) == ("signature", 5)


@pytest.mark.parametrize("forgery", ["truncated", "stripped", "stripped_and_unmarked"])
def test_a_forged_head_is_caught(signed: Store, forgery: str) -> None:
    entries = _fill(signed, 5)
    if forgery == "truncated":  # the last two entries go, and the head record is moved back over them
        _tamper(
            signed,
            sa.delete(AuditEntryRow).where(AuditEntryRow.seq > 4),
            sa.update(AuditHeadRow).values(seq=4, hash=entries[2].hash),
        )
        expected = ("signature", 4, "the head (#4) is not signed with this installation's key")
    elif forgery == "stripped":  # the signature removed, to pass the log off as never signed
        _tamper(signed, sa.update(AuditHeadRow).values(signature=None))
        expected = ("signature", 6, "the log is signed from #1, but its head (#6) carries no signature")
    else:
        _tamper(signed, sa.update(AuditHeadRow).values(signature=None, signed_from=None))
        expected = ("signature", 6, "the log is signed from #1, but its head (#6) carries no signature")
    result = verify_chain(signed, key=KEY)
    assert result.problem is not None
    assert (result.problem.kind, result.problem.seq) == expected[:2]
    assert expected[2] in result.problem.message
    with pytest.raises(AuditError):
        append(signed, "dpo@example.org", "request.erased", "request", "7")  # never signed over


def _forge_prune(store: Store, through: int, *, key: bytes | None) -> int:
    """The 200-of-300 attack: delete the oldest entries, append an ``audit.pruned`` entry naming
    them, and write a checkpoint, as a prune would. With ``key`` the attacker signs it all too."""
    entries = list_entries(store)
    head = entries[-1]
    last_pruned = next(entry for entry in entries if entry.seq == through)
    recorded = {
        "from_seq": 1,
        "through_seq": through,
        "through_hash": last_pruned.hash,
        "entries": through,
        "through_ts": format_timestamp(last_pruned.ts),
        "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "signed_from": 1,
    }
    pruned = _forged(
        head, seq=head.seq + 1, action="audit.pruned", object_type="audit_log", object_id="audit_log",
        actor="datavow", reason="past retention", details=recorded, prev_hash=head.hash,
    )  # fmt: skip
    signature = head_signature(signing_key(key), pruned.seq, pruned.hash, 1) if key is not None else None
    checkpoint = {"id": 1, "seq": through, "hash": last_pruned.hash, "pruned": through, "pruned_at": datetime.now(UTC)}
    if key is not None:
        checkpoint["signature"] = checkpoint_signature(signing_key(key), through, last_pruned.hash, through, recorded)
    head_values: dict[str, Any] = {"seq": pruned.seq, "hash": pruned.hash}
    if signature is not None:
        head_values["signature"] = signature
    _tamper(
        store,
        sa.delete(AuditEntryRow).where(AuditEntryRow.seq <= through),
        _insert(pruned),
        sa.insert(AuditCheckpointRow).values(checkpoint),
        sa.update(AuditHeadRow).values(head_values),
    )
    return pruned.seq


def test_a_forged_prune_of_200_of_300_entries_is_caught(signed: Store) -> None:
    _fill(signed, 300)  # #1 opens the signed log; #301 is the head
    recorded_head = verify_chain(signed, key=KEY).head_hash
    seq = _forge_prune(signed, 200, key=None)
    no_retention = OwnRetention()  # the map sets no audit retention
    result = verify_chain(signed, key=KEY, retention=no_retention, expect_head=recorded_head)
    assert not result.ok and result.problem is not None
    kinds = {(problem.kind, problem.seq) for problem in result.problems}
    assert ("signature", seq) in kinds  # the checkpoint and the head carry no valid signature
    assert ("pruned", seq) in kinds
    assert any("the map sets no audit retention, so no prune is allowed" in p.message for p in result.problems)
    assert mark_entries(signed, list_entries(signed, limit=3, newest_first=True), key=KEY)[seq] == "signature"


@pytest.mark.parametrize("retention", [None, "1 year"])
def test_a_prune_forged_with_the_key_is_held_to_the_maps_retention(signed: Store, retention: str | None) -> None:
    _fill(signed, 300)
    seq = _forge_prune(signed, 200, key=KEY)  # the attacker holds the key: every signature verifies
    period = Duration.parse(retention) if retention else None
    result = verify_chain(signed, key=KEY, retention=OwnRetention(audit_log=period))
    assert [(problem.kind, problem.seq) for problem in result.problems] == [("pruned", seq)]
    if period is None:
        assert "the map sets no audit retention" in result.problems[0].message
    else:
        assert "the map keeps the audit log for 1 year" in result.problems[0].message


def test_a_rewrite_of_the_whole_chain(signed: Store, tmp_path: Path) -> None:
    _fill(signed, 6)
    anchors = tmp_path / "anchors.jsonl"
    anchor_head(signed, anchors, KEY)
    _fill(signed, 2)
    forged = _rewritten(list_entries(signed), 2, actor="mallory")
    # without the key, the head cannot be signed again
    _replace_tail(signed, forged)
    without_key = verify_chain(signed, key=KEY)
    assert without_key.problem is not None and without_key.problem.kind == "signature"
    # with the key, every signature verifies: only the anchor taken before tells
    signature = head_signature(signing_key(KEY), forged[-1].seq, forged[-1].hash, 1)
    _tamper(signed, sa.update(AuditHeadRow).values(signature=signature))
    assert verify_chain(signed, key=KEY).ok
    (anchor,) = read_anchors(anchors)
    result = verify_chain(signed, key=KEY, anchors=[anchor])
    assert result.problem is not None and (result.problem.kind, result.problem.seq) == ("anchor", 7)
    assert result.problem.message.startswith("entry #7 is not the one the head anchored in")


def test_stripping_every_signature_and_rewriting_is_caught_by_an_anchor(signed: Store, tmp_path: Path) -> None:
    _fill(signed, 4)
    entries = list_entries(signed)[1:]
    anchors = tmp_path / "anchors.jsonl"
    anchor_head(signed, anchors, KEY)
    # drop the audit.signed entry, renumber, recompute: the log reads as one never signed
    forged: list[AuditEntry] = []
    prev = "0" * 64
    for entry in entries:
        forged.append(_forged(entry, seq=entry.seq - 1, prev_hash=prev))
        prev = forged[-1].hash
    _tamper(
        signed,
        sa.delete(AuditEntryRow),
        *(_insert(entry) for entry in forged),
        sa.update(AuditHeadRow).values(seq=forged[-1].seq, hash=forged[-1].hash, signature=None, signed_from=None),
    )
    assert verify_chain(signed, key=KEY).ok and verify_chain(signed, key=KEY).signed_from is None
    result = verify_chain(signed, key=KEY, anchors=read_anchors(anchors))
    assert result.problem is not None and result.problem.kind == "anchor"
    assert "its signatures were removed" in result.problem.message


# --- anchors, prunes and rotation -------------------------------------------------------------


def test_anchors_taken_over_time_all_verify(signed: Store, tmp_path: Path) -> None:
    anchors = tmp_path / "anchors.jsonl"
    anchor_head(signed, anchors, KEY)  # the empty log
    _fill(signed, 2)
    anchor_head(signed, anchors, KEY)
    _fill(signed, 2)
    anchor_head(signed, anchors, KEY)
    lines = [json.loads(line) for line in anchors.read_text().splitlines()]
    assert [line["seq"] for line in lines] == [0, 3, 5]
    assert lines[0]["signature"] is None and lines[2]["signature"] == _head(signed).signature
    result = verify_chain(signed, key=KEY, anchors=read_anchors(anchors))
    assert result.ok and result.anchors == 3, result.message
    _tamper(signed, sa.update(AuditEntryRow).where(AuditEntryRow.seq == 3).values(actor="mallory"))
    # the chain names the edit first; the anchor of #3 names it too
    problems = verify_chain(signed, key=KEY, anchors=read_anchors(anchors)).problems
    assert ("changed", 3) in [(p.kind, p.seq) for p in problems]


def test_a_malformed_anchor_file_is_refused_naming_the_line(signed: Store, tmp_path: Path) -> None:
    anchors = tmp_path / "anchors.jsonl"
    anchors.write_text('{"seq": 1}\n')
    with pytest.raises(AuditError, match=r"anchors\.jsonl:1: not an anchor"):
        read_anchors(anchors)
    with pytest.raises(AuditError, match="cannot read the anchor file"):
        read_anchors(tmp_path / "missing.jsonl")


def test_a_forged_head_is_never_anchored(signed: Store, tmp_path: Path) -> None:
    _fill(signed, 3)
    _tamper(signed, sa.update(AuditHeadRow).values(signature="0" * 64))
    with pytest.raises(AuditError, match="is not anchored"):
        anchor_head(signed, tmp_path / "anchors.jsonl", KEY)
    assert not (tmp_path / "anchors.jsonl").exists()


def test_a_prune_the_map_allows_is_signed_and_verifies(signed: Store, tmp_path: Path) -> None:
    from datavow.retention.audit_prune import AuditPrune

    _fill(signed, 20)
    anchors = tmp_path / "anchors.jsonl"
    anchor_head(signed, anchors, KEY)  # #21, later pruned
    _fill(signed, 1)
    period = Duration(1, "day")
    AuditPrune(signed, period, datetime.now(UTC) + timedelta(days=2)).chunk(10)
    checkpoint = verify_chain(signed, key=KEY, retention=OwnRetention(audit_log=period), anchors=read_anchors(anchors))
    assert checkpoint.ok and checkpoint.pruned == 10, checkpoint.message
    # a period longer than the entries' age refuses the same prune
    longer = verify_chain(signed, key=KEY, retention=OwnRetention(audit_log=Duration(1, "year")))
    assert longer.problem is not None and longer.problem.kind == "pruned"
    # the checkpoint's count changed by hand: its signature no longer verifies
    _tamper(signed, sa.update(AuditCheckpointRow).values(pruned=5))
    forged = verify_chain(signed, key=KEY, retention=OwnRetention(audit_log=period))
    assert forged.problem is not None and forged.problem.kind == "signature"
    assert "the checkpoint at #10" in forged.problem.message


def test_resign_moves_every_signature_to_a_new_key(signed: Store) -> None:
    from datavow.retention.audit_prune import AuditPrune

    _fill(signed, 12)
    AuditPrune(signed, Duration(1, "day"), datetime.now(UTC) + timedelta(days=2)).chunk(5)
    with signed.session() as session:
        with pytest.raises(SecretError, match="not signed with the old key"):
            resign(session, OTHER_KEY, KEY)
    with signed.session() as session:
        assert resign(session, KEY, OTHER_KEY) == 2  # the head and the checkpoint
    retention = OwnRetention(audit_log=Duration(1, "day"))
    assert verify_chain(signed, key=OTHER_KEY, retention=retention).ok
    assert not verify_chain(signed, key=KEY, retention=retention).ok
    rotated = Store(signed.engine, lambda _session: OTHER_KEY)
    append(rotated, "dpo@example.org", "request.erased", "request", "after rotation")
    assert verify_chain(rotated, key=OTHER_KEY, retention=retention).ok


# --- the CLI --------------------------------------------------------------------------------


@pytest.fixture
def key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAVOW_SECRET_KEY", base64.urlsafe_b64encode(KEY).decode())


def test_cli_anchors_verifies_with_anchors_and_marks_what_it_rejects(
    signed: Store, state_url: str, tmp_path: Path, key_env: None
) -> None:
    runner = CliRunner()
    base = ["--state", state_url, "--map", str(tmp_path / "datavow.yaml")]
    _fill(signed, 3)
    anchors = tmp_path / "anchors.jsonl"
    written = runner.invoke(audit, ["anchor", str(anchors), *base, "--json"])
    assert written.exit_code == 0, written.output
    assert json.loads(written.output)["seq"] == 4 and len(read_anchors(anchors)) == 1
    _fill(signed, 1)
    text = runner.invoke(audit, ["anchor", str(anchors), *base])
    assert text.exit_code == 0 and text.output.startswith("anchored head #5 (")
    intact = runner.invoke(audit, ["verify", *base, "--anchor", str(anchors), "--anchor", str(anchors)])
    assert intact.exit_code == 0, intact.output
    assert "the log is signed throughout (from #1)" in intact.output
    assert "4 anchored heads found in the log" in intact.output

    _tamper(signed, _insert(_forged(list_entries(signed)[0], seq=0, prev_hash="e" * 64)))
    _tamper(signed, sa.update(AuditEntryRow).where(AuditEntryRow.seq == 3).values(actor="mallory"))
    broken = runner.invoke(audit, ["verify", *base, "--anchor", str(anchors), "--json"])
    assert broken.exit_code == 1
    report = json.loads(broken.output)
    assert report["problem"]["kind"] == "outside" and report["problem"]["seq"] == 0
    assert {(p["kind"], p["seq"]) for p in report["problems"]} == {("outside", 0), ("changed", 3)}
    shown = runner.invoke(audit, ["show", *base, "--json"])
    marks = {entry["seq"]: entry["rejected"] for entry in json.loads(shown.output)}
    assert marks == {5: None, 4: None, 3: "changed", 2: None, 1: None, 0: "outside"}
    table = runner.invoke(audit, ["show", *base], env={"COLUMNS": "200"})
    rows = {line.split("│")[1].strip(): line for line in table.output.splitlines() if line.count("│") > 2}
    assert "✗ changed" in rows["3"] and "✗ outside" in rows["0"] and "ok" in rows["2"]


def test_cli_holds_prunes_to_the_maps_audit_retention(
    signed: Store, state_url: str, tmp_path: Path, key_env: None
) -> None:
    _fill(signed, 300)
    seq = _forge_prune(signed, 200, key=KEY)
    map_path = tmp_path / "datavow.yaml"
    base = ["--state", state_url, "--map", str(map_path), "--json"]
    no_map = CliRunner().invoke(audit, ["verify", *base])  # no map: no audit retention, no prune allowed
    assert no_map.exit_code == 1 and json.loads(no_map.output)["problem"]["kind"] == "pruned"
    assert json.loads(no_map.output)["problem"]["seq"] == seq


def test_cli_verify_without_the_key_is_a_secret_error(
    signed: Store, state_url: str, tmp_path: Path, without_key_env: None
) -> None:
    _fill(signed, 1)
    result = CliRunner().invoke(audit, ["verify", "--state", state_url, "--map", str(tmp_path / "datavow.yaml")])
    assert isinstance(result.exception, SecretError) and result.exit_code != 0


def test_concurrent_signed_appends_keep_one_signed_chain(signed: Store) -> None:
    # the head is signed under the same lock as the append: no writer signs a head another moved
    def appender(worker: int) -> None:
        for n in range(10):
            append(signed, f"worker-{worker}", "map.checked", "map", f"{worker}-{n}")

    with ThreadPoolExecutor(4) as pool:
        for future in [pool.submit(appender, worker) for worker in range(4)]:
            future.result(timeout=120)
    result = verify_chain(signed, key=KEY)
    assert result.ok, result.message
    assert (result.head_seq, result.signed_from) == (41, 1)
    assert [entry.action for entry in list_entries(signed, action="audit.signed")] == ["audit.signed"]


def test_a_log_from_before_the_signatures_migration_verifies_as_unsigned_then_is_signed(state_url: str) -> None:
    # a store as the release before signing left it: entries and a head record, no signature columns
    engine = sa.create_engine(state_url)
    try:
        for _, connection in test_store._stepped(engine, "0011"):
            assert "signature" not in {column["name"] for column in sa.inspect(connection).get_columns("audit_head")}
        entries: list[AuditEntry] = []
        prev = "0" * 64
        for n in range(1, 4):
            entry = AuditEntry(n, datetime.now(UTC), "dpo", "request.erased", "request", str(n), None, {}, prev, "")
            entries.append(entry.sealed())
            prev = entries[-1].hash
        with engine.begin() as connection:
            connection.execute(sa.insert(AuditEntryRow), [entry.row_values() for entry in entries])
            connection.execute(sa.text("UPDATE audit_head SET seq = 3, hash = :hash"), {"hash": prev})
    finally:
        engine.dispose()
    with open_store(state_url, key=lambda _session: KEY) as upgraded:
        before = verify_chain(upgraded, key=KEY)
        assert before.ok and before.signing.startswith("the log is unsigned up to #3")
        append(upgraded, "dpo", "request.erased", "request", "4")
        after = verify_chain(upgraded, key=KEY)
        assert after.ok and after.signing == "the log is unsigned up to #3 and signed from #4"
