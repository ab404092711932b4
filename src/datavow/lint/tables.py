"""Lint rules about tables and systems: how personal fields are erased, whose data a table holds
and whether a request can reach it, credentials in the map. Importing this module registers them."""

from __future__ import annotations

import re
from collections.abc import Iterator

from datavow.datamap import LoadedMap
from datavow.datamap.model import TableErasure
from datavow.lint import ERROR, WARNING, Hit, field_path, rule


@rule(
    "field-without-erasure",
    ERROR,
    "Art. 17(1)",
    "A personal field with no erasure strategy on a table that has a subject",
    "add 'erase:' to the field (nullify, hash, pseudonymize, fixed, keep) or 'erase: delete' to the table",
)
def field_without_erasure(loaded: LoadedMap) -> Iterator[Hit]:
    for ref in loaded.tables():
        if ref.table.subject is None or ref.table.erase is TableErasure.delete:
            continue
        for name, field in ref.table.personal_fields().items():
            if field.erase is None:
                yield Hit(
                    field_path(ref, name),
                    f"{ref.label}.{name} holds personal data but says nothing about how it is erased",
                    target=f"{ref.label}.{name}",
                )


@rule(
    "personal-table-without-subject",
    WARNING,
    "Art. 15, 17",
    "A table with personal fields, no subject and no route to one",
    "set 'subject:' on the table, or add 'references:' to a table that has one",
)
def personal_table_without_subject(loaded: LoadedMap) -> Iterator[Hit]:
    for ref in loaded.tables():
        if ref.table.subject is None and ref.table.personal_fields() and not ref.table.references:
            yield Hit(
                ref.path, f"{ref.label} holds personal data, but requests cannot find whose it is", target=ref.label
            )


def tables_reached_by_identity(loaded: LoadedMap) -> set[tuple[str, str]]:
    """Tables joined, by references in either direction, to a table with an identity: a table
    outside this set can never be reached by a request (the planner's own walk is stricter)."""
    links: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for ref in loaded.tables():
        here = (ref.system_name, ref.table_name)
        for reference in ref.table.references.values():
            there = ref.target(reference)
            links.setdefault(here, set()).add(there)
            links.setdefault(there, set()).add(here)
    reached = {(ref.system_name, ref.table_name) for ref in loaded.tables() if ref.table.identity}
    frontier = list(reached)
    while frontier:
        for neighbour in links.get(frontier.pop(), ()):
            if neighbour not in reached:
                reached.add(neighbour)
                frontier.append(neighbour)
    return reached


@rule(
    "subject-table-without-identity",
    WARNING,
    "Art. 12(2), 15",
    "A table with a subject that no identity or reference reaches",
    "add 'identity:' (e.g. {email: email}), or 'references:' joining it to a table that has one",
)
def subject_table_without_identity(loaded: LoadedMap) -> Iterator[Hit]:
    reached = tables_reached_by_identity(loaded)
    for ref in loaded.tables():
        if ref.table.subject is not None and (ref.system_name, ref.table_name) not in reached:
            yield Hit(
                ref.path,
                f"{ref.label} holds data about '{ref.table.subject}', but no identity or reference "
                "leads a request to it",
                target=ref.label,
            )


_INLINE_PASSWORD = re.compile(r"^[a-z][a-z0-9+]*://[^/:@\s]+:([^@\s]+)@")


@rule(
    "inline-credentials",
    ERROR,
    "Art. 32(1)",
    "A database password written in the data map",
    "read it from the environment: 'url: ${SHOP_DATABASE_URL}'",
)
def inline_credentials(loaded: LoadedMap) -> Iterator[Hit]:
    for name, system in loaded.model.systems.items():
        match = _INLINE_PASSWORD.match(system.url)
        if match and "${" not in match.group(1):
            yield Hit(("systems", name, "url"), f"system '{name}' has its password inline in the map", target=name)
