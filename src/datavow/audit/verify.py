"""Verifying the audit log: recompute every hash, check every row is in the chain, check the
signatures, the prunes and the anchors, and name the first entry that is wrong.

Every row must be in the chain: numbered from the log's start (1, or the entry after a prune's
checkpoint) without gaps or duplicates, linked each to the one before, and not after the head.
The head is signed in the same transaction as each append, so there is no grace for entries
being committed: a verification reads one snapshot, and an entry is either committed with its
signed head or not seen at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datavow.audit.anchors import Anchor, check_anchors
from datavow.audit.breaks import BreakKind, ChainBreak
from datavow.audit.entry import ENTRY_COLUMNS, GENESIS_HASH, entry_from_row
from datavow.audit.prunes import check_checkpoint, check_prunes
from datavow.audit.signing import head_signature, recorded_signing, signature_matches, signing_key
from datavow.datamap.model.settings import OwnRetention
from datavow.errors import AuditError, ErrorKind
from datavow.store import Store
from datavow.store.models import HEAD_ID, AuditCheckpointRow, AuditEntryRow, AuditHeadRow

_HASH = re.compile(r"[0-9a-f]{64}")
_PAGE = 1000  # entries read per query; memory stays flat however long the log is
_KEPT_PROBLEMS = 100  # problems a result lists beyond the first; a rewritten log would have thousands


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of :func:`verify_chain`.

    ``head_seq``/``head_hash`` are the last entry in the log (``0`` and the genesis hash when it
    is empty): anchor them somewhere the database's writers cannot reach and give them back
    next time, so that a rewrite of the whole chain is noticed too. ``problem`` is the first
    thing wrong, ``problems`` every one found (up to a hundred), ``rejected`` each entry they
    name by its seq. ``signed_from`` is the first signed entry (``None``: the log was never
    signed); ``signatures_checked`` whether a key was there to check them.
    """

    entries: int
    head_seq: int
    head_hash: str
    problem: ChainBreak | None
    pruned: int = 0  # entries pruned before the checkpoint, as the prunes recorded
    signed_from: int | None = None
    signatures_checked: bool = False
    anchors: int = 0
    problems: tuple[ChainBreak, ...] = ()
    rejected: dict[int, BreakKind] = field(default_factory=dict)

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

    @property
    def signing(self) -> str:
        """What the signatures vouch for, in a sentence."""
        if self.head_seq == 0:
            return "the log is empty: its first append with the key signs it"
        if self.signed_from is None:
            said = (
                f"the log is unsigned up to #{self.head_seq}: it was written without the key; "
                "its next append with the key signs it"
            )
        elif self.signed_from <= self.head_seq - self.entries + 1:
            said = f"the log is signed throughout (from #{self.signed_from})"
        else:
            said = f"the log is unsigned up to #{self.signed_from - 1} and signed from #{self.signed_from}"
        if self.signed_from is not None and not self.signatures_checked:
            said += "; the signatures were not checked, for want of the key"
        return said

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "message": self.message,
            "entries": self.entries,
            "pruned": self.pruned,
            "head": {"seq": self.head_seq, "hash": self.head_hash},
            "signing": {
                "signed_from": self.signed_from,
                "checked": self.signatures_checked,
                "statement": self.signing,
            },
            "anchors": self.anchors,
            "problem": None if self.problem is None else _problem(self.problem),
            "problems": [_problem(problem) for problem in self.problems],
        }


def _problem(problem: ChainBreak) -> dict[str, Any]:
    return {"kind": problem.kind, "seq": problem.seq, "message": problem.message}


