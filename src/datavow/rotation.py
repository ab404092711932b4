"""Rotating the installation's key: every sealed value and keyed hash in the state store, again
under a new key, resumably.

A rotation is a list of steps (:data:`STEPS`), one per kind of keyed data; another kind is one
more line there. Each step goes through its rows in batches, and each batch is committed together
with the rotation's progress in the store (``store_key``: the step and the last row done), so a
rotation killed at any point and run again finishes exactly, never sealing a value twice. While it
is unfinished, every other use of the key is refused (:func:`datavow.store.key.check_key`).

The new key is written beside the old one (``secret.key.new``) before the store hears of it; when
every step is done it becomes ``secret.key``, the old one is kept as ``secret.key.retired`` (for
packages sealed before the rotation, see ``docs/key.md``), and the store records the new
fingerprint. Which file holds which key is told by fingerprint, so a rotation stopped between the
renames and the last commit resumes too. The audit log records ``key.rotation_started`` and
``key.rotated``.

Export packages and tenant returns on disk are not sealed again: they are deliveries that expire,
and the retired key opens them.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from datavow.audit import GENESIS_HASH, append, resign
from datavow.consent.imports import checksum_of
from datavow.consent.ledger import chain_hash
from datavow.consent.proof import rebuild_in, verify_ledger
from datavow.errors import SecretError
from datavow.plan.identity_keys import IdentityKeys, identity_keys
from datavow.secrets import (
    KEY_ENV,
    derive,
    fingerprint,
    key_file,
    new_key_text,
    parse_key,
    seal,
    short_fingerprint,
    unseal,
    write_key_file,
)
from datavow.store import Store
from datavow.store.key import recorded_key, store_key
from datavow.store.models import (
    CONSENT_HEAD_ID,
    KEY_ROW_ID,
    ConsentEventIdentityRow,
    ConsentEventRow,
    ConsentHeadRow,
    ConsentImportedRow,
    RequestDiscoveryRow,
    RequestIdentityRow,
    RequestRow,
    RestrictionIdentityRow,
    RestrictionRow,
    StoreKeyRow,
)

#: Rows sealed again per transaction.
BATCH = 500


@dataclass(frozen=True)
class Keys:
    """The key a rotation moves from and the one it moves to."""

    old: bytes
    new: bytes

    @property
    def old_identities(self) -> IdentityKeys:
        return identity_keys(self.old)

    @property
    def new_identities(self) -> IdentityKeys:
        return identity_keys(self.new)


#: One batch of a step: from after ``position`` (``None``: the start), re-key at most ``limit``
#: rows in ``session``; returns the last row done, or ``None`` when the step has no rows left.
Batch = Callable[[Session, Keys, str | None, int], str | None]


@dataclass(frozen=True)
class Step:
    """One kind of keyed data: its name (as the progress records it) and how a batch of it is re-keyed."""

    name: str
    batch: Batch
    #: After the last batch, in the same transaction: what depends on every row (a chain's head).
    finish: Callable[[Session, Keys], None] | None = None


def _after(position: str | None) -> int:
    return int(position) if position is not None else 0


def _sealed_identities(
    table: type[RequestRow] | type[RestrictionRow],
    links: type[RequestIdentityRow] | type[RestrictionIdentityRow],
    link_column: str,
    prefix: str,
) -> Batch:
    """Re-key a ledger whose rows seal a person's identities (bound to ``prefix:id``) and whose
    ``links`` hold one keyed hash per identity value."""

    def batch(session: Session, keys: Keys, position: str | None, limit: int) -> str | None:
        chosen = sa.select(table).where(table.id > _after(position)).order_by(table.id).limit(limit)
        rows = cast(Sequence[RequestRow | RestrictionRow], session.scalars(chosen).all())
        if not rows:
            return None
        old, new = keys.old_identities, keys.new_identities
        link = getattr(links, link_column)
        session.execute(sa.delete(links).where(link.in_([row.id for row in rows])))
        for row in rows:
            identities = old.unseal(row.identities, f"{prefix}:{row.id}")
            row.identities = new.seal(identities, f"{prefix}:{row.id}")
            session.add_all(links(**{link_column: row.id, "identity_hash": h}) for h in new.hashes(identities))
        return str(rows[-1].id)

    return batch


def _discoveries(session: Session, keys: Keys, position: str | None, limit: int) -> str | None:
    rows = session.scalars(
        sa.select(RequestDiscoveryRow)
        .where(RequestDiscoveryRow.request_id > _after(position))
        .order_by(RequestDiscoveryRow.request_id)
        .limit(limit)
    ).all()
    old, new = derive(keys.old, "discoveries"), derive(keys.new, "discoveries")
    for row in rows:
        context = f"discovery:{row.request_id}".encode()
        row.sealed = seal(new, unseal(old, row.sealed, context), context)
    return str(rows[-1].request_id) if rows else None


def _consent_events(session: Session, keys: Keys, position: str | None, limit: int) -> str | None:
    """Seal each event's identities again, hash them again, and chain the events again in order:
    an event's hash covers the keyed hashes of who it names."""
    after = _after(position)
    rows = session.scalars(
        sa.select(ConsentEventRow).where(ConsentEventRow.seq > after).order_by(ConsentEventRow.seq).limit(limit)
    ).all()
    if not rows:
        return None
    previous = session.scalar(sa.select(ConsentEventRow.hash).where(ConsentEventRow.seq == after))
    prev = previous if previous is not None else GENESIS_HASH
    old, new = keys.old_identities, keys.new_identities
    seqs = [row.seq for row in rows]
    imported = {
        row.seq: row for row in session.scalars(sa.select(ConsentImportedRow).where(ConsentImportedRow.seq.in_(seqs)))
    }
    session.execute(sa.delete(ConsentEventIdentityRow).where(ConsentEventIdentityRow.seq.in_(seqs)))
    for row in rows:
        identities = old.unseal(row.identities, f"consent:{row.seq}")
        old_hashes, new_hashes = old.hashes(identities), new.hashes(identities)
        row.identities = new.seal(identities, f"consent:{row.seq}")
        session.add_all(ConsentEventIdentityRow(identity_hash=h, seq=row.seq) for h in new_hashes)
        row.prev_hash = prev
        row.hash = prev = chain_hash(_content(row), new_hashes)
        if row.seq in imported:
            _rekey_checksum(session, imported[row.seq], row, old_hashes, new_hashes)
    session.flush()
    return str(rows[-1].seq)


