"""datavow's own SQL functions on SQLite connections.

SQLite's ``lower()`` folds ASCII only and it has no Unicode normalisation, so ``ÆRLIG@…`` or a
decomposed ``rené`` would hide from a request there. datavow registers the functions its statements
call on every SQLite connection of the process (a listener on every pool, below, so that engines a
caller made itself and hands to ``discover`` or ``erase`` have them too); :func:`register` is the one
function to call.
"""

from __future__ import annotations

import sqlite3
import unicodedata
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.pool import Pool

# Names as datavow's SQL calls them (datavow.plan.sql compiles its comparisons to these).
FOLD = "datavow_fold"
TIDY = "datavow_tidy"


def register(dbapi_connection: object) -> None:
    """Register datavow's SQL functions on one sqlite3 connection (another driver's connection is
    left alone: the functions are SQLite's missing pieces)."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # deterministic: SQLite may then use them in indexes on expressions and in partial indexes
    dbapi_connection.create_function(FOLD, 1, _on_text(fold_text), deterministic=True)
    dbapi_connection.create_function(TIDY, 1, _on_text(tidy_text), deterministic=True)


def tidy_text(text: str) -> str:
    """``text`` in composed form (NFC) without the whitespace around it (any Unicode whitespace: a
    no-break space, a tab)."""
    return unicodedata.normalize("NFC", text).strip()


def fold_text(text: str) -> str:
    """:func:`tidy_text`, then in lower case as Python, PostgreSQL and MariaDB lower it (not
    ``casefold``: ``ß`` must stay ``ß`` so that every database compares the same text)."""
    return tidy_text(text).lower()


SQLValue = str | bytes | int | float | None


def _on_text(function: Callable[[str], str]) -> Callable[[SQLValue], SQLValue]:
    """``function`` as SQL calls it: on text; a number, a blob or NULL passes as it is."""

    def on_value(value: SQLValue) -> SQLValue:
        return function(value) if isinstance(value, str) else value

    return on_value


def _on_connect(dbapi_connection: object, _record: object) -> None:
    register(dbapi_connection)


# Every pool of the process, not only the engines datavow makes: the library takes engines and
# connections from its callers too (erase, export, discover), and a statement calling
# datavow_fold on a connection without it would fail. Registering on a connection that never
# calls it costs a few microseconds, once per connection.
if not event.contains(Pool, "connect", _on_connect):
    event.listen(Pool, "connect", _on_connect)