def verify_chain(
    store: Store,
    *,
    expect_head: str | None = None,
    key: bytes | None = None,
    anchors: Iterable[Anchor] = (),
    retention: OwnRetention | None = None,
) -> VerifyResult:
    """Verify the audit log and report the first thing wrong, naming its entry.

    Checks that every row is in the chain (no seq at or before the log's start, no duplicates,
    no gaps, none after the head), recomputes every hash, and checks the head record against
    the last entry. With the installation's ``key`` the head's and the checkpoint's signatures
    are checked too (without it the result says they were not: reading never asks the store for
    its key). ``retention`` is the map's
    ``retention.own``: each prune must be one its ``audit_log`` period allowed (``None``: prunes
    are not checked against a map). ``anchors`` and ``expect_head`` are heads recorded earlier
    outside the store: each must still be in the log.
    """
    expected = _checked_hash(expect_head)
    subkey = signing_key(key) if key is not None else None
    anchored = list(anchors)
    # One read-only snapshot: appends running meanwhile are simply not seen.
    with store.session(write=False) as session:
        walk = _Walk(session, expected)
        walk.run(subkey)
        if retention is not None:
            walk.add(check_prunes(session, walk.start_seq, retention.audit_log, walk.signed_from))
        walk.add(check_anchors(session, anchored, walk.start_seq, walk.start_hash, walk.signed_from))
        if expected is not None and not walk.expected_seen:
            walk.add(
                [
                    ChainBreak(
                        "anchor",
                        None,
                        f"the expected head {expected} is not in the log: entries after it were removed, "
                        "or the log was rewritten",
                    )
                ]
            )
    problems = walk.problems
    return VerifyResult(
        walk.first_break_at if walk.first_break_at is not None else walk.checked,
        walk.last_seq,
        walk.last_hash,
        problems[0] if problems else None,
        walk.pruned,
        walk.signed_from,
        subkey is not None,
        len(anchored) + (expected is not None),
        tuple(problems[: _KEPT_PROBLEMS + 1]),
        walk.rejected,
    )


def _checked_hash(expect_head: str | None) -> str | None:
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


class _Walk:
    """One pass over the log in a snapshot, collecting every problem and the entries they name."""

    def __init__(self, session: Session, expected: str | None) -> None:
        self.session, self.expected = session, expected
        self.expected_seen = False
        self.problems: list[ChainBreak] = []
        self.rejected: dict[int, BreakKind] = {}
        self.checked = 0
        self.first_break_at: int | None = None  # entries checked before the chain's first break
        self.start_seq, self.start_hash, self.pruned = 0, GENESIS_HASH, 0
        self.last_seq, self.last_hash = 0, GENESIS_HASH
        self.signed_from: int | None = None

    def add(self, problems: Iterable[ChainBreak]) -> None:
        for problem in problems:
            self.problems.append(problem)
            if problem.seq is not None:
                self.rejected.setdefault(problem.seq, problem.kind)

    def run(self, subkey: bytes | None) -> None:
        session = self.session
        last = session.execute(
            select(AuditEntryRow.seq, AuditEntryRow.hash).order_by(AuditEntryRow.seq.desc()).limit(1)
        ).one_or_none()
        if last is not None:
            self.last_seq, self.last_hash = last.seq, last.hash
        checkpoint = session.get(AuditCheckpointRow, HEAD_ID)
        if checkpoint is not None:
            self.start_seq, self.start_hash, self.pruned = checkpoint.seq, checkpoint.hash, checkpoint.pruned
        # an anchor of the log's start (the genesis, or a pruned log's checkpoint) counts as seen
        self.expected_seen = self.expected == self.start_hash
        self.add(outside_rows(session, self.start_seq))
        if checkpoint is not None:
            self.add(filter(None, [check_checkpoint(session, checkpoint, subkey)]))
        self._chain()
        head = session.execute(
            select(AuditHeadRow.seq, AuditHeadRow.hash, AuditHeadRow.signed_from, AuditHeadRow.signature).where(
                AuditHeadRow.id == HEAD_ID
            )
        ).one_or_none()
        self.add(filter(None, [_check_head_record(head, self.last_seq, self.last_hash)]))
        if head is not None:
            self._mark_after_head(head.seq)
            self.signed_from, problem = check_signature(session, head, self.start_seq, subkey)
            self.add(filter(None, [problem]))

    def _chain(self) -> None:
        prev_seq, prev_hash = self.start_seq, self.start_hash
        while True:
            rows = (
                self.session.execute(
                    select(*ENTRY_COLUMNS).where(AuditEntryRow.seq > prev_seq).order_by(AuditEntryRow.seq).limit(_PAGE)
                )
                .mappings()
                .all()
            )
            if not rows:
                return
            for row in rows:
                if row["seq"] == prev_seq:
                    continue  # a duplicate number, reported with the rows outside the chain
                problem = check_entry(self.session, row, prev_seq, prev_hash)
                if problem is not None:
                    if self.first_break_at is None:
                        self.first_break_at = self.checked
                    self.add([problem])
                    self.rejected[row["seq"]] = problem.kind  # the row itself, when a gap names the missing one
                prev_seq, prev_hash = row["seq"], row["hash"]
                self.expected_seen = self.expected_seen or prev_hash == self.expected
                self.checked += 1

    def _mark_after_head(self, head_seq: int) -> None:
        # the head record's check names the first; each of them is rejected
        for seq in self.session.scalars(select(AuditEntryRow.seq).where(AuditEntryRow.seq > head_seq)):
            self.rejected.setdefault(seq, "head")