def _content(row: ConsentEventRow) -> dict[str, Any]:
    return {column.name: getattr(row, column.key) for column in sa.inspect(ConsentEventRow).columns}


def _rekey_checksum(
    session: Session, done: ConsentImportedRow, row: ConsentEventRow, old: Sequence[str], new: Sequence[str]
) -> None:
    """An imported row's checksum covers who it named by keyed hash: work out which form the import
    gave it (a row with a time, or one without, counted within its batch), and give it again."""
    detail = row.source_detail or ""
    # the row's own source is what the event's detail says before "(file, line n)"
    sources = [""] + [detail[:at] for at in range(len(detail)) if detail.startswith(" (", at)]
    for (at, batch), source in itertools.product(((row.at, None), (None, done.batch_id)), sources):
        fields = (row.event, row.scope, at, batch, source, row.notice_hash, row.basis)
        if checksum_of(old, *fields) == done.checksum:
            replaced = checksum_of(new, *fields)
            session.execute(
                sa.update(ConsentImportedRow)
                .where(ConsentImportedRow.checksum == done.checksum)
                .values(checksum=replaced)
            )
            return
    raise SecretError(
        f"the checksum kept for consent event #{row.seq} of import {done.batch_id!r} matches none the import "
        "could have given it: the import record was changed; restore the state store from a backup"
    )


