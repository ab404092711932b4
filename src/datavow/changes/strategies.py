"""Field erasure strategies as SQL expressions, computed inside the database (Art. 17).

One small function per strategy. Each takes an :class:`Erasing` (one column, its declared
strategy, the dialect and the run's keys) and returns a :class:`Rewrite`: the expression the column
is set to, and the condition "this value is not erased yet". The second makes every rewrite
idempotent: a row already erased is left alone, so running an erasure twice changes nothing.

Before anything changes, each strategy checks its output fits the reflected column (a NULL in a
NOT NULL column, a hash in an integer column, a stand-in longer than the column) and raises
:class:`RequestError` naming the field and the fix.

A keyed hash and a pseudonym are both *stand-ins* ``prefix + digest + tag``: the digest is a keyed
SHA-256 of the value (the installation's hash key, or a fresh random key per erasure for a
pseudonym), the tag a keyed SHA-256 of the digest under a stable key. The tag is what lets a later
run recognise a stand-in as datavow's own: a real value passes that check with a chance of 16^-tag.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql import sqltypes

from datavow.changes.values import as_column_value
from datavow.datamap.model import FieldErasure, FieldStrategy
from datavow.errors import RequestError
from datavow.secrets import derive

SQLITE_KEYED_SHA256 = "datavow_keyed_sha256"
#: What a pseudonymised value starts with, so a reader can tell it from a real one.
PSEUDONYM_PREFIX = "anon-"
HASH_WIDTH = 64  # hex characters of a keyed hash when the column is long enough
PSEUDONYM_WIDTH = 24  # hex characters after the prefix: unique enough within one erasure
MIN_WIDTH = 16  # below this a stand-in neither stays unique nor recognisable
MAX_TAG = 16
# The names the keys are bound under: a statement built once takes each run's keys by name.
HASH_KEY, PSEUDONYM_KEY, TAG_KEY = "erasure_hash_key", "erasure_pseudonym_key", "erasure_tag_key"


@dataclass(frozen=True)
class Keys:
    """The keys of one erasure run, as hex text bound into the statements."""

    hash: str  # stable: equal values hash equal in every run and every system
    pseudonym: str  # fresh per run: a pseudonym cannot be linked to another erasure's
    tag: str  # stable: marks a stand-in as datavow's, whatever run wrote it

    @classmethod
    def for_run(cls, key: bytes) -> Keys:
        return cls(derive(key, "erasure-hash").hex(), os.urandom(32).hex(), derive(key, "erasure-tag").hex())

    def params(self) -> dict[str, str]:
        """The keys by the names statements bind them under."""
        return {HASH_KEY: self.hash, PSEUDONYM_KEY: self.pseudonym, TAG_KEY: self.tag}


@dataclass(frozen=True)
class Erasing:
    """One column to erase by one strategy."""

    field: str  # ``system.table.column``, for messages
    column: sa.Column[Any]
    erasure: FieldErasure
    dialect: str
    keys: Keys


@dataclass(frozen=True)
class Rewrite:
    value: sa.ColumnElement[Any]  # what the column is set to
    pending: sa.ColumnElement[bool]  # true while the value is not erased yet


Strategy = Callable[[Erasing], Rewrite]


def nullify(target: Erasing) -> Rewrite:
    if not target.column.nullable:
        raise RequestError(
            f"{target.field} cannot be erased with 'nullify': the column is NOT NULL — give the field "
            "'erase: {strategy: fixed, value: ...}' (or 'hash') in the map, or allow NULL in the database"
        )
    return Rewrite(sa.null(), target.column.is_not(None))


def fixed(target: Erasing) -> Rewrite:
    column = target.column
    value = sa.literal(_fixed_value(target), type_=column.type)
    # NULL stays NULL: there is nothing personal in it to overwrite.
    return Rewrite(sa.case((column.is_(None), sa.null()), else_=value), sa.and_(column.is_not(None), column != value))


def hash_(target: Erasing) -> Rewrite:
    return _stand_in(target, "", _bound(HASH_KEY, target.keys.hash), HASH_WIDTH, "a keyed hash")


def pseudonymize(target: Erasing) -> Rewrite:
    key = _bound(PSEUDONYM_KEY, target.keys.pseudonym)
    return _stand_in(target, PSEUDONYM_PREFIX, key, PSEUDONYM_WIDTH, "a pseudonym")


def _bound(name: str, key: str) -> sa.BindParameter[str]:
    return sa.bindparam(name, key, type_=sa.String())


STRATEGIES: dict[FieldStrategy, Strategy] = {
    FieldStrategy.nullify: nullify,
    FieldStrategy.fixed: fixed,
    FieldStrategy.hash: hash_,
    FieldStrategy.pseudonymize: pseudonymize,
}


def rewrite(target: Erasing) -> Rewrite | None:
    """The rewrite of the target's strategy; None for ``keep``."""
    strategy = STRATEGIES.get(target.erasure.strategy)
    return strategy(target) if strategy is not None else None


