"""Signing the audit log with a key kept outside the store.

A writer to the database can recompute SHA-256 hashes; it cannot compute an HMAC without the
installation's key. So the head (its seq and hash, and the entry from which the log is signed) is
signed in the same transaction as every append, and the checkpoint a prune leaves is signed with
the range it pruned. The chain links every entry to the head, so a signed head vouches for the
whole log up to it.

The key is derived from the installation's key for this one purpose (:func:`signing_key`);
:func:`resign` moves every signature to a new key when the installation's key is rotated.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datavow.audit.entry import canonical_json
from datavow.errors import AuditError, SecretError
from datavow.secrets import derive
from datavow.store.engine import KEY_INFO
from datavow.store.models import HEAD_ID, AuditCheckpointRow, AuditEntryRow, AuditHeadRow

#: The purpose the signing key is derived for (:func:`datavow.secrets.derive`).
PURPOSE = "audit-signing"
#: The action of the entry that opens the signed part of a log: removing the head's signature
#: while this entry stands is noticed (see ``docs/audit.md``).
SIGNED = "audit.signed"
#: The action of the entry a prune appends, naming the last entry it removed (see
#: :mod:`datavow.retention.audit_prune`).
PRUNED = "audit.pruned"


def signing_key(key: bytes) -> bytes:
    """The audit log's signing key, derived from the installation's ``key``."""
    return derive(key, PURPOSE)


def session_signing_key(session: Session) -> bytes | None:
    """The signing key of the store this session belongs to, or ``None`` when it has no key."""
    source = session.info.get(KEY_INFO)
    return signing_key(source(session)) if source is not None else None


def head_signature(subkey: bytes, seq: int, hash_: str, signed_from: int) -> str:
    """The HMAC of a head: its last entry and the entry from which the log is signed."""
    return _mac(subkey, {"head": {"seq": seq, "hash": hash_, "signed_from": signed_from}})


def checkpoint_signature(subkey: bytes, seq: int, hash_: str, pruned: int, recorded: Mapping[str, Any]) -> str:
    """The HMAC of a checkpoint and of the range its ``audit.pruned`` entry ``recorded``."""
    return _mac(subkey, {"checkpoint": {"seq": seq, "hash": hash_, "pruned": pruned}, "range": dict(recorded)})


def signature_matches(expected: str, given: str | None) -> bool:
    """Whether ``given`` is ``expected``, compared in constant time."""
    return given is not None and hmac.compare_digest(expected, given)


def _mac(subkey: bytes, message: Mapping[str, Any]) -> str:
    return hmac.new(subkey, canonical_json(message).encode("utf-8"), hashlib.sha256).hexdigest()


def latest_prune(session: Session, after_seq: int) -> tuple[int, dict[str, Any]] | None:
    """The seq and details of the latest ``audit.pruned`` entry after ``after_seq``, if any."""
    row = session.execute(
        select(AuditEntryRow.seq, AuditEntryRow.details)
        .where(AuditEntryRow.action == PRUNED, AuditEntryRow.seq > after_seq)
        .order_by(AuditEntryRow.seq.desc())
        .limit(1)
    ).one_or_none()
    if row is None:
        return None
    try:
        details = json.loads(row.details)
    except ValueError:
        details = None
    return row.seq, details if isinstance(details, dict) else {}


def recorded_signing(session: Session, after_seq: int = 0) -> int | None:
    """The entry from which the chain itself says the log is signed: its ``audit.signed`` entry
    (after ``after_seq``, a pruned log's start) or, once that entry is pruned, what the latest
    prune recorded; ``None`` when the log was never signed. Whatever the head record says, a head
    without a signature in a log that records one was stripped of it."""
    marker = session.scalar(
        select(func.min(AuditEntryRow.seq)).where(AuditEntryRow.action == SIGNED, AuditEntryRow.seq > after_seq)
    )
    if marker is not None:
        return int(marker)
    prune = latest_prune(session, after_seq)
    recorded = prune[1].get("signed_from") if prune is not None else None
    return recorded if isinstance(recorded, int) else None


def resign(session: Session, old: bytes, new: bytes) -> int:
    """Sign the audit log's head and checkpoint again with the installation's ``new`` key, in the
    caller's transaction; return how many signatures were moved.

    Each signature must verify under the ``old`` key first: a head forged while the old key was in
    use is not laundered by the rotation (:class:`~datavow.errors.SecretError` names it). An
    unsigned log stays unsigned; its next append signs it.
    """
    old_key, new_key = signing_key(old), signing_key(new)
    moved = 0
    head = session.get(AuditHeadRow, HEAD_ID, with_for_update=True)
    if head is None:
        raise AuditError("the audit head record is missing: restore the state store from a backup before rotating")
    if head.signature is not None:
        if head.signed_from is None or not signature_matches(
            head_signature(old_key, head.seq, head.hash, head.signed_from), head.signature
        ):
            raise SecretError(
                f"the audit log's head (#{head.seq}) is not signed with the old key: it was rewritten, or the "
                "old key is not the one the log was signed with; verify the audit chain before rotating"
            )
        head.signature = head_signature(new_key, head.seq, head.hash, head.signed_from)
        moved += 1
    checkpoint = session.get(AuditCheckpointRow, HEAD_ID, with_for_update=True)
    if checkpoint is not None and checkpoint.signature is not None:
        prune = latest_prune(session, checkpoint.seq)
        recorded = prune[1] if prune is not None else {}
        if not signature_matches(
            checkpoint_signature(old_key, checkpoint.seq, checkpoint.hash, checkpoint.pruned, recorded),
            checkpoint.signature,
        ):
            raise SecretError(
                f"the audit log's checkpoint (#{checkpoint.seq}) is not signed with the old key; verify the "
                "audit chain before rotating"
            )
        checkpoint.signature = checkpoint_signature(
            new_key, checkpoint.seq, checkpoint.hash, checkpoint.pruned, recorded
        )
        moved += 1
    return moved