def _consent_head(session: Session, keys: Keys) -> None:
    newest = sa.select(ConsentEventRow.seq, ConsentEventRow.hash).order_by(ConsentEventRow.seq.desc()).limit(1)
    last = session.execute(newest).first()
    head = session.get(ConsentHeadRow, CONSENT_HEAD_ID)
    if head is not None and last is not None:
        head.seq, head.hash = last.seq, last.hash


def _consent_state(session: Session, keys: Keys, position: str | None, limit: int) -> str | None:
    """The derived state is keyed by identity hash: derived again from the re-keyed ledger, at once."""
    if position is not None:
        return None
    rebuild_in(session)
    return "derived"


def _audit_signatures(session: Session, keys: Keys, position: str | None, limit: int) -> str | None:
    """The audit log's head and checkpoint are signed with a key derived from the installation's
    (:func:`datavow.audit.resign`, which first checks each signature under the old key)."""
    if position is not None:
        return None
    resign(session, keys.old, keys.new)
    return "signed"


#: Every kind of keyed data in the state store, in the order a rotation re-keys them.
STEPS: tuple[Step, ...] = (
    Step("requests", _sealed_identities(RequestRow, RequestIdentityRow, "request_id", "request")),
    Step("discoveries", _discoveries),
    Step("restrictions", _sealed_identities(RestrictionRow, RestrictionIdentityRow, "restriction_id", "restriction")),
    Step("consent events", _consent_events, finish=_consent_head),
    Step("consent state", _consent_state),
    Step("audit signatures", _audit_signatures),
)


@dataclass(frozen=True)
class Rotation:
    """A finished rotation: the fingerprints it moved between, and where the keys are now."""

    old_fingerprint: str
    new_fingerprint: str
    key_file: Path
    retired_file: Path
    resumed: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "old_fingerprint": self.old_fingerprint,
            "new_fingerprint": self.new_fingerprint,
            "key_file": str(self.key_file),
            "retired_file": str(self.retired_file),
            "resumed": self.resumed,
        }


#: Called after each committed batch with the step's name and the last row it re-keyed.
Progress = Callable[[str, str], None]

NEW_SUFFIX = ".new"
RETIRED_SUFFIX = ".retired"


def rotate_key(
    store: Store, state_dir: Path, *, actor: str, batch: int = BATCH, progress: Progress | None = None
) -> Rotation:
    """Re-key everything :data:`STEPS` names under a new key, or finish a rotation that was stopped;
    see the module's documentation. The key must be the store's, from the key file: a key given by
    ``$DATAVOW_SECRET_KEY`` is rotated by whoever sets the variable."""
    if os.environ.get(KEY_ENV) is not None:
        raise SecretError(
            f"the key comes from ${KEY_ENV}: a rotation writes key files, so rotate with the key file in place of "
            "the variable, then set the variable to the new key",
            field="secret_key",
        )
    recorded = recorded_key(store)
    resumed = recorded is not None and recorded.rotating_to is not None
    signing: list[bytes] = []
    # the audit entries of the rotation are signed with the key the log is signed with at that moment
    own = Store(store.engine, key=lambda _session: signing[0])
    keys = _resume(store, state_dir) if resumed else _start(store, own, state_dir, actor, signing)
    signing[:] = [keys.old]
    _run_steps(own, keys, batch, progress)
    signing[:] = [keys.new]
    rotation = _finish(own, state_dir, keys, actor, resumed)
    store.checked_key = None
    return rotation


