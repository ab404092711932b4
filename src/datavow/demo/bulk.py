"""Putting generated rows into a database quickly: create, bulk-insert in chunks, index.

Rows arrive as tuples in the order of the table's columns. They are written in chunks, one round
trip per chunk: ``COPY`` on PostgreSQL (psycopg), ``executemany`` elsewhere (SQLite's is a loop in
C; PyMySQL rewrites it into multi-row ``INSERT``s). Indexes are created after the data is in, which
is several times faster than maintaining them row by row.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.schema import AddConstraint, CreateTable

from datavow.errors import DemoError

Row = tuple[Any, ...]
ChunkDone = Callable[[int], None]  # rows written so far
Processors = list[tuple[int, Callable[[Any], Any]]]  # column position -> the type's bind processor

CHUNK_ROWS = 5_000


def redact(url: str) -> str:
    """The URL with its password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unreadable URL>"


@contextmanager
def translated(what: str, url: str) -> Iterator[None]:
    """Turn a driver's error into a :class:`DemoError` that says where and what to do."""
    try:
        yield
    except (SQLAlchemyError, NoSuchModuleError) as exc:
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise DemoError(
            f"could not {what} at {redact(url)}: {detail} — check that the server runs, "
            "the URL is right and the user may create schemas and tables"
        ) from exc


