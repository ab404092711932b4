"""Marking the entries a reader is shown with what verification would reject, without walking
the whole log: each entry is checked against its neighbour, the log's start and its head."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from datavow.audit.breaks import BreakKind
from datavow.audit.entry import GENESIS_HASH, AuditEntry
from datavow.audit.signing import signing_key
from datavow.audit.verify import check_entry, check_signature
from datavow.store import Store
from datavow.store.models import HEAD_ID, AuditCheckpointRow, AuditEntryRow, AuditHeadRow


def mark_entries(store: Store, entries: Sequence[AuditEntry], *, key: bytes | None = None) -> dict[int, BreakKind]:
    """For each of ``entries`` that verification would reject, its seq and why: ``outside`` the
    chain (numbered at or before its start, or twice), ``head`` (after the head), ``changed``,
    ``removed`` or ``reordered`` (its own hash or its link to the entry before), or ``signature``
    (the head entry, when the head's signature does not verify under ``key``; not checked without
    it). Entries that pass are absent."""
    seqs = [entry.seq for entry in entries]
    if not seqs:
        return {}
    marks: dict[int, BreakKind] = {}
    with store.session(write=False) as session:
        checkpoint = session.get(AuditCheckpointRow, HEAD_ID)
        start_seq, start_hash = (checkpoint.seq, checkpoint.hash) if checkpoint is not None else (0, GENESIS_HASH)
        head = session.execute(
            select(AuditHeadRow.seq, AuditHeadRow.hash, AuditHeadRow.signed_from, AuditHeadRow.signature)
        ).one_or_none()
        twice = set(
            session.scalars(
                select(AuditEntryRow.seq)
                .where(AuditEntryRow.seq.in_(seqs))
                .group_by(AuditEntryRow.seq)
                .having(func.count() > 1)
            )
        )
        before: dict[int, str] = {
            seq: hash_
            for seq, hash_ in session.execute(
                select(AuditEntryRow.seq, AuditEntryRow.hash).where(AuditEntryRow.seq.in_([s - 1 for s in seqs]))
            )
        }
        for entry in entries:
            if entry.seq <= start_seq or entry.seq in twice:
                marks[entry.seq] = "outside"
            elif head is not None and entry.seq > head.seq:
                marks[entry.seq] = "head"
            else:
                prev_hash = start_hash if entry.seq - 1 == start_seq else before.get(entry.seq - 1)
                if prev_hash is None:
                    marks[entry.seq] = "removed"  # the entry before it is gone
                    continue
                problem = check_entry(session, entry.row_values(), entry.seq - 1, prev_hash)
                if problem is not None:
                    marks[entry.seq] = problem.kind
        if head is not None and head.seq in seqs and head.seq not in marks:
            _, problem = check_signature(session, head, start_seq, signing_key(key) if key is not None else None)
            if problem is not None:
                marks[head.seq] = "signature"
    return marks