def keyed_sha256(key: str | sa.BindParameter[str], text: sa.ColumnElement[Any], dialect: str) -> sa.ColumnElement[str]:
    """Lower-case hex SHA-256 of ``key || text``, computed by the database (NULL in, NULL out)."""
    bound = key if isinstance(key, sa.BindParameter) else sa.literal(key, type_=sa.String())
    if dialect == "postgresql":  # sha256() needs PostgreSQL 11
        data = sa.func.convert_to(bound.op("||")(text), sa.literal_column("'UTF8'"))
        return sa.func.encode(sa.func.sha256(data), sa.literal_column("'hex'"), type_=sa.String())
    if dialect in ("mysql", "mariadb"):
        return sa.func.sha2(sa.func.concat(bound, text), 256, type_=sa.String())
    if dialect == "sqlite":
        function: sa.ColumnElement[str] = getattr(sa.func, SQLITE_KEYED_SHA256)(bound, text, type_=sa.String())
        return function
    raise RequestError(f"keyed hashes are computed in the database, and datavow cannot do that on {dialect} yet")


def register_functions(connection: Connection) -> None:
    """SQLite has no SHA-256: give this connection the one :func:`keyed_sha256` calls."""
    if connection.dialect.name == "sqlite":
        driver = connection.connection.driver_connection
        driver.create_function(SQLITE_KEYED_SHA256, 2, _sqlite_keyed_sha256, deterministic=True)  # type: ignore[union-attr]


def _sqlite_keyed_sha256(key: object, value: object) -> str | None:
    if key is None or value is None:
        return None
    data = value if isinstance(value, bytes) else str(value).encode()
    return hashlib.sha256(str(key).encode() + data).hexdigest()


def _stand_in(target: Erasing, prefix: str, key: sa.BindParameter[str], width: int, what: str) -> Rewrite:
    column, dialect, tag_key = target.column, target.dialect, _bound(TAG_KEY, target.keys.tag)
    if not isinstance(column.type, sqltypes.String) or isinstance(column.type, sqltypes.Enum):
        raise RequestError(
            f"{target.field} cannot hold {what}: the column is {column.type} — use 'nullify', or 'fixed' "
            "with a value of that type"
        )
    length = column.type.length
    body = min(width, length - len(prefix)) if length else width
    if body < MIN_WIDTH:
        raise RequestError(
            f"{target.field} is {column.type}, too short for {what} ({len(prefix) + MIN_WIDTH} characters at "
            "least) — use 'nullify' or 'fixed', or widen the column"
        )
    tag = min(MAX_TAG, body // 2)
    digits = body - tag

    def tagged(digest: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        return sa.func.substr(keyed_sha256(tag_key, digest, dialect), 1, tag)

    digest = sa.func.substr(keyed_sha256(key, column, dialect), 1, digits, type_=sa.String())
    stand_in = sa.literal(prefix, type_=sa.String()) + digest + tagged(digest) if prefix else digest + tagged(digest)
    start = len(prefix) + 1
    ours = sa.func.substr(column, start + digits) == tagged(sa.func.substr(column, start, digits))
    if prefix:
        ours = sa.and_(column.startswith(prefix, autoescape=True), ours)
    return Rewrite(
        sa.case((column.is_(None), sa.null()), (ours, column), else_=stand_in),
        sa.and_(column.is_not(None), sa.not_(ours)),
    )


def _fixed_value(target: Erasing) -> object:
    """The map's fixed value as the column takes it, or RequestError when it cannot."""
    value, kind = target.erasure.value, target.column.type
    try:
        return as_column_value(value, kind)
    except ValueError as exc:
        raise RequestError(
            f"{target.field}: the fixed value {value!r} does not fit the column ({kind}: {exc}) — change 'value' "
            "in the map to one the column takes, or use 'nullify'"
        ) from None
