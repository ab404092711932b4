"""Lint rules about identity columns. Importing this module registers them.

A person is found by their identity columns, so an erasure that keeps the row must clear them:
an e-mail column declared ``email: ~`` (no category) is not personal to datavow, and anonymising
the row leaves it in place, still naming the person and still matching their next request.
A key is the exception: a primary key, or a column other tables' references hold, cannot be
cleared while the row is kept (erasure keeps it, and it names nobody once the rest is erased).
"""

from __future__ import annotations

from collections.abc import Iterator

from datavow.datamap import LoadedMap, TableRef
from datavow.datamap.model import FieldStrategy, Table, TableErasure
from datavow.findings import Severity
from datavow.lint import Hit, rule


def _keeps_rows(table: Table) -> bool:
    """Whether an erasure keeps the table's rows and rewrites them: ``erase: anonymize``, or no
    ``erase:`` on a table whose personal fields name a strategy (erasure then anonymises it), or a
    table with a subject (the person's rows are then left entirely in place)."""
    if table.erase is TableErasure.delete:
        return False
    if table.erase is TableErasure.anonymize or table.subject is not None:
        return True
    return any(f.erase and f.erase.strategy is not FieldStrategy.keep for f in table.personal_fields().values())


def _identity_columns(ref: TableRef) -> Iterator[tuple[str, str]]:
    for kind, columns in ref.table.identity.items():
        for column in columns:
            yield kind, column


def _keys(loaded: LoadedMap) -> set[tuple[str, str, str]]:
    """(system, table, column) of every declared primary key column and every referenced column."""
    keys: set[tuple[str, str, str]] = set()
    for ref in loaded.tables():
        keys.update((ref.system_name, ref.table_name, column) for column in ref.table.primary_key or [])
        for reference in ref.table.references.values():
            system, table = ref.target(reference)
            keys.update((system, table, column) for column in reference.target_columns)
    return keys


@rule(
    "identity-not-erasable",
    Severity.error,
    "Art. 17(1)",
    "An identity column that an erasure keeping the row leaves in place",
    "give the column its category and an erasure strategy, e.g. 'email: {category: user.contact.email, "
    "erase: hash}', or make the table 'erase: delete'",
)
def identity_not_erasable(loaded: LoadedMap) -> Iterator[Hit]:
    keys = _keys(loaded)
    for ref in loaded.tables():
        if not _keeps_rows(ref.table):
            continue
        for kind, column in _identity_columns(ref):
            declared = ref.table.fields.get(column)
            if declared is not None and declared.category:
                continue  # personal: anonymise erases it by its strategy (nullify when it names none)
            if (ref.system_name, ref.table_name, column) in keys:
                continue
            label = f"{ref.label}.{column}"
            path = ref.path + ("fields", column) if declared is not None else ref.path + ("identity", kind)
            yield Hit(
                path,
                f"{label} finds people by their {kind}, but has no category: an erasure keeps the row and leaves "
                "it in place",
                target=label,
            )
