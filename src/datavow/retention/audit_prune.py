"""Pruning the oldest audit entries, as the map's ``retention.own.audit_log`` says, without
breaking what verification can prove.

A prune removes a *prefix* of the log (the oldest entries, never the last one) in one
transaction that, holding the append lock,

1. appends an ``audit.pruned`` entry naming the last entry it removes (``through_seq``,
   ``through_hash``) and how many it removes, chained like any other entry;
2. writes the checkpoint (``audit_checkpoint``): that same seq and hash;
3. deletes the entries up to it.

Verification then starts the chain at the checkpoint, and refuses a checkpoint that no
``audit.pruned`` entry in the chain confirms: entries removed any other way are still reported
as removed. Nothing can be pruned that is younger than the period.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import sqlalchemy as sa

from datavow.audit.entry import format_timestamp
from datavow.audit.log import append
from datavow.audit.signing import PRUNED, checkpoint_signature, session_signing_key
from datavow.datamap.model import Duration
from datavow.retention.work import Chunk, Due
from datavow.store import Store
from datavow.store.models import HEAD_ID, AuditCheckpointRow, AuditEntryRow, AuditHeadRow


class AuditPrune:
    """The audit log as a sweep work: entries older than ``period`` go, oldest first."""

    label = "datavow.audit_log"
    does = "prune the oldest entries"

    def __init__(self, store: Store, period: Duration, now: datetime, actor: str = "datavow") -> None:
        self.store, self.now, self.cutoff, self.actor = store, now, period.before(now), actor

    def _old(self) -> sa.ColumnElement[bool]:
        # never the last entry: the head stays, and with it the chain's anchor
        last = sa.select(sa.func.max(AuditEntryRow.seq)).scalar_subquery()
        return sa.and_(AuditEntryRow.ts <= self.cutoff, AuditEntryRow.seq < last)

    def due(self) -> Due:
        statement = sa.select(sa.func.count(), sa.func.min(AuditEntryRow.ts)).where(self._old())
        with self.store.session(write=False) as session:
            rows, oldest = session.execute(statement).one()
        return Due(int(rows), oldest, 0)

    def chunk(self, rows: int) -> Chunk:
        started = time.perf_counter()
        with self.store.session() as session:
            first = session.scalar(sa.select(sa.func.min(AuditEntryRow.seq)))
            if first is None:
                return Chunk(0)
            # the prefix: entries from the first on, up to the first one that is not old enough
            young = session.scalar(sa.select(sa.func.min(AuditEntryRow.seq)).where(sa.not_(self._old())))
            through = min(first + rows - 1, (young - 1) if young is not None else first - 1)
            if through < first:
                return Chunk(0)
            through_hash, through_ts = session.execute(
                sa.select(AuditEntryRow.hash, AuditEntryRow.ts).where(AuditEntryRow.seq == through)
            ).one()
            count = through - first + 1
            checkpoint = session.get(AuditCheckpointRow, HEAD_ID)
            total = (checkpoint.pruned if checkpoint is not None else 0) + count
            # The range, with when its last entry was written and when the sweep ran, so that
            # verification can hold it to the map's retention; and whether the log was signed.
            recorded = {
                "from_seq": first,
                "through_seq": through,
                "through_hash": through_hash,
                "entries": count,
                "through_ts": format_timestamp(through_ts),
                "at": format_timestamp(self.now),
                "signed_from": session.scalar(sa.select(AuditHeadRow.signed_from).where(AuditHeadRow.id == HEAD_ID)),
            }
            entry = append(
                session,
                self.actor,
                PRUNED,
                "audit_log",
                "audit_log",
                f"entries older than {self.cutoff:%Y-%m-%d} are past the audit log's retention period",
                recorded,
            )
            if checkpoint is None:
                checkpoint = AuditCheckpointRow(id=HEAD_ID, seq=through, hash=through_hash, pruned=total)
                session.add(checkpoint)
            else:
                checkpoint.seq, checkpoint.hash, checkpoint.pruned = through, str(through_hash), total
            checkpoint.pruned_at = datetime.now(UTC)
            subkey = session_signing_key(session)
            checkpoint.signature = None
            if subkey is not None and recorded["signed_from"] is not None:
                checkpoint.signature = checkpoint_signature(subkey, through, through_hash, total, entry.details)
            session.execute(sa.delete(AuditEntryRow).where(AuditEntryRow.seq <= through))
        return Chunk(count, {self.label: count}, seconds=time.perf_counter() - started)
