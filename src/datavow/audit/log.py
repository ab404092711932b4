"""Writing and reading the audit log.

Appends are serialised by locking the single head row (``SELECT … FOR UPDATE`` on PostgreSQL;
SQLite write sessions already hold the database lock from ``BEGIN IMMEDIATE``). The unique
``seq`` and ``prev_hash`` columns are the backstop: should two writers ever read the same head,
only one of them can commit, and :func:`append` retries the other.

When the store has a key, the head is signed in the same transaction (:mod:`datavow.audit.signing`):
the head's signature is checked before the log is extended, so a forged head is never signed
over, and the first signed append opens the signed part of the log with an ``audit.signed`` entry.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Table, bindparam, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from datavow.audit.entry import (
    ENTRY_COLUMNS,
    AuditEntry,
    canonical_json,
    entry_from_row,
)
from datavow.audit.signing import (
    SIGNED,
    head_signature,
    recorded_signing,
    session_signing_key,
    signature_matches,
)
from datavow.errors import AuditError, DatavowError, ErrorKind, SecretError
from datavow.store import Store, state_error
from datavow.store.models import HEAD_ID, AuditEntryRow, AuditHeadRow

_ACTION = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
_LIMITS = {"actor": 200, "action": 100, "object_type": 100, "object_id": 200}
_ATTEMPTS = 8
# PostgreSQL: serialization failure, deadlock, lock not available.
_RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03"}


class _ChainMoved(Exception):
    """The head changed between reading and updating it: another writer got there first."""


def append(
    target: Store | Session,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    reason: str | None = None,
    details: Mapping[str, object] | None = None,
) -> AuditEntry:
    """Append one entry to the audit log and return it.

    ``target`` is either a :class:`~datavow.store.Store`, and the entry is committed in its own
    transaction (retried if another writer wins the race), or a session from
    ``store.session()``, and the entry joins the caller's transaction: the action and its audit
    entry commit together or not at all. The head stays locked until that transaction ends,
    so keep it short.

    ``action`` is a dotted lower-case name such as ``request.erased``; ``details`` must be a
    JSON object.
    """
    fields = _checked_fields(actor, action, object_type, object_id, reason, details)
    if isinstance(target, Session):
        try:
            return _append_locked(target, fields)
        except _ChainMoved as exc:
            raise AuditError(
                "another writer appended to the audit log during this transaction: roll the "
                "transaction back and run it again",
                kind=ErrorKind.CONFLICT,
            ) from exc
        except DBAPIError as exc:
            raise _translate(exc, _masked_url(target)) from exc
    return _append_retrying(target, fields)


def list_entries(
    store: Store,
    *,
    since: datetime | None = None,
    after_seq: int | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    actor: str | None = None,
    limit: int | None = None,
    newest_first: bool = False,
) -> list[AuditEntry]:
    """Entries matching every filter given, in ``seq`` order (or newest first).

    ``since`` keeps entries at or after a timezone-aware time; ``after_seq`` entries after a
    sequence number (for paging). ``action`` matches exactly, or as a pattern with ``*``
    (``request.*``).
    """
    query = select(*ENTRY_COLUMNS)
    if since is not None:
        if since.tzinfo is None:
            raise AuditError(
                "since must be timezone-aware: pass tzinfo=UTC (or an offset)", kind=ErrorKind.INVALID, field="since"
            )
        query = query.where(AuditEntryRow.ts >= since)
    if after_seq is not None:
        query = query.where(AuditEntryRow.seq > after_seq)
    if action is not None:
        query = query.where(_match(action))
    for column, value in (
        (AuditEntryRow.object_type, object_type),
        (AuditEntryRow.object_id, object_id),
        (AuditEntryRow.actor, actor),
    ):
        if value is not None:
            query = query.where(column == value)
    query = query.order_by(AuditEntryRow.seq.desc() if newest_first else AuditEntryRow.seq)
    if limit is not None:
        if limit < 1:
            raise AuditError(f"limit must be at least 1, not {limit}", kind=ErrorKind.INVALID, field="limit")
        query = query.limit(limit)
    with store.session(write=False) as session:
        rows = session.execute(query).mappings().all()
    try:
        return [entry_from_row(row) for row in rows]
    except ValueError as exc:
        raise AuditError(f"{exc}: the log was edited by hand; verify the audit chain to find where") from exc


def _masked_url(session: Session) -> str:
    return session.get_bind().engine.url.render_as_string(hide_password=True)


def _match(action: str) -> ColumnElement[bool]:
    if "*" not in action:
        return AuditEntryRow.action == action
    escaped = action.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return AuditEntryRow.action.like(escaped.replace("*", "%"), escape="\\")


def _checked_fields(
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    reason: str | None,
    details: Mapping[str, object] | None,
) -> dict[str, Any]:
    """The caller's fields of an :class:`AuditEntry`, validated the same way on every database
    before any lock is taken; seq, time and hashes are added under the lock."""
    named = {"actor": actor, "action": action, "object_type": object_type, "object_id": object_id}
    for name, value in named.items():
        if not isinstance(value, str) or not value.strip():
            raise AuditError(
                f"an audit entry needs a non-empty {name} (a string), got {value!r}", kind=ErrorKind.INVALID, field=name
            )
        if len(value) > _LIMITS[name]:
            raise AuditError(
                f"{name} is longer than {_LIMITS[name]} characters: {value[:40]!r}…", kind=ErrorKind.INVALID, field=name
            )
    if not _ACTION.fullmatch(action):
        raise AuditError(
            f"action {action!r} is not a dotted lower-case name: use e.g. 'request.erased'",
            kind=ErrorKind.INVALID,
            field="action",
        )
    if reason is not None and not isinstance(reason, str):
        raise AuditError(
            f"reason must be text or None, got {type(reason).__name__}", kind=ErrorKind.INVALID, field="reason"
        )
    try:
        # Round-trip through canonical JSON: what is hashed is exactly what will be read back
        # (tuples become lists, integer keys become strings).
        details_text = canonical_json(dict(details or {}))
    except (TypeError, ValueError) as exc:
        raise AuditError(
            f"details must be JSON (strings, numbers, booleans, null, lists, objects): {exc}",
            kind=ErrorKind.INVALID,
            field="details",
        ) from exc
    return {**named, "reason": reason, "details": json.loads(details_text)}


def _append_retrying(store: Store, fields: dict[str, Any]) -> AuditEntry:
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            with store.session() as session:
                entry = _append_locked(session, fields)
            return entry
        except _ChainMoved as exc:
            if attempt == _ATTEMPTS:
                raise AuditError(
                    f"could not append to the audit log after {_ATTEMPTS} attempts: other "
                    "writers kept moving its head. Try again",
                    kind=ErrorKind.CONFLICT,
                ) from exc
        except DBAPIError as exc:
            if attempt == _ATTEMPTS or not _is_conflict(exc):
                raise _translate(exc, store.url) from exc
        time.sleep(0.01 * 2**attempt)  # back off (20 ms, 40 ms, …) so the winner can finish
    raise AssertionError("unreachable: the last attempt returns or raises")


# Built once: an append runs these three with new values (building them anew each time cost more
# than running them on SQLite).
_ENTRIES = cast(Table, AuditEntryRow.__table__)
_HEADS = cast(Table, AuditHeadRow.__table__)
_HEAD = (
    select(AuditHeadRow.seq, AuditHeadRow.hash, AuditHeadRow.signed_from, AuditHeadRow.signature)
    .where(AuditHeadRow.id == HEAD_ID)
    .with_for_update()
)
_INSERT = insert(_ENTRIES)
_MOVE_HEAD = (
    update(_HEADS)
    .where(_HEADS.c.id == HEAD_ID, _HEADS.c.seq == bindparam("head_seq"), _HEADS.c.hash == bindparam("head_hash"))
    .values(
        seq=bindparam("new_seq"),
        hash=bindparam("new_hash"),
        signed_from=bindparam("signed_from"),
        signature=bindparam("signature"),
    )
)
_MARKER_FIELDS = {
    "actor": "datavow",
    "action": SIGNED,
    "object_type": "audit_log",
    "object_id": "audit_log",
    "reason": "the audit log is signed from this entry on",
    "details": {},
}


def _append_locked(session: Session, fields: dict[str, Any]) -> AuditEntry:
    head = session.execute(_HEAD).one_or_none()
    if head is None:
        raise AuditError(
            "the audit head record is missing, so the log cannot be extended safely: run "
            "a verification of the audit chain and restore the state store from a backup"
        )
    subkey = session_signing_key(session)
    signed_from: int | None = head.signed_from
    if subkey is None:
        if head.signature is not None or signed_from is not None:
            raise SecretError(
                "the audit log is signed, so it can only be extended with the installation's key: open the "
                "state store with the key"
            )
    elif head.signature is None:
        _check_never_signed(session, head.seq)
    elif signed_from is None or not signature_matches(
        head_signature(subkey, head.seq, head.hash, signed_from), head.signature
    ):
        raise AuditError(
            f"the audit log's head (#{head.seq}) does not carry this key's signature, so the log is not "
            "extended: the head was rewritten, or this is not the key the log was signed with. Verify the "
            "audit chain"
        )
    prev_seq, prev_hash = head.seq, head.hash
    if subkey is not None and signed_from is None:
        # The first signed append: an entry in the chain itself says the log is signed from here.
        marker = _insert_entry(session, prev_seq, prev_hash, _MARKER_FIELDS)
        signed_from, prev_seq, prev_hash = marker.seq, marker.seq, marker.hash
    entry = _insert_entry(session, prev_seq, prev_hash, fields)
    signature = None
    if subkey is not None and signed_from is not None:
        signature = head_signature(subkey, entry.seq, entry.hash, signed_from)
    # Guarded update: if the head moved since it was read, nothing changes and we retry.
    moved = session.execute(
        _MOVE_HEAD,
        {
            "head_seq": head.seq,
            "head_hash": head.hash,
            "new_seq": entry.seq,
            "new_hash": entry.hash,
            "signed_from": signed_from,
            "signature": signature,
        },
    )
    if cast(CursorResult[Any], moved).rowcount != 1:
        raise _ChainMoved()
    return entry


def _insert_entry(session: Session, prev_seq: int, prev_hash: str, fields: dict[str, Any]) -> AuditEntry:
    entry = AuditEntry(seq=prev_seq + 1, ts=datetime.now(UTC), prev_hash=prev_hash, hash="", **fields).sealed()
    session.execute(_INSERT, entry.row_values())
    return entry


def _check_never_signed(session: Session, head_seq: int) -> None:
    """An unsigned head is only extended when no ``audit.signed`` entry says the log was signed:
    otherwise its signature was removed, and signing over it would vouch for a forgery."""
    marker = recorded_signing(session)
    if marker is not None:
        raise AuditError(
            f"the audit log is signed from #{marker}, but its head (#{head_seq}) carries no signature: the "
            "head was rewritten, so the log is not extended. Verify the audit chain"
        )


def _is_conflict(exc: DBAPIError) -> bool:
    if isinstance(exc, IntegrityError):
        return True  # a unique seq/prev_hash lost the race
    if getattr(exc.orig, "sqlstate", None) in _RETRYABLE_SQLSTATES:
        return True
    message = str(exc.orig).lower()
    return isinstance(exc, OperationalError) and ("locked" in message or "busy" in message)


def _translate(exc: DBAPIError, url: str) -> DatavowError:
    return state_error(exc, url, "append to the audit log", AuditError)
