"""The audit log: hash chain, tamper detection, concurrent appenders and the CLI.

Each test tampers with a real database the way someone with write access could (plain SQL on
the tables) and checks that ``verify_chain`` names the right entry.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Barrier as BarrierType
from pathlib import Path
from typing import Any, get_args

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from datavow.audit import (
    GENESIS_HASH,
    AuditEntry,
    BreakKind,
    append,
    audit_trail,
    list_entries,
    verify_chain,
)
from datavow.cli.audit import audit
from datavow.errors import AuditError, ErrorKind, StateError
from datavow.store import Store, default_state_url, open_store
from datavow.store.models import AuditEntryRow, AuditHeadRow
from tests import test_store

# The same fixtures as the store tests: a fresh, migrated store on SQLite and on PostgreSQL.
state_url = test_store.state_url
store = test_store.store


def _fill(store: Store, count: int) -> list[AuditEntry]:
    return [
        append(store, "dpo@example.org", "request.erased", "request", str(n), reason=f"Art. 17 #{n}")
        for n in range(1, count + 1)
    ]


def _tamper(store: Store, *statements: sa.Executable) -> None:
    """Change the tables directly, as someone with write access to the database could."""
    with store.engine.begin() as connection:
        for statement in statements:
            connection.execute(statement)


def _forged(entry: AuditEntry, **changes: Any) -> AuditEntry:
    """``entry`` changed and re-hashed, as someone who knows the (public) algorithm could."""
    return replace(entry, **changes).sealed()


def _insert(entry: AuditEntry) -> sa.Executable:
    return sa.insert(AuditEntryRow).values(entry.row_values())


def _entry(seq: int) -> Any:
    return AuditEntryRow.__table__.c.seq == seq


# --- the chain -----------------------------------------------------------------------------


def test_each_entry_is_chained_to_the_one_before(store: Store) -> None:
    first, second, third = _fill(store, 3)
    assert [first.seq, second.seq, third.seq] == [1, 2, 3]
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash and third.prev_hash == second.hash
    assert len({first.hash, second.hash, third.hash}) == 3
    with store.session(write=False) as session:
        head = session.execute(sa.select(AuditHeadRow.seq, AuditHeadRow.hash)).one()
    assert tuple(head) == (3, third.hash)


def test_the_hash_is_sha256_of_sorted_compact_json_of_every_other_field() -> None:
    entry = AuditEntry(
        seq=42,
        ts=datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC),
        actor="dpo@example.org",
        action="request.erased",
        object_type="request",
        object_id="r-7",
        reason="Art. 17",
        details={"tables": ["users", "orders"], "rows": 3, "é": None},
        prev_hash="a" * 64,
        hash="",
    )
    canonical = (
        '{"action":"request.erased","actor":"dpo@example.org",'
        '"details":{"rows":3,"tables":["users","orders"],"é":null},"object_id":"r-7",'
        '"object_type":"request","prev_hash":"' + "a" * 64 + '","reason":"Art. 17",'
        '"seq":42,"ts":"2024-05-01T12:00:00.123456Z"}'
    )
    assert entry.compute_hash() == hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def test_entries_read_back_exactly_as_appended(store: Store) -> None:
    written = append(
        store,
        "system",
        "map.checked",
        "map",
        "datavow.yaml",
        details={"findings": 2, "rules": ("r1", "r2"), "by_table": {3: "users"}},
    )
    # What is hashed is the JSON form: tuples become lists, keys become strings.
    assert written.details == {"findings": 2, "rules": ["r1", "r2"], "by_table": {"3": "users"}}
    assert written.ts.tzinfo is UTC
    assert list_entries(store) == [written]
    assert verify_chain(store).ok


# --- verification --------------------------------------------------------------------------


def test_an_intact_log_verifies_and_reports_its_head(store: Store) -> None:
    empty = verify_chain(store)
    assert (empty.ok, empty.entries, empty.head_seq, empty.head_hash) == (True, 0, 0, GENESIS_HASH)
    entries = _fill(store, 5)
    result = verify_chain(store)
    assert result.ok and result.problem is None
    assert (result.entries, result.head_seq, result.head_hash) == (5, 5, entries[-1].hash)
    assert result.message == "the audit log is intact: 5 entries, head #5"


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("actor", "someone-else"),
        ("action", "request.accessed"),
        ("object_type", "incident"),
        ("object_id", "999"),
        ("reason", None),
        ("details", '{"rows":0}'),
        ("details", "{not json"),
        ("ts", datetime(2020, 1, 1, tzinfo=UTC)),
        ("prev_hash", "b" * 64),
        ("hash", "c" * 64),
    ],
)
def test_changing_any_field_of_an_entry_is_named(store: Store, column: str, value: object) -> None:
    _fill(store, 5)
    _tamper(store, sa.update(AuditEntryRow).where(_entry(3)).values({column: value}))
    result = verify_chain(store)
    assert not result.ok and result.problem is not None
    assert (result.problem.kind, result.problem.seq) == ("changed", 3)
    assert result.problem.message == "entry #3 was changed: its hash no longer matches its contents"
    assert result.entries == 2  # the two before it were verified


def test_deleting_an_entry_in_the_middle_is_named(store: Store) -> None:
    _fill(store, 5)
    _tamper(store, sa.delete(AuditEntryRow).where(_entry(3)))
    problem = verify_chain(store).problem
    assert problem is not None and (problem.kind, problem.seq) == ("removed", 3)
    assert problem.message == "entry #3 was removed: the log goes from #2 to #4"


def test_deleting_the_first_entries_is_named(store: Store) -> None:
    _fill(store, 5)
    _tamper(store, sa.delete(AuditEntryRow).where(AuditEntryRow.seq <= 2))
    problem = verify_chain(store).problem
    assert problem is not None and (problem.kind, problem.seq) == ("removed", 1)
    assert problem.message == "entries #1 to #2 were removed: the log starts at #3"


def test_deleting_the_last_entry_is_caught_by_the_head_record(store: Store) -> None:
    _fill(store, 5)
    _tamper(store, sa.delete(AuditEntryRow).where(_entry(5)))
    problem = verify_chain(store).problem
    assert problem is not None and (problem.kind, problem.seq) == ("removed", 5)
    assert problem.message.startswith("entry #5 was removed from the end of the log")


def test_deleting_the_head_record_is_reported(store: Store) -> None:
    _fill(store, 2)
    _tamper(store, sa.delete(AuditHeadRow))
    problem = verify_chain(store).problem
    assert problem is not None and problem.kind == "head"
    with pytest.raises(AuditError, match="head record is missing"):
        append(store, "system", "map.checked", "map", "datavow.yaml")


def test_an_entry_added_behind_datavows_back_is_named(store: Store) -> None:
    last = _fill(store, 2)[-1]
    # A valid link from #2, but the head record is not updated.
    _tamper(store, _insert(_forged(last, seq=3, actor="mallory", prev_hash=last.hash)))
    problem = verify_chain(store).problem
    assert problem is not None and (problem.kind, problem.seq) == ("head", 3)
    assert problem.message.startswith("entry #3 was not written by datavow")


def test_swapping_two_entries_sequence_numbers_is_named(store: Store) -> None:
    _fill(store, 5)
    _tamper(
        store,
        sa.update(AuditEntryRow).where(_entry(2)).values(seq=-2),
        sa.update(AuditEntryRow).where(_entry(3)).values(seq=2),
        sa.update(AuditEntryRow).where(_entry(-2)).values(seq=3),
    )
    problem = verify_chain(store).problem
    assert problem is not None and (problem.kind, problem.seq) == ("reordered", 2)
    assert problem.message == ("entry #2 was reordered: it is chained after the entry now numbered #3, not after #1")


def test_truncating_the_tail_and_its_head_record_is_caught_only_by_an_anchor(store: Store) -> None:
    entries = _fill(store, 5)
    anchor = verify_chain(store).head_hash
    _tamper(
        store,
        sa.delete(AuditEntryRow).where(AuditEntryRow.seq > 3),
        sa.update(AuditHeadRow).values(seq=3, hash=entries[2].hash),
    )
    assert verify_chain(store).ok  # the documented limit: the chain alone cannot tell
    result = verify_chain(store, expect_head=anchor)
    assert result.problem is not None and result.problem.kind == "anchor"
    assert anchor in result.problem.message


def test_an_anchor_taken_earlier_still_verifies_after_more_appends(store: Store) -> None:
    anchor_of_empty_log = verify_chain(store).head_hash
    _fill(store, 2)
    anchor = verify_chain(store).head_hash
    _fill(store, 2)
    assert verify_chain(store, expect_head=anchor.upper()).ok
    assert verify_chain(store, expect_head=anchor_of_empty_log).ok


def test_rewriting_the_whole_chain_is_caught_only_by_an_anchor(store: Store) -> None:
    # Someone who knows the algorithm edits entry #2 and recomputes every hash after it.
    entries = _fill(store, 4)
    anchor = entries[-1].hash
    forged: list[AuditEntry] = []
    prev = entries[0].hash
    for entry in entries[1:]:
        forged.append(_forged(entry, reason="nothing to see", prev_hash=prev))
        prev = forged[-1].hash
    _tamper(
        store,
        sa.delete(AuditEntryRow).where(AuditEntryRow.seq >= 2),
        *(_insert(entry) for entry in forged),
        sa.update(AuditHeadRow).values(seq=4, hash=forged[-1].hash),
    )
    assert verify_chain(store).ok
    assert not verify_chain(store, expect_head=anchor).ok


def test_expect_head_must_be_a_sha256_hash(store: Store) -> None:
    with pytest.raises(AuditError, match="not a SHA-256 hash"):
        verify_chain(store, expect_head="1234")


def test_the_schema_itself_refuses_a_fork(store: Store) -> None:
    first = _fill(store, 1)[0]
    fork = _forged(first, seq=2, actor="a second writer")  # also chained after the genesis
    with pytest.raises(sa.exc.IntegrityError):
        _tamper(store, _insert(fork))


# --- concurrency and transactions ----------------------------------------------------------


def test_concurrent_threads_append_one_unbroken_chain(store: Store) -> None:
    start = threading.Barrier(6)

    def appender(worker: int) -> None:
        start.wait()
        for n in range(15):
            append(store, f"worker-{worker}", "map.checked", "map", f"{worker}-{n}")

    with ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(appender, worker) for worker in range(6)]
    for future in futures:
        future.result(timeout=120)  # re-raises what the thread raised
    result = verify_chain(store)
    assert result.ok, result.message
    assert result.entries == result.head_seq == 90
    assert len({entry.object_id for entry in list_entries(store)}) == 90


def _append_from_a_process(url: str, worker: int, count: int, ready: BarrierType) -> None:
    with open_store(url) as own_store:
        ready.wait()
        for n in range(count):
            append(own_store, f"process-{worker}", "map.checked", "map", f"{worker}-{n}")


def test_concurrent_processes_append_one_unbroken_chain(state_url: str) -> None:
    open_store(state_url).close()
    spawn = multiprocessing.get_context("spawn")
    ready = spawn.Barrier(3)
    workers = [spawn.Process(target=_append_from_a_process, args=(state_url, w, 20, ready)) for w in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0, 0, 0]
    with open_store(state_url) as store:
        result = verify_chain(store)
        assert result.ok, result.message
        assert result.entries == 60
        actors = {entry.actor for entry in list_entries(store)}
    assert actors == {"process-0", "process-1", "process-2"}


def test_an_entry_appended_in_a_session_commits_or_rolls_back_with_it(store: Store) -> None:
    scratch = sa.Table("erasures", sa.MetaData(), sa.Column("request_id", sa.String(20)))
    scratch.create(store.engine)

    with pytest.raises(RuntimeError), store.session() as session:
        session.execute(scratch.insert().values(request_id="r-1"))
        append(session, "dpo@example.org", "request.erased", "request", "r-1")
        raise RuntimeError("the erasure failed after its audit entry was written")
    with store.session(write=False) as session:
        assert session.execute(sa.select(scratch)).all() == []
    assert list_entries(store) == []
    assert verify_chain(store).head_seq == 0

    with store.session() as session:
        session.execute(scratch.insert().values(request_id="r-2"))
        first = append(session, "dpo@example.org", "request.erased", "request", "r-2")
        second = append(session, "dpo@example.org", "request.closed", "request", "r-2")
    assert second.prev_hash == first.hash
    assert [entry.seq for entry in list_entries(store)] == [1, 2]
    assert verify_chain(store).ok


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"action": "Erased"}, "not a dotted lower-case name"),
        ({"actor": " "}, "needs a non-empty actor"),
        ({"object_id": "x" * 201}, "longer than 200"),
        ({"details": {"when": datetime(2024, 1, 1)}}, "details must be JSON"),
        ({"details": {"ratio": float("nan")}}, "details must be JSON"),
    ],
)
def test_append_refuses_bad_fields_and_writes_nothing(store: Store, kwargs: dict[str, Any], message: str) -> None:
    fields: dict[str, Any] = {
        "actor": "system",
        "action": "map.checked",
        "object_type": "map",
        "object_id": "datavow.yaml",
        **kwargs,
    }
    with pytest.raises(AuditError, match=message):
        append(store, **fields)
    assert verify_chain(store).entries == 0


# --- reading -------------------------------------------------------------------------------


def test_list_entries_filters(store: Store) -> None:
    append(store, "alice", "request.received", "request", "1")
    append(store, "bob", "request.erased", "request", "1")
    append(store, "alice", "map.checked", "map", "datavow.yaml")
    append(store, "bob", "request.erased", "request", "2")

    def seqs(**filters: Any) -> list[int]:
        return [entry.seq for entry in list_entries(store, **filters)]

    assert seqs(action="request.erased") == [2, 4]
    assert seqs(action="request.*") == [1, 2, 4]
    assert seqs(object_type="request", object_id="1") == [1, 2]
    assert seqs(actor="alice") == [1, 3]
    assert seqs(after_seq=2) == [3, 4]
    assert seqs(limit=2, newest_first=True) == [4, 3]
    assert seqs(since=datetime.now(UTC) + timedelta(minutes=1)) == []
    assert seqs(since=datetime.now(UTC) - timedelta(minutes=1)) == [1, 2, 3, 4]
    with pytest.raises(AuditError, match="timezone-aware"):
        list_entries(store, since=datetime(2024, 1, 1))


def test_the_trail_reads_times_and_objects_as_a_person_writes_them(store: Store) -> None:
    append(store, "alice", "request.received", "request", "1")
    append(store, "bob", "request.erased", "request", "1")
    append(store, "bob", "request.erased", "request", "2")
    today = datetime.now(UTC).date().isoformat()

    def seqs(**filters: Any) -> list[int]:
        return [entry.seq for entry in audit_trail(store, **filters)]

    assert seqs() == [3, 2, 1]
    assert seqs(about="request:1") == [2, 1]
    assert seqs(about="request", action="request.erased", limit=1) == [3]
    assert seqs(since=today) == [3, 2, 1]  # a date is midnight UTC
    assert seqs(since="2999-01-01T00:00+02:00") == []
    assert seqs(since=datetime(2000, 1, 1)) == [3, 2, 1]  # a naive time is read as UTC
    with pytest.raises(AuditError, match="not an ISO date or time") as refused:
        audit_trail(store, since="last tuesday")
    assert refused.value.kind == ErrorKind.INVALID and refused.value.field == "since"


def test_the_docs_explain_every_kind_of_break() -> None:
    docs = (Path(__file__).resolve().parent.parent / "docs" / "audit.md").read_text()
    for kind in get_args(BreakKind):
        assert f"| `{kind}` |" in docs, f"docs/audit.md does not explain a {kind!r} break"
    assert GENESIS_HASH == "0" * 64 and "64 zeros" in docs


# --- the CLI -------------------------------------------------------------------------------


def test_cli_verify_exits_0_when_intact_and_1_naming_the_entry_when_not(store: Store, state_url: str) -> None:
    _fill(store, 3)
    runner = CliRunner()
    intact = runner.invoke(audit, ["verify", "--state", state_url])
    assert intact.exit_code == 0, intact.output
    assert "the audit log is intact: 3 entries" in intact.output
    _tamper(store, sa.update(AuditEntryRow).where(_entry(2)).values(actor="mallory"))
    broken = runner.invoke(audit, ["verify", "--state", state_url])
    assert broken.exit_code == 1
    assert "entry #2 was changed" in broken.output


def test_cli_verify_json_and_expect_head(store: Store, state_url: str) -> None:
    _fill(store, 2)
    runner = CliRunner()
    ok = runner.invoke(audit, ["verify", "--state", state_url, "--json"])
    report = json.loads(ok.output)
    assert ok.exit_code == 0 and report["ok"] is True
    assert report["head"] == {"seq": 2, "hash": verify_chain(store).head_hash}
    anchored = ["verify", "--state", state_url, "--json", "--expect-head", report["head"]["hash"]]
    assert runner.invoke(audit, anchored).exit_code == 0
    unknown = runner.invoke(audit, ["verify", "--state", state_url, "--json", "--expect-head", "e" * 64])
    assert unknown.exit_code == 1
    assert json.loads(unknown.output)["problem"]["kind"] == "anchor"


def test_cli_show_lists_the_latest_entries(store: Store, state_url: str) -> None:
    append(store, "alice", "request.received", "request", "1", reason="[asked] by email")
    append(store, "bob", "request.erased", "request", "1", details={"rows": 4})
    append(store, "alice", "map.checked", "map", "datavow.yaml")
    runner = CliRunner()
    latest = runner.invoke(audit, ["show", "--state", state_url, "--json", "--limit", "2"])
    assert [entry["seq"] for entry in json.loads(latest.output)] == [3, 2]
    filtered = runner.invoke(
        audit, ["show", "--state", state_url, "--json", "--action", "request.*", "--object", "request:1"]
    )
    assert [entry["action"] for entry in json.loads(filtered.output)] == [
        "request.erased",
        "request.received",
    ]
    table = runner.invoke(audit, ["show", "--state", state_url], env={"COLUMNS": "160"})
    assert table.exit_code == 0
    assert "request.received" in table.output and "[asked] by email" in table.output


def test_cli_finds_the_store_beside_the_map(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATAVOW_STATE_URL", raising=False)
    map_path = tmp_path / "datavow.yaml"
    with open_store(default_state_url(map_path)) as store:
        append(store, "system", "map.checked", "map", "datavow.yaml")
    result = CliRunner().invoke(audit, ["show", "--map", str(map_path), "--json"])
    assert result.exit_code == 0, result.output
    assert [entry["action"] for entry in json.loads(result.output)] == ["map.checked"]


def test_cli_refuses_a_store_that_does_not_exist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATAVOW_STATE_URL", raising=False)
    result = CliRunner().invoke(audit, ["verify", "--map", str(tmp_path / "datavow.yaml")])
    assert isinstance(result.exception, StateError)
    assert result.exit_code != 0
    assert not (tmp_path / ".datavow").exists()
