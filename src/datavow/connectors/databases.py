"""The databases a process talks to: per URL one engine, the tables reflected from it and the
statements compiled for it, kept by one :class:`Databases` object that its owner opens and closes
(the application object owns one; a command, a test or a benchmark may make its own).

An engine made here carries its :class:`Catalogue` (as an execution option), so the functions that
reflect a table or run a prepared statement find the cache through the connection they are given,
and a connection made elsewhere (a test's own engine, ``datavow check``) simply has none: it
reflects and compiles afresh. Nothing is kept at module level.

Caches notice schema changes in one place: every statement on an engine made here passes its errors
through :meth:`Catalogue.notice`, which forgets that database's tables and statements when the
database says a table or column is missing. :meth:`Databases.retrying` then runs the operation once
more on the fresh schema; a second failure is the schema error itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Self, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, ExceptionContext

from datavow.connectors.sql import connect
from datavow.datamap import LoadedMap
from datavow.driver_errors import is_schema_error
from datavow.errors import DatavowError

T = TypeVar("T")
Key = tuple[Hashable, ...]

# The execution option under which an engine carries its catalogue.
_OPTION = "datavow_catalogue"

# Compiled statements kept per database; a few per step and shape of request, so this is roomy.
STATEMENTS_KEPT = 4096


class Catalogue:
    """What one database's schema gave: its reflected tables and the statements compiled for them.

    Thread-safe without a lock around reflection: a table is reflected outside any lock and the
    first one kept wins (two threads may reflect the same table once each, and agree).
    """

    def __init__(self) -> None:
        self._tables: dict[tuple[str | None, str], sa.Table] = {}
        self._statements: dict[Key, Any] = {}
        self._lock = threading.Lock()  # guards the dicts' swaps, never a database round trip
        self.generation = 0  # counts the times the schema was forgotten

    def table(self, schema: str | None, name: str) -> sa.Table | None:
        """The table reflected before, or None."""
        return self._tables.get((schema, name))

    def keep_table(self, schema: str | None, name: str, table: sa.Table) -> sa.Table:
        """Keep ``table`` unless another thread kept one first; the one kept."""
        with self._lock:
            return self._tables.setdefault((schema, name), table)

    def statement(self, key: Key) -> Any | None:
        """The statement compiled before under ``key``, or None."""
        return self._statements.get(key)

    def keep_statement(self, key: Key, compiled: T) -> T:
        with self._lock:
            if len(self._statements) >= STATEMENTS_KEPT:
                self._statements = {}
            self._statements[key] = compiled
        return compiled

    def forget(self) -> None:
        """Forget every table and statement: the schema changed under them."""
        with self._lock:
            self._tables = {}
            self._statements = {}
            self.generation += 1

    def notice(self, error: BaseException) -> None:
        """Forget the schema when ``error`` (a driver's) says a table or column is missing."""
        if is_schema_error(error):
            self.forget()

    def attach(self, engine: Engine) -> None:
        """Make ``engine``'s connections carry this catalogue, and its statement errors pass
        through :meth:`notice`."""
        engine.update_execution_options(**{_OPTION: self})
        event.listen(engine, "handle_error", self._on_error)

    def _on_error(self, context: ExceptionContext) -> None:
        self.notice(context.original_exception)


def catalogue_of(connection: Connection) -> Catalogue | None:
    """The catalogue of the database ``connection`` belongs to; None for an engine made elsewhere."""
    found = connection.get_execution_options().get(_OPTION)
    return found if isinstance(found, Catalogue) else None


class Databases:
    """The application databases of one process: per URL an engine (made the first time a system
    needs it, its connection proved once) and the database's :class:`Catalogue`.

    Safe to share between threads. :meth:`close` (or leaving the ``with`` block) disposes every
    engine; a database that goes away later fails the request that uses it, and its engine's pool
    reconnects afterwards.
    """

    def __init__(self) -> None:
        self._engines: dict[str, Engine] = {}
        self._catalogues: dict[str, Catalogue] = {}
        self._lock = threading.Lock()
        self._closed = False

    def engine(self, url: str, *, system: str) -> Engine:
        """The engine for ``url`` (named ``system`` in errors), made and proved the first time."""
        engine = self._engines.get(url)
        if engine is not None:
            return engine
        if self._closed:
            raise DatavowError("the databases were closed: open the application again")
        made = connect(url, system=system)  # not under the lock: proving it may take seconds
        with self._lock:
            if self._closed:
                made.dispose()
                raise DatavowError("the databases were closed: open the application again")
            engine = self._engines.setdefault(url, made)
            if engine is made:
                catalogue = self._catalogues[url] = Catalogue()
                catalogue.attach(made)
        if engine is not made:
            made.dispose()
        return engine

    def engines(self, loaded: LoadedMap, systems: Iterable[str]) -> dict[str, Engine]:
        """One engine per system of ``systems``, by the map's URL for it."""
        return {name: self.engine(loaded.system_url(name), system=name) for name in systems}

    def generation(self) -> int:
        """How many times, in all, a database's schema was forgotten."""
        return sum(catalogue.generation for catalogue in list(self._catalogues.values()))

    def retrying(self, operation: Callable[[], T]) -> T:
        """``operation()``, run once more when it failed after a database's schema was forgotten
        (a statement met a missing table or column, so what was reflected is stale). The operation
        must be safe to run again (reads; requests, which resume). A second failure propagates."""
        before = self.generation()
        try:
            return operation()
        except (DatavowError, sa.exc.SQLAlchemyError):
            if self.generation() == before:
                raise
        return operation()

    def close(self) -> None:
        """Dispose of every engine (their pooled connections close)."""
        with self._lock:
            engines = list(self._engines.values())
            self._engines = {}
            self._catalogues = {}
            self._closed = True
        for engine in engines:
            engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@contextmanager
def borrowed(databases: Databases | None) -> Iterator[Databases]:
    """``databases`` when given, else databases of their own, closed at the end of the block."""
    if databases is not None:
        yield databases
        return
    with Databases() as own:
        yield own
