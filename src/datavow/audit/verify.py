"""Verifying the audit chain: recompute every hash and name the first entry that is wrong."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from datavow.audit.entry import ENTRY_COLUMNS, GENESIS_HASH, entry_from_row
from datavow.errors import AuditError, ErrorKind
from datavow.store import Store
from datavow.store.models import HEAD_ID, AuditCheckpointRow, AuditEntryRow, AuditHeadRow

#: What went wrong: an entry's contents, a missing entry, entries out of order, the head
#: record disagreeing with the last entry, or an anchored head that is not in the log.
BreakKind = Literal["changed", "removed", "reordered", "head", "anchor"]

#: The action of the entry a prune appends, naming the last entry it removed (see
#: :mod:`datavow.retention.audit_prune`).
PRUNED = "audit.pruned"

_HASH = re.compile(r"[0-9a-f]{64}")
_PAGE = 1000  # entries read per query; memory stays flat however long the log is


@dataclass(frozen=True)
class ChainBreak:
    """The first thing wrong with the chain. ``seq`` is the entry named, when one can be."""

    kind: BreakKind
    seq: int | None
    message: str


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of :func:`verify_chain`.

    ``head_seq``/``head_hash`` are the last entry in the log (``0`` and the genesis hash when it
    is empty): record them somewhere the database's writers cannot reach and pass the hash as
    ``expect_head`` next time, so that removing entries from the end is noticed too.
    """

    entries: int
    head_seq: int
    head_hash: str
    problem: ChainBreak | None
    pruned: int = 0  # entries pruned before the checkpoint, as the prunes recorded

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def message(self) -> str:
        if self.problem is not None:
            return self.problem.message
        noun = "entry" if self.entries == 1 else "entries"
        pruned = (
            f" after #{self.head_seq - self.entries} (the {self.pruned:,} before were pruned)" if self.pruned else ""
        )
        return f"the audit log is intact: {self.entries} {noun}{pruned}, head #{self.head_seq}"

    def to_dict(self) -> dict[str, Any]:
        problem = self.problem
        return {
            "ok": self.ok,
            "message": self.message,
            "entries": self.entries,
            "pruned": self.pruned,
            "head": {"seq": self.head_seq, "hash": self.head_hash},
            "problem": None
            if problem is None
            else {"kind": problem.kind, "seq": problem.seq, "message": problem.message},
        }


def verify_chain(store: Store, *, expect_head: str | None = None) -> VerifyResult:
    """Recompute the chain and report the first entry that was changed, removed or reordered.

    Also checks the head record against the last entry (catches deletion of the last entries)
    and, with ``expect_head``, that a previously recorded head hash is still in the log
    (catches truncation even when the head record was rewritten too).
    """
    anchor = _checked_anchor(expect_head)
    # One read-only snapshot: appends running meanwhile are simply not seen.
    with store.session(write=False) as session:
        last = session.execute(
            select(AuditEntryRow.seq, AuditEntryRow.hash).order_by(AuditEntryRow.seq.desc()).limit(1)
        ).one_or_none()
        head_seq, head_hash = (last.seq, last.hash) if last else (0, GENESIS_HASH)
        checked, anchor_seen, problem = _walk(session, anchor)
        if problem is None:
            problem = _check_head_record(session, head_seq, head_hash)
        if problem is None and anchor is not None and not anchor_seen:
            problem = ChainBreak(
                "anchor",
                None,
                f"the expected head {anchor} is not in the log: entries after it were removed, "
                "or the log was rewritten",
            )
        checkpoint = session.get(AuditCheckpointRow, HEAD_ID)
        pruned = checkpoint.pruned if checkpoint is not None else 0
    return VerifyResult(checked, head_seq, head_hash, problem, pruned)


def _checked_anchor(expect_head: str | None) -> str | None:
    if expect_head is None:
        return None
    anchor = expect_head.strip().lower()
    if not _HASH.fullmatch(anchor):
        raise AuditError(
            f"expected head {expect_head!r} is not a SHA-256 hash (64 hex digits): give the "
            "head hash an earlier verification printed",
            kind=ErrorKind.INVALID,
            field="expect_head",
        )
    return anchor