def check_signature(
    session: Session, head: Any, start_seq: int, subkey: bytes | None
) -> tuple[int | None, ChainBreak | None]:
    """The entry from which the log is signed (``None``: never signed) and what is wrong with the
    head's signature, if anything. An ``audit.signed`` entry in the chain (or, once it is pruned,
    the prune's record) says the log is signed, so a head stripped of its signature is caught."""
    marker = recorded_signing(session, start_seq)
    if head.signature is None:
        if marker is None:
            return None, None  # a log never signed: the result says so
        return marker, ChainBreak(
            "signature",
            head.seq,
            f"the log is signed from #{marker}, but its head (#{head.seq}) carries no signature: the head "
            "record was rewritten",
        )
    if head.signed_from != marker:
        opened = (
            f"the log's audit.signed entry is #{marker}" if marker is not None else "no audit.signed entry opens it"
        )
        return head.signed_from, ChainBreak(
            "signature",
            head.signed_from,
            f"the head says the log is signed from #{head.signed_from}, but {opened}: entries were removed or "
            "the head record was rewritten",
        )
    if subkey is None or signature_matches(
        head_signature(subkey, head.seq, head.hash, head.signed_from), head.signature
    ):
        return head.signed_from, None
    return head.signed_from, ChainBreak(
        "signature",
        head.seq,
        f"the head (#{head.seq}) is not signed with this installation's key: the head record was rewritten, "
        "so entries may have been added, removed or replaced (or the key is not the one this log was signed with)",
    )


def outside_rows(session: Session, start_seq: int) -> list[ChainBreak]:
    """Rows numbered at or before the log's start, and numbers held by more than one row."""
    lead = f"the log starts at #{start_seq + 1}" + (f", after the checkpoint at #{start_seq}" if start_seq else "")
    problems = [
        ChainBreak("outside", seq, f"entry #{seq} is outside the chain: {lead}, so no entry can be numbered #{seq}")
        for seq in session.scalars(
            select(AuditEntryRow.seq).where(AuditEntryRow.seq <= start_seq).order_by(AuditEntryRow.seq)
        )
    ]
    duplicated = session.execute(
        select(AuditEntryRow.seq, func.count())
        .group_by(AuditEntryRow.seq)
        .having(func.count() > 1)
        .order_by(AuditEntryRow.seq)
    ).all()
    problems += [
        ChainBreak("outside", seq, f"entry #{seq} appears {count} times: all but one were added outside the chain")
        for seq, count in duplicated
    ]
    return problems


def check_entry(session: Session, row: Any, prev_seq: int, prev_hash: str) -> ChainBreak | None:
    """What is wrong with the entry in ``row``, coming after ``prev_seq`` whose hash is
    ``prev_hash``: a gap before it, contents that no longer hash to it, or a link elsewhere."""
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


def _check_head_record(head: Any, last_seq: int, last_hash: str) -> ChainBreak | None:
    """Compare the head record, written with every append, with the last entry present."""
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
