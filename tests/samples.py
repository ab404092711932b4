"""Public sample databases (tests/data/samples/), loaded from their published SQL.

Each sample folder holds ``schema.sql`` (the published DDL), ``data.sql`` (published rows, a subset
where the whole dump is too big) and ``datavow.yaml`` (a map written from docs/ alone, with ``{url}``
where the database URL goes). The SQL is loaded as published into SQLite, constraints aside
(below); for PostgreSQL and MariaDB the loader translates only what those dialects cannot read,
in code, here:

- identifiers quoted ``[Name]`` (SQL Server and SQLite style) become ``"Name"`` or `` `Name` ``;
- ``NVARCHAR`` becomes ``VARCHAR``, the Firebird-style ``BLOB SUB_TYPE TEXT`` of the Sakila port
  becomes ``TEXT``, and on PostgreSQL ``DATETIME`` becomes ``TIMESTAMP`` and ``BLOB`` ``BYTEA``;
- on MariaDB, pg_dump's ``bpchar`` becomes ``VARCHAR(255)`` and ``bytea`` ``LONGBLOB``;
- foreign keys are taken out of ``CREATE TABLE`` and added after the rows, because published
  schemas create tables in alphabetical order and some have cycles (Sakila's store and staff),
  which a server checks at once while SQLite checks nothing; a pg_dump foreign key without
  columns gets the referenced primary key's, which MariaDB requires;
- SQLite cannot add a constraint to a table, so pg_dump's ``ALTER TABLE … ADD CONSTRAINT`` go
  into the ``CREATE TABLE`` they belong to;
- consecutive one-row ``INSERT``s into the same table become one multi-row ``INSERT`` per
  500 rows, so a server load is a few round trips instead of one per row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from datavow.datamap.load import LoadedMap
from datavow.requests.restriction import flag_targets

SAMPLES = Path(__file__).resolve().parent / "data" / "samples"
ROWS_PER_INSERT = 500

_FOREIGN_KEY = re.compile(
    r",\s*(?:CONSTRAINT\s+\S+\s+)?FOREIGN\s+KEY\s*\([^)]*\)\s*REFERENCES\s+\S+\s*\([^)]*\)"
    r"(?:\s*ON\s+(?:DELETE|UPDATE)\s+(?:NO\s+ACTION|CASCADE|SET\s+NULL|RESTRICT))*",
    re.IGNORECASE,
)
_CREATE_TABLE = re.compile(r"^\s*CREATE\s+TABLE\s+(\S+)", re.IGNORECASE)
_INSERT_PREFIX = re.compile(r"^(INSERT\s+INTO\s+\S+(?:\s*\([^)]*\))?\s*VALUES)\s*", re.IGNORECASE)
# pg_dump's constraints, added after the tables: ALTER TABLE ONLY t ADD CONSTRAINT n PRIMARY KEY (…)
_ADD_CONSTRAINT = re.compile(r"^ALTER\s+TABLE\s+(?:ONLY\s+)?(\S+)\s+ADD\s+(CONSTRAINT\s.*)$", re.IGNORECASE | re.DOTALL)
_PRIMARY_KEY = re.compile(r"PRIMARY\s+KEY\s*\(([^)]*)\)", re.IGNORECASE)
_BARE_REFERENCE = re.compile(r"REFERENCES\s+(\S+)\s*$", re.IGNORECASE)


def map_text(name: str, url: str) -> str:
    """The sample's map with its database URL filled in."""
    return (SAMPLES / name / "datavow.yaml").read_text(encoding="utf-8").replace("{url}", url)


def load_sample(name: str, engine: Engine) -> None:
    """Create the sample's tables in ``engine``'s (empty) database and insert its rows."""
    folder = SAMPLES / name
    schema = split_statements((folder / "schema.sql").read_text(encoding="utf-8"))
    data = split_statements((folder / "data.sql").read_text(encoding="utf-8"))
    constraints = [(m.group(1), m.group(2).strip()) for m in map(_ADD_CONSTRAINT.match, schema) if m]
    creates = [statement for statement in schema if not _ADD_CONSTRAINT.match(statement)]
    dialect = engine.dialect.name
    with engine.begin() as connection:
        if dialect == "sqlite":
            # SQLite cannot add a constraint to a table, so pg_dump's go into CREATE TABLE; it does
            # not check foreign keys while loading (the pragma is off), so the order does not matter.
            for statement in [*fold_constraints(creates, constraints), *data]:
                _execute(connection, statement)
            return
        if dialect == "mysql":
            # Published strings double their quotes and never escape with backslashes.
            connection.exec_driver_sql("SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES')")
        quote = translate_identifiers(dialect)
        foreign_keys: list[str] = []
        for statement in creates:
            statement = quote(statement)
            created = _CREATE_TABLE.match(statement)
            if created:
                table = created.group(1)
                foreign_keys += [
                    f"ALTER TABLE {table} ADD {fk.lstrip(', ').strip()}" for fk in _FOREIGN_KEY.findall(statement)
                ]
                statement = _FOREIGN_KEY.sub("", statement)
            _execute(connection, statement)
        keys = {table: match.group(1) for table, clause in constraints if (match := _PRIMARY_KEY.search(clause))}
        for table, clause in constraints:
            if _PRIMARY_KEY.search(clause):
                _execute(connection, quote(f"ALTER TABLE {table} ADD {clause}"))
            else:
                # MariaDB wants the referenced columns that PostgreSQL takes from the primary key.
                clause = _BARE_REFERENCE.sub(lambda m: f"REFERENCES {m.group(1)} ({keys[m.group(1)]})", clause)
                foreign_keys.append(quote(f"ALTER TABLE {table} ADD {clause}"))
        for statement in batch_inserts([quote(s) for s in data]):
            _execute(connection, statement)
        for statement in foreign_keys:
            _execute(connection, statement)