def _walk(session: Session, anchor: str | None) -> tuple[int, bool, ChainBreak | None]:
    """Check entries in seq order; return how many passed, whether the anchor was among them
    (the genesis counts, for an anchor taken of an empty log) and the first break.

    A pruned log starts at its checkpoint: the last pruned entry's seq and hash, which an
    ``audit.pruned`` entry later in the chain must confirm."""
    prev_seq, prev_hash = 0, GENESIS_HASH
    checkpoint = session.get(AuditCheckpointRow, HEAD_ID)
    if checkpoint is not None:
        prev_seq, prev_hash = checkpoint.seq, checkpoint.hash
        problem = _check_checkpoint(session, checkpoint)
        if problem is not None:
            return 0, False, problem
    anchor_seen = anchor == prev_hash
    checked = 0
    while True:
        page = session.execute(
            select(*ENTRY_COLUMNS).where(AuditEntryRow.seq > prev_seq).order_by(AuditEntryRow.seq).limit(_PAGE)
        ).mappings()
        rows = page.all()
        if not rows:
            return checked, anchor_seen, None
        for row in rows:
            problem = _check_entry(session, row, prev_seq, prev_hash)
            if problem is not None:
                return checked, anchor_seen, problem
            prev_seq, prev_hash = row["seq"], row["hash"]
            anchor_seen = anchor_seen or prev_hash == anchor
            checked += 1


def _check_checkpoint(session: Session, checkpoint: AuditCheckpointRow) -> ChainBreak | None:
    """The checkpoint must be the one the latest ``audit.pruned`` entry recorded."""
    recorded = session.execute(
        select(AuditEntryRow.seq, AuditEntryRow.details)
        .where(AuditEntryRow.action == PRUNED, AuditEntryRow.seq > checkpoint.seq)
        .order_by(AuditEntryRow.seq.desc())
        .limit(1)
    ).one_or_none()
    if recorded is not None:
        details = json.loads(recorded.details)
        if details.get("through_seq") == checkpoint.seq and details.get("through_hash") == checkpoint.hash:
            return None
    return ChainBreak(
        "removed",
        checkpoint.seq,
        f"the log starts after #{checkpoint.seq}, but no audit.pruned entry records a prune up to it: "
        "entries were removed, or the checkpoint was rewritten",
    )


def _check_entry(session: Session, row: Any, prev_seq: int, prev_hash: str) -> ChainBreak | None:
    seq: int = row["seq"]
    if seq != prev_seq + 1:
        return _gap(prev_seq, seq, "the log goes from" if prev_seq else "the log starts at")
    try:
        content_ok = entry_from_row(row).compute_hash() == row["hash"]
    except ValueError:  # details no longer parse: they were edited
        content_ok = False
    linked = row["prev_hash"] == prev_hash
    if not linked:
        # An intact entry that links elsewhere, to an entry still present, was moved.
        moved_after = session.scalar(select(AuditEntryRow.seq).where(AuditEntryRow.hash == row["prev_hash"]))
        if moved_after is not None:
            expected = f"#{prev_seq}" if prev_seq else "the start of the log"
            return ChainBreak(
                "reordered",
                seq,
                f"entry #{seq} was reordered: it is chained after the entry now numbered "
                f"#{moved_after}, not after {expected}",
            )
    if not content_ok:
        return ChainBreak("changed", seq, f"entry #{seq} was changed: its hash no longer matches its contents")
    if not linked:
        return ChainBreak(
            "removed",
            seq,
            f"an entry before #{seq} was removed: #{seq} is chained to an entry that is no "
            "longer in the log, and the entries after it were renumbered",
        )
    return None


def _gap(last_present: int, next_present: int, lead: str) -> ChainBreak:
    first_missing, last_missing = last_present + 1, next_present - 1
    where = f"{lead} #{last_present} to #{next_present}" if last_present else f"{lead} #{next_present}"
    if first_missing == last_missing:
        return ChainBreak("removed", first_missing, f"entry #{first_missing} was removed: {where}")
    return ChainBreak(
        "removed",
        first_missing,
        f"entries #{first_missing} to #{last_missing} were removed: {where}",
    )


def _check_head_record(session: Session, last_seq: int, last_hash: str) -> ChainBreak | None:
    """Compare the head record, written with every append, with the last entry present."""
    head = session.execute(select(AuditHeadRow.seq, AuditHeadRow.hash).where(AuditHeadRow.id == HEAD_ID)).one_or_none()
    if head is None:
        return ChainBreak(
            "head",
            None,
            "the audit head record was deleted: entries may have been removed from the end of "
            "the log; compare the head with one you recorded earlier",
        )
    if head.seq > last_seq:
        first, last = last_seq + 1, head.seq
        what = f"entry #{first} was" if first == last else f"entries #{first} to #{last} were"
        return ChainBreak(
            "removed",
            first,
            f"{what} removed from the end of the log: the head record says it ends at "
            f"#{head.seq}, but the last entry is #{last_seq}",
        )
    if head.seq < last_seq:
        return ChainBreak(
            "head",
            head.seq + 1,
            f"entry #{head.seq + 1} was not written by datavow: the head record says the log "
            f"ends at #{head.seq}, but it goes on to #{last_seq}",
        )
    if head.hash != last_hash:
        return ChainBreak(
            "changed",
            last_seq,
            f"entry #{last_seq} was replaced: its hash differs from the one in the head record",
        )
    return None
