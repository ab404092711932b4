"""Which key a state store was made with: recorded once, checked before any keyed work.

Identities are sealed and hashed under the installation's key. A store read with another key
would find nobody: "may we contact jane?" would answer yes for a person who withdrew, "is she
restricted?" no. So the store records its key's fingerprint (:func:`datavow.secrets.fingerprint`)
the first time a key is used with it, and every later use checks the key against it: a missing
key, a different key or an unfinished rotation is a :class:`~datavow.errors.SecretError` before
anything is read or written. A check that passed is kept on the :class:`Store`, so an application
object checks its key once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from datavow.errors import SecretError
from datavow.secrets import KEY_ENV, create_key, fingerprint, key_file, key_source, read_key, short_fingerprint
from datavow.store.engine import Store
from datavow.store.models.key import KEY_ROW_ID, StoreKeyRow


@dataclass(frozen=True)
class StoreKey:
    """What a store records of its key: the fingerprint, since when, and a rotation under way."""

    fingerprint: str
    recorded_at: datetime
    rotating_to: str | None = None
    rotation_started_at: datetime | None = None
    rotation_step: str | None = None
    rotation_after: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "recorded_at": self.recorded_at.isoformat(),
            "rotating_to": self.rotating_to,
            "rotation_started_at": self.rotation_started_at.isoformat() if self.rotation_started_at else None,
            "rotation_step": self.rotation_step,
        }


def recorded_key(store: Store) -> StoreKey | None:
    """The store's record of its key, or ``None`` when no key was used with it yet."""
    with store.session(write=False) as session:
        row = session.get(StoreKeyRow, KEY_ROW_ID)
        return None if row is None else _record(row)


def store_key(store: Store, state_dir: Path) -> bytes:
    """The installation's key (``$DATAVOW_SECRET_KEY``, else the key file in ``state_dir``), checked
    against the store (:func:`check_key`)."""
    key, where = read_key(state_dir)
    check_key(store, key, where=where, state_dir=state_dir)
    return key


def given_or_stored_key(store: Store | None, state_dir: Path, key: bytes | None = None) -> bytes:
    """``key`` when given, else the installation's; checked against ``store`` when there is one
    (a library caller may work on its own databases without a state store)."""
    if store is None:
        return key if key is not None else read_key(state_dir)[0]
    if key is None:
        return store_key(store, state_dir)
    check_key(store, key, state_dir=state_dir)
    return key


def check_key(store: Store, key: bytes, *, where: str | None = None, state_dir: Path | None = None) -> None:
    """Refuse ``key`` unless it is the store's key and no rotation is unfinished; a store that has
    no key recorded yet records this one. ``where`` and ``state_dir`` only make the message precise."""
    if store.checked_key == key:
        return
    mine = fingerprint(key)
    recorded = recorded_key(store) or _record_first(store, mine)
    _judge(store, recorded, mine, where, state_dir)
    store.checked_key = key


def check_key_in(
    session: Session, store: Store, key: bytes, *, where: str | None = None, state_dir: Path | None = None
) -> None:
    """:func:`check_key` in the caller's write transaction: a first fingerprint is recorded in it,
    not in a transaction of its own that would wait for the caller's."""
    if store.checked_key == key:
        return
    mine = fingerprint(key)
    row = session.get(StoreKeyRow, KEY_ROW_ID)
    if row is None:
        try:
            with session.begin_nested():
                session.add(StoreKeyRow(id=KEY_ROW_ID, fingerprint=mine, recorded_at=datetime.now(UTC)))
        except IntegrityError:
            pass  # another process recorded one first: that one stands
        row = session.get(StoreKeyRow, KEY_ROW_ID, populate_existing=True)
        assert row is not None, "the row that refused ours is there"
    _judge(store, _record(row), mine, where, state_dir)
    store.checked_key = key


def _judge(store: Store, recorded: StoreKey, mine: str, where: str | None, state_dir: Path | None) -> None:
    if recorded.rotating_to is not None:
        raise SecretError(
            f"a rotation of the secret key of the state store at {store.url} is unfinished (started "
            f"{recorded.rotation_started_at:%Y-%m-%d %H:%M} UTC, at {recorded.rotation_step}): nothing else may use "
            "the key until it is finished; run the rotation again, with the same key files, to finish it",
            field="key_rotation",
        )
    if recorded.fingerprint != mine:
        source = where or "the key given"
        place = f"the key file {key_file(state_dir)}" if state_dir is not None else "the key file"
        raise SecretError(
            f"the secret key from {source} (fingerprint {short_fingerprint(mine)}) is not the key the state store "
            f"at {store.url} was made with (fingerprint {short_fingerprint(recorded.fingerprint)}); nothing was read "
            f"or written with it. Restore {place} from its backup, or set ${KEY_ENV} to the store's key",
            field="secret_key",
        )


