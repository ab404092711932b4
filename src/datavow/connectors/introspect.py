"""What a database holds, read from its catalogue: tables, views, columns and keys.

One schema is read in one round of inspector calls (names, then columns, primary keys and
foreign keys of the tables asked about, each for all of them at once), so reading does not
cost a round trip per table on dialects that reflect many tables in one query (PostgreSQL).
The partitions of a PostgreSQL partitioned table are not listed as tables: the map declares the
parent, and every statement reads and changes the partitions' rows through it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy import Inspector
from sqlalchemy.engine.interfaces import ReflectedForeignKeyConstraint
from sqlalchemy.engine.reflection import ObjectKind


@dataclass(frozen=True)
class ForeignKey:
    """A foreign key constraint: these columns hold the key of a row of ``referred_table``."""

    columns: tuple[str, ...]
    referred_table: str
    referred_columns: tuple[str, ...]
    referred_schema: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class TableShape:
    """A table or view as the database defines it."""

    name: str
    columns: tuple[str, ...]
    primary_key: tuple[str, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    is_view: bool = False


@dataclass(frozen=True)
class SchemaShape:
    """The tables and views of one schema, and the shape of those that were asked about."""

    name: str | None  # None: the connection's default schema
    tables: frozenset[str]
    views: frozenset[str]
    shapes: dict[str, TableShape] = field(default_factory=dict)

    def get(self, name: str) -> TableShape | None:
        return self.shapes.get(name)


def reflect_schema(inspector: Inspector, schema: str | None, wanted: Collection[str]) -> SchemaShape:
    """Read ``schema``: every table and view name, and the full shape of those in ``wanted``.

    Views are listed only when a wanted name is not a table, to save the query otherwise.
    """
    listed = frozenset(inspector.get_table_names(schema=schema))
    partitions = _partitions(inspector, schema) & listed
    tables = listed - partitions  # a partition is its parent's: declared with it, never on its own
    views: frozenset[str] = frozenset()
    if any(name not in listed for name in wanted):
        views = frozenset(inspector.get_view_names(schema=schema))
    found_tables = sorted(name for name in wanted if name in listed)
    found_views = sorted(name for name in wanted if name in views and name not in tables)
    shapes: dict[str, TableShape] = {}
    if found_tables:
        columns = inspector.get_multi_columns(schema=schema, filter_names=found_tables, kind=ObjectKind.TABLE)
        keys = inspector.get_multi_pk_constraint(schema=schema, filter_names=found_tables, kind=ObjectKind.TABLE)
        foreign = inspector.get_multi_foreign_keys(schema=schema, filter_names=found_tables, kind=ObjectKind.TABLE)
        # Keyed by (schema, table); the schema part is the one asked for, so the name suffices.
        primary = {name: key.get("constrained_columns") or [] for (_, name), key in keys.items()}
        referring = {name: fks for (_, name), fks in foreign.items()}
        for (_, name), reflected in columns.items():
            shapes[name] = TableShape(
                name=name,
                columns=tuple(column["name"] for column in reflected),
                primary_key=tuple(primary.get(name, ())),
                foreign_keys=tuple(_foreign_key(fk) for fk in referring.get(name, [])),
            )
    if found_views:
        columns = inspector.get_multi_columns(schema=schema, filter_names=found_views, kind=ObjectKind.VIEW)
        for (_, name), reflected in columns.items():
            shapes[name] = TableShape(name=name, columns=tuple(c["name"] for c in reflected), is_view=True)
    return SchemaShape(name=schema, tables=tables, views=views, shapes=shapes)


_PARTITIONS = sa.text(
    "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relispartition AND n.nspname = coalesce(:schema, current_schema())"
)


def _partitions(inspector: Inspector, schema: str | None) -> frozenset[str]:
    """The partitions of PostgreSQL's partitioned tables in ``schema``: their rows are read and
    changed through the parent the map declares, so they are not tables of their own to declare."""
    if inspector.dialect.name != "postgresql":
        return frozenset()
    bind = inspector.bind
    if isinstance(bind, sa.Connection):
        return frozenset(bind.execute(_PARTITIONS, {"schema": schema}).scalars())
    with bind.connect() as connection:
        return frozenset(connection.execute(_PARTITIONS, {"schema": schema}).scalars())


def _foreign_key(reflected: ReflectedForeignKeyConstraint) -> ForeignKey:
    return ForeignKey(
        columns=tuple(reflected["constrained_columns"]),
        referred_table=reflected["referred_table"],
        referred_columns=tuple(reflected["referred_columns"]),
        referred_schema=reflected.get("referred_schema"),
        name=reflected.get("name"),
    )