def _start(store: Store, own: Store, state_dir: Path, actor: str, signing: list[bytes]) -> Keys:
    old = store_key(store, state_dir)  # the store's key, recorded now if it never was
    signing[:] = [old]
    check = verify_ledger(store)
    if not check.ok:
        raise SecretError(
            f"the consent ledger does not verify ({check.message}): a rotation chains it again, which would hide "
            "that; restore the state store from a backup first"
        )
    new_path = _path(state_dir, NEW_SUFFIX)
    if not new_path.exists():
        write_key_file(new_path, new_key_text())
    new = _read(new_path)
    with own.session() as session:
        row = session.get(StoreKeyRow, KEY_ROW_ID, with_for_update=True)
        assert row is not None, "store_key recorded the row"
        row.rotating_to = fingerprint(new)
        row.rotation_started_at = datetime.now(UTC)
        row.rotation_step, row.rotation_after = STEPS[0].name, None
        details = {"from": short_fingerprint(fingerprint(old)), "to": short_fingerprint(fingerprint(new))}
        append(session, actor, "key.rotation_started", "key", details["from"], details=details)
    return Keys(old, new)


def _resume(store: Store, state_dir: Path) -> Keys:
    """The keys of the rotation under way, found among the key files by their fingerprints."""
    recorded = recorded_key(store)
    assert recorded is not None and recorded.rotating_to is not None
    candidates = [_path(state_dir, suffix) for suffix in ("", NEW_SUFFIX, RETIRED_SUFFIX)]
    found = {fingerprint(key): key for key in (_read(path) for path in candidates if path.exists())}
    if recorded.fingerprint not in found or recorded.rotating_to not in found:
        missing = "old" if recorded.fingerprint not in found else "new"
        raise SecretError(
            f"a rotation of the secret key is unfinished, and the {missing} key is in none of "
            f"{', '.join(str(path) for path in candidates)}: restore the key files from their backups",
            field="key_rotation",
        )
    return Keys(found[recorded.fingerprint], found[recorded.rotating_to])


def _run_steps(store: Store, keys: Keys, size: int, progress: Progress | None) -> None:
    names = [step.name for step in STEPS]
    while True:
        with store.session() as session:
            row = session.get(StoreKeyRow, KEY_ROW_ID, with_for_update=True)
            assert row is not None and row.rotation_step is not None
            if row.rotation_step == _DONE:
                return
            step = STEPS[names.index(row.rotation_step)]
            done = step.batch(session, keys, row.rotation_after, size)
            if done is not None:
                row.rotation_after = done
            else:
                if step.finish is not None:
                    step.finish(session, keys)
                following = names.index(step.name) + 1
                row.rotation_step = names[following] if following < len(names) else _DONE
                row.rotation_after = None
        if progress is not None:
            progress(step.name, done or "done")


#: The progress a rotation records once every step is done, before the key files are swapped.
_DONE = "keys"


def _finish(store: Store, state_dir: Path, keys: Keys, actor: str, resumed: bool) -> Rotation:
    current, new_path, retired = (_path(state_dir, suffix) for suffix in ("", NEW_SUFFIX, RETIRED_SUFFIX))
    if current.exists() and fingerprint(_read(current)) == fingerprint(keys.old):
        os.replace(current, retired)
    if new_path.exists():
        os.replace(new_path, current)
    old_print, new_print = fingerprint(keys.old), fingerprint(keys.new)
    with store.session() as session:
        row = session.get(StoreKeyRow, KEY_ROW_ID, with_for_update=True)
        assert row is not None
        row.fingerprint, row.recorded_at = new_print, datetime.now(UTC)
        row.rotating_to = row.rotation_started_at = row.rotation_step = row.rotation_after = None
        head = session.get(ConsentHeadRow, CONSENT_HEAD_ID)
        details: dict[str, Any] = {"from": short_fingerprint(old_print), "to": short_fingerprint(new_print)}
        details["steps"] = [step.name for step in STEPS]
        if head is not None:
            details.update(last_seq=head.seq, hash=head.hash)  # anchors the re-chained consent ledger
        append(session, actor, "key.rotated", "key", details["to"], details=details)
    return Rotation(old_print, new_print, current, retired, resumed)


def _path(state_dir: Path, suffix: str) -> Path:
    path = key_file(state_dir)
    return path.with_name(path.name + suffix)


def _read(path: Path) -> bytes:
    return parse_key(path.read_text(), str(path))