def _record_first(store: Store, mine: str) -> StoreKey:
    """Record ``mine`` as the store's key; if another process recorded one first, that one stands."""
    try:
        with store.session() as session:
            existing = session.get(StoreKeyRow, KEY_ROW_ID)
            if existing is not None:
                return _record(existing)
            row = StoreKeyRow(id=KEY_ROW_ID, fingerprint=mine, recorded_at=datetime.now(UTC))
            session.add(row)
            session.flush()
            return _record(row)
    except IntegrityError:
        pass  # another process inserted the row between our read and our write
    found = recorded_key(store)
    assert found is not None, "the row that refused ours is there"
    return found


def _record(row: StoreKeyRow) -> StoreKey:
    return StoreKey(
        fingerprint=row.fingerprint,
        recorded_at=row.recorded_at,
        rotating_to=row.rotating_to,
        rotation_started_at=row.rotation_started_at,
        rotation_step=row.rotation_step,
        rotation_after=row.rotation_after,
    )


@dataclass(frozen=True)
class KeyStatus:
    """Where the installation's key comes from, its fingerprint, and whether it is the store's."""

    source: str  # "$DATAVOW_SECRET_KEY" or the key file's path
    key_file: Path
    fingerprint: str | None  # None: there is no key, or it cannot be read (``problem`` says why)
    store_fingerprint: str | None  # None: no key was used with the store yet
    rotating_to: str | None
    problem: str | None

    @property
    def ok(self) -> bool:
        """There is a key, it is the store's (or the store has none yet), and no rotation is unfinished."""
        return self.problem is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "source": self.source,
            "key_file": str(self.key_file),
            "fingerprint": self.fingerprint,
            "store_fingerprint": self.store_fingerprint,
            "matches": self.fingerprint is not None and self.fingerprint == self.store_fingerprint,
            "rotation_unfinished": self.rotating_to is not None,
            "problem": self.problem,
        }


def key_status(store: Store | None, state_dir: Path) -> KeyStatus:
    """The installation's key as ``store`` sees it, without refusing anything and without recording
    a fingerprint: what is wrong, if anything, is in :attr:`KeyStatus.problem`."""
    recorded = recorded_key(store) if store is not None else None
    source = key_source(state_dir)
    mine: str | None = None
    problem: str | None = None
    try:
        mine = fingerprint(read_key(state_dir)[0])
    except SecretError as exc:
        problem = str(exc)
    if problem is None and recorded is not None:
        if recorded.rotating_to is not None:
            problem = "a rotation of the key is unfinished: run it again to finish it"
        elif recorded.fingerprint != mine:
            problem = (
                f"the key from {source} is not the key the state store was made with: restore the key file "
                f"from its backup, or set ${KEY_ENV} to the store's key"
            )
    return KeyStatus(
        source,
        key_file(state_dir),
        mine,
        recorded.fingerprint if recorded else None,
        recorded.rotating_to if recorded else None,
        problem,
    )


def create_installation_key(store: Store | None, state_dir: Path) -> KeyStatus:
    """Make the installation's key file in ``state_dir`` (0600, in a 0700 folder) and record its
    fingerprint in ``store``. Refused while ``$DATAVOW_SECRET_KEY`` is set (that is the key), when a
    key file is there, or when the store was made with a key already: a new key would open none of
    its data, so that key must be restored instead."""
    if os.environ.get(KEY_ENV) is not None:
        raise SecretError(
            f"${KEY_ENV} is set: that is the installation's key, and no key file is made; unset it to make one",
            field="secret_key",
        )
    path = key_file(state_dir)
    if path.exists():
        raise SecretError(f"there is a key file at {path} already: it is kept, and no new key was made")
    if store is not None and (recorded := recorded_key(store)) is not None:
        raise SecretError(
            f"the state store at {store.url} was made with a key already (fingerprint "
            f"{short_fingerprint(recorded.fingerprint)}): a new key would open none of its data. Restore that key "
            f"file from its backup, or set ${KEY_ENV} to it",
            field="secret_key",
        )
    create_key(state_dir)
    if store is not None:
        store_key(store, state_dir)
    return key_status(store, state_dir)
