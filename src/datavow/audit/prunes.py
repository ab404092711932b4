"""Whether each prune of the audit log was one the map's audit retention allowed, and whether the
checkpoint it left is the one the chain records, signed with the key.

A prune's ``audit.pruned`` entry records the range it removed (``from_seq`` … ``through_seq``),
the time of the last entry it removed (``through_ts``) and the moment the sweep ran (``at``). The
map's ``retention.own.audit_log`` allows it only when that last entry was at least the period old
at that moment; when the map sets no period, no prune is allowed.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from datavow.audit.breaks import ChainBreak
from datavow.audit.signing import PRUNED, checkpoint_signature, latest_prune, signature_matches
from datavow.datamap.model import Duration
from datavow.store.models import AuditCheckpointRow, AuditEntryRow


def check_checkpoint(session: Session, checkpoint: AuditCheckpointRow, subkey: bytes | None) -> ChainBreak | None:
    """The checkpoint must be the one the latest ``audit.pruned`` entry recorded and, when the log
    was signed at the time of that prune, carry the signature of it and of the pruned range."""
    prune = latest_prune(session, checkpoint.seq)
    if prune is None or (
        prune[1].get("through_seq") != checkpoint.seq or prune[1].get("through_hash") != checkpoint.hash
    ):
        return ChainBreak(
            "removed",
            checkpoint.seq,
            f"the log starts after #{checkpoint.seq}, but no audit.pruned entry records a prune up to it: "
            "entries were removed, or the checkpoint was rewritten",
        )
    seq, recorded = prune
    if recorded.get("signed_from") is None:
        return None  # pruned while the log was unsigned: nothing to check but the chain
    if checkpoint.signature is None:
        return ChainBreak(
            "signature",
            seq,
            f"the checkpoint at #{checkpoint.seq} carries no signature, though the log was signed when "
            f"entry #{seq} pruned up to it: the checkpoint was rewritten",
        )
    expected = (
        checkpoint_signature(subkey, checkpoint.seq, checkpoint.hash, checkpoint.pruned, recorded)
        if subkey is not None
        else None
    )
    if expected is not None and not signature_matches(expected, checkpoint.signature):
        return ChainBreak(
            "signature",
            seq,
            f"the checkpoint at #{checkpoint.seq} and the range entry #{seq} pruned are not signed with this "
            "installation's key: the checkpoint or the pruned range was rewritten",
        )
    return None


def check_prunes(
    session: Session, start_seq: int, period: Duration | None, signed_from: int | None
) -> list[ChainBreak]:
    """Every ``audit.pruned`` entry in the log, checked against the map's audit retention
    ``period`` (``None``: the map sets none, so no prune is allowed)."""
    rows = session.execute(
        select(AuditEntryRow.seq, AuditEntryRow.details)
        .where(AuditEntryRow.action == PRUNED, AuditEntryRow.seq > start_seq)
        .order_by(AuditEntryRow.seq)
    ).all()
    problems: list[ChainBreak] = []
    for seq, text in rows:
        problem = _check_prune(seq, _details(text), period, signed_from is not None and seq >= signed_from)
        if problem is not None:
            problems.append(problem)
    return problems


def _details(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _check_prune(seq: int, recorded: dict[str, Any], period: Duration | None, signed: bool) -> ChainBreak | None:
    first, last = recorded.get("from_seq"), recorded.get("through_seq")
    what = f"entry #{seq} records a prune of entries #{first} to #{last}"
    if period is None:
        return ChainBreak("pruned", seq, f"{what}, but the map sets no audit retention, so no prune is allowed")
    through_ts, at = _moment(recorded.get("through_ts")), _moment(recorded.get("at"))
    if through_ts is None or at is None:
        if not signed:
            return None  # a prune from before prunes recorded their times, in the unsigned part of the log
        return ChainBreak("pruned", seq, f"{what}, but it does not record when they were written and when it ran")
    if through_ts > period.before(at):
        return ChainBreak(
            "pruned",
            seq,
            f"{what}, but #{last} was written at {recorded['through_ts']} and the map keeps the audit log "
            f"for {period}: it was younger than that when the prune ran at {recorded['at']}",
        )
    return None


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