def fold_constraints(creates: list[str], constraints: list[tuple[str, str]]) -> list[str]:
    """``creates`` with each ``(table, constraint clause)`` written inside its CREATE TABLE."""
    folded: list[str] = []
    for statement in creates:
        created = _CREATE_TABLE.match(statement)
        clauses = [clause for table, clause in constraints if created and table == created.group(1)]
        if clauses:
            body, _, tail = statement.rpartition(")")
            statement = body.rstrip() + "".join(f",\n    {clause}" for clause in clauses) + "\n)" + tail
        folded.append(statement)
    return folded


def _execute(connection: sa.Connection, statement: str) -> None:
    """Run one published statement as it is: drivers whose placeholders are ``%s`` read a ``%``
    in a LIKE pattern as one, unless it is doubled."""
    if connection.dialect.paramstyle in ("format", "pyformat"):
        statement = statement.replace("%", "%%")
    connection.exec_driver_sql(statement)


def split_statements(script: str) -> list[str]:
    """The statements of a SQL script, comments dropped; a ``;`` inside a string does not split."""
    statements: list[str] = []
    current: list[str] = []
    for kind, text in _segments(script):
        if kind == "string":
            current.append(text)
            continue
        text = re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL)
        text = re.sub(r"--[^\n]*", "", text)
        *complete, rest = text.split(";")
        for piece in complete:
            current.append(piece)
            statement = "".join(current).strip()
            if statement:
                statements.append(statement)
            current = []
        current.append(rest)
    tail = "".join(current).strip()
    if tail:
        statements.append(tail)
    return statements


def translate_identifiers(dialect: str) -> Callable[[str], str]:
    """A function rewriting one statement's quoted identifiers and types for ``dialect``,
    leaving string literals untouched."""
    open_quote, close_quote = ('"', '"') if dialect == "postgresql" else ("`", "`")

    def outside_strings(text: str) -> str:
        text = re.sub(r"\[([^\]]+)\]", lambda m: f"{open_quote}{m.group(1)}{close_quote}", text)
        text = re.sub(r"\bNVARCHAR\b", "VARCHAR", text, flags=re.IGNORECASE)
        text = re.sub(r"\bBLOB\s+SUB_TYPE\s+TEXT\b", "TEXT", text, flags=re.IGNORECASE)
        if dialect == "postgresql":
            text = re.sub(r"\bDATETIME\b", "TIMESTAMP", text, flags=re.IGNORECASE)
            text = re.sub(r"\bBLOB\b", "BYTEA", text, flags=re.IGNORECASE)
        else:
            # pg_dump's types: a blank-padded string without length, and bytes
            text = re.sub(r"\bbpchar\b", "VARCHAR(255)", text, flags=re.IGNORECASE)
            text = re.sub(r"\bbytea\b", "LONGBLOB", text, flags=re.IGNORECASE)
        return text

    def translate(statement: str) -> str:
        return "".join(text if kind == "string" else outside_strings(text) for kind, text in _segments(statement))

    return translate


def batch_inserts(statements: list[str]) -> Iterator[str]:
    """Consecutive one-row INSERTs with the same table and columns, joined into multi-row INSERTs."""
    prefix: str | None = None
    values: list[str] = []

    def flush() -> Iterator[str]:
        for start in range(0, len(values), ROWS_PER_INSERT):
            yield f"{prefix} " + ",\n".join(values[start : start + ROWS_PER_INSERT])

    for statement in statements:
        match = _INSERT_PREFIX.match(statement)
        if match is None:
            yield from flush()
            prefix, values = None, []
            yield statement
            continue
        if match.group(1) != prefix:
            yield from flush()
            prefix, values = match.group(1), []
        values.append(statement[match.end() :])
    yield from flush()


def _segments(sql: str) -> Iterator[tuple[str, str]]:
    """``sql`` cut into ("code", text) and ("string", 'literal') pieces; '' inside a literal is a quote."""
    position = 0
    for match in re.finditer(r"'(?:[^']|'')*'", sql):
        if match.start() > position:
            yield "code", sql[position : match.start()]
        yield "string", match.group(0)
        position = match.end()
    if position < len(sql):
        yield "code", sql[position:]


def add_restriction_flags(engine: Engine, loaded: LoadedMap) -> None:
    """Add the boolean column each ``restriction_flag`` of the map names: the published schemas have
    none, and an application that restricts processing (Art. 18) would add it the same way."""
    quote = engine.dialect.identifier_preparer.quote
    with engine.begin() as connection:
        for _, table, column in flag_targets(loaded):
            connection.exec_driver_sql(f"ALTER TABLE {quote(table)} ADD COLUMN {quote(column)} BOOLEAN")
