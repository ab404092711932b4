"""Will each field's erasure strategy fit its column? Checked with the map, not at request time.

Erasure refuses a strategy that cannot be written (a keyed hash into a 13-character column, NULL
into a NOT NULL column) before it changes anything. That protects the data, but the person's
request then waits for a fix. ``datavow check`` asks the same question of every field up front,
with the very strategy functions erasure runs, so the answer cannot drift from what erasure does.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from functools import partial

import sqlalchemy as sa
from sqlalchemy.exc import NoSuchTableError, SQLAlchemyError

from datavow.changes.strategies import Erasing, Keys, rewrite
from datavow.changes.systems import key_columns
from datavow.connectors.sql import reachable_connections
from datavow.datamap import LoadedMap, TableRef
from datavow.datamap.model import FieldErasure, FieldStrategy, TableErasure
from datavow.errors import RequestError
from datavow.findings import Finding, Severity

RULE = "drift-erasure-unfit"
_NULLIFY = FieldErasure(strategy=FieldStrategy.nullify)


def _erased_fields(loaded: LoadedMap, ref: TableRef) -> Iterator[tuple[str, FieldErasure]]:
    """The fields an erasure of this table rewrites, each with the strategy it uses."""
    protected = key_columns(loaded, (ref.system_name, ref.table_name))
    if ref.table.erase is not TableErasure.delete:
        for name, field in ref.table.fields.items():
            if field.erase is not None and field.erase.strategy is not FieldStrategy.keep and name not in protected:
                yield name, field.erase
    if ref.table.hold is not None:  # minimised while held: by its strategy, else set to NULL
        for name in ref.table.hold.minimise:
            declared = ref.table.fields.get(name)
            erasure = declared.erase if declared is not None and declared.erase is not None else _NULLIFY
            if erasure.strategy is FieldStrategy.keep:
                erasure = _NULLIFY
            if name not in protected:
                yield name, erasure


def check_erasure_fit(loaded: LoadedMap, systems: Iterable[str]) -> list[Finding]:
    """A finding for every field whose erasure strategy its database column cannot hold.

    Systems that cannot be reached, and tables or columns that do not exist, are left to the drift
    check, which reports them already.
    """
    findings: list[Finding] = []
    keys = Keys.for_run(os.urandom(32))  # judging fit runs nothing: any key will do
    urls = [(system, partial(loaded.system_url, system)) for system in systems]
    for system, connection in reachable_connections(urls):
        for ref in (ref for ref in loaded.tables() if ref.system_name == system):
            fields = list(_erased_fields(loaded, ref))
            if not fields:
                continue
            try:
                table = sa.Table(ref.table_name, sa.MetaData(), schema=ref.schema, autoload_with=connection)
            except (NoSuchTableError, SQLAlchemyError):
                continue
            for name, erasure in fields:
                if name not in table.c:
                    continue
                target = Erasing(f"{ref.label}.{name}", table.c[name], erasure, connection.dialect.name, keys)
                try:
                    rewrite(target)
                except RequestError as exc:
                    message, _, hint = str(exc).partition(" — ")
                    findings.append(
                        Finding(
                            rule=RULE,
                            severity=Severity.error,
                            message=f"{message}: an erasure would be refused",
                            hint=hint,
                            article="Art. 17(1)",
                            location=loaded.index.locate(ref.path + ("fields", name), key=True),
                            target=f"{ref.label}.{name}",
                        )
                    )
    return findings