class Database:
    """One target system: an engine and, on PostgreSQL or MariaDB, the schema to fill."""

    def __init__(self, url: str, schema: str | None = None) -> None:
        self.url, self.schema = url, schema
        with translated("open the database", url):
            self.engine: Engine = sa.create_engine(url)
        self._statements: dict[str, tuple[str, Processors]] = {}
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _fast_sqlite)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def connect(self) -> Connection:
        conn = self.engine.connect()
        return conn.execution_options(schema_translate_map={None: self.schema}) if self.schema else conn

    def existing_tables(self) -> list[str]:
        with translated("read the tables", self.url), self.engine.connect() as conn:
            inspector = sa.inspect(conn)
            if self.schema and self.schema not in inspector.get_schema_names():
                return []
            return list(inspector.get_table_names(schema=self.schema))

    def drop_schema(self) -> None:
        """Remove the schema and everything in it (``force`` on PostgreSQL and MariaDB)."""
        if not self.schema:
            return
        cascade = " CASCADE" if self.dialect == "postgresql" else ""
        with translated("drop the old schema", self.url), self.engine.begin() as conn:
            conn.exec_driver_sql(self._schema_statement("DROP {} IF EXISTS") + cascade)

    def _schema_statement(self, verb: str) -> str:
        # MariaDB calls a schema a database.
        kind = "SCHEMA" if self.dialect == "postgresql" else "DATABASE"
        return verb.format(kind) + " " + self.engine.dialect.identifier_preparer.quote_identifier(self.schema or "")

    def create(self, tables: Iterable[sa.Table]) -> None:
        """Create the schema (if missing) and the tables, without their indexes.

        On PostgreSQL the foreign keys come later too: checking them row by row during ``COPY``
        takes twice as long as loading the rows, checking them once afterwards a fraction of it.
        """
        with translated("create the tables", self.url), self.connect() as conn:
            if self.schema:
                conn.exec_driver_sql(self._schema_statement("CREATE {} IF NOT EXISTS"))
            for table in tables:
                later = self.dialect == "postgresql"
                conn.execute(CreateTable(table, include_foreign_key_constraints=[] if later else None))
            conn.commit()

    def load(self, table: sa.Table, rows: Iterable[Row], done: ChunkDone) -> int:
        """Insert ``rows`` in chunks; calls ``done(rows so far)`` after each chunk."""
        written = 0
        insert = self._copy if self._can_copy else self._executemany
        iterator = iter(rows)
        # begin() explicitly: the rows go through the driver's cursor, which SQLAlchemy does not
        # see, so it would not start (or commit) a transaction by itself.
        with translated(f"fill {table.name}", self.url), self.connect() as conn, conn.begin():
            if self.dialect == "mysql":  # MariaDB: parents are written first; checking each row only costs
                conn.exec_driver_sql("SET foreign_key_checks = 0")
            while chunk := list(itertools.islice(iterator, CHUNK_ROWS)):
                insert(conn, table, chunk)
                written += len(chunk)
                done(written)
        return written

    def finish(self, tables: Iterable[sa.Table]) -> None:
        """Create the indexes (and on PostgreSQL the foreign keys), and move ``id`` sequences past
        the ids the demo wrote itself."""
        with translated("index the tables", self.url), self.connect() as conn:
            for table in tables:
                for index in sorted(table.indexes, key=lambda ix: ix.name or ""):
                    index.create(conn)
                if self.dialect == "postgresql":
                    for constraint in sorted(table.foreign_key_constraints, key=lambda fk: tuple(fk.column_keys)):
                        conn.execute(AddConstraint(constraint))
                    self._advance_sequence(conn, table)
            conn.commit()

    # -- internals

    @property
    def _can_copy(self) -> bool:
        return self.dialect == "postgresql" and self.engine.dialect.driver == "psycopg"

    def _qualified(self, table: sa.Table) -> str:
        quote = self.engine.dialect.identifier_preparer.quote_identifier
        return (quote(self.schema) + "." if self.schema else "") + quote(table.name)

    def _copy(self, conn: Connection, table: sa.Table, chunk: list[Row]) -> None:
        quote = self.engine.dialect.identifier_preparer.quote_identifier
        columns = ", ".join(quote(c.name) for c in table.columns)
        raw: Any = conn.connection.driver_connection
        with raw.cursor() as cursor, cursor.copy(f"COPY {self._qualified(table)} ({columns}) FROM STDIN") as copy:
            for row in chunk:
                copy.write_row(row)

    def _executemany(self, conn: Connection, table: sa.Table, chunk: list[Row]) -> None:
        # Straight to the driver: SQLAlchemy's per-row parameter handling would cost more than
        # the insert. Values still go through the column types' bind processors (SQLite stores
        # dates as text in SQLAlchemy's format, so datavow reads back what it would have written).
        sql, processors = self._statement(table)
        if processors:
            chunk = [_processed(row, processors) for row in chunk]
        raw: Any = conn.connection.driver_connection
        cursor = raw.cursor()
        try:
            cursor.executemany(sql, chunk)
        finally:
            cursor.close()

    def _statement(self, table: sa.Table) -> tuple[str, Processors]:
        if table.name not in self._statements:
            dialect = self.engine.dialect
            quote = dialect.identifier_preparer.quote_identifier
            marker = "?" if dialect.paramstyle == "qmark" else "%s"
            columns = ", ".join(quote(c.name) for c in table.columns)
            markers = ", ".join([marker] * len(table.columns))
            processors: Processors = []
            for i, column in enumerate(table.columns):
                process = _fast_sqlite_processor(column) if dialect.name == "sqlite" else None
                process = process or column.type.dialect_impl(dialect).bind_processor(dialect)
                if process is not None:
                    processors.append((i, process))
            self._statements[table.name] = (
                f"INSERT INTO {self._qualified(table)} ({columns}) VALUES ({markers})",
                processors,
            )
        return self._statements[table.name]

    def _advance_sequence(self, conn: Connection, table: sa.Table) -> None:
        key = list(table.primary_key.columns)
        if len(key) != 1 or table.autoincrement_column is None:
            return
        name = self._qualified(table)
        conn.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{name}', '{key[0].name}'), "
            f"COALESCE(MAX({key[0].name}), 0) + 1, false) FROM {name}"
        )


def _processed(row: Row, processors: Processors) -> Row:
    values = list(row)
    for i, process in processors:
        values[i] = process(values[i])
    return tuple(values)


def _fast_sqlite_processor(column: sa.Column[Any]) -> Callable[[Any], Any] | None:
    """SQLAlchemy's own text for dates on SQLite (``2026-03-01 18:00:00.000000``), written by C code.

    SQLAlchemy formats each value in Python; ``isoformat`` gives the same text several times faster.
    """
    kind = type(column.type)
    if kind is sa.DateTime and not column.type.timezone:  # type: ignore[attr-defined]
        return lambda value: None if value is None else value.isoformat(" ", "microseconds")
    if kind is sa.Date:
        return lambda value: None if value is None else value.isoformat()
    return None


def _fast_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # The demo database is rebuilt from scratch if anything goes wrong, so skip the fsyncs.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous = OFF")
    cursor.close()
