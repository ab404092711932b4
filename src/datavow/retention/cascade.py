"""What follows a due row: the tables that reference it, as a plan the request planner's discovery
and erasure run (one engine for requests and sweeps, as ``DESIGN.md`` asks).

A retention plan starts at the rule's table, seeded with the keys of the due rows, and walks only
**child** links: a ticket's messages go with the ticket, a customer's users with the customer. It
never walks up to a parent: a ticket past its period says nothing about its requester. And it stays
in the rule's own database: a row in another database that names a due row is kept for that
database's own purposes and rules (the organisation's invoice to a customer whose platform account
is deleted), and no foreign key there can break.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import replace

from datavow.datamap.load import LoadedMap
from datavow.plan.model import Link, Plan, Step, TableKey


def cascade_plan(loaded: LoadedMap, start: TableKey) -> Plan:
    """The plan from ``start`` to every table of its system that references it, directly or further down."""
    known = {(ref.system_name, ref.table_name) for ref in loaded.tables() if ref.system_name == start[0]}
    referring: dict[TableKey, list[tuple[TableKey, Link]]] = {}
    for ref in loaded.tables():
        here = (ref.system_name, ref.table_name)
        if here not in known:
            continue
        for name, reference in ref.table.references.items():
            target = ref.target(reference)
            if target != here and target in known:
                link = Link(target, tuple(reference.columns), tuple(reference.target_columns), name, "child")
                referring.setdefault(target, []).append((here, link))
    order: list[TableKey] = [start]
    links: dict[TableKey, list[Link]] = {start: []}
    queue = deque([start])
    while queue:
        source = queue.popleft()
        for child, link in referring.get(source, []):
            if child == start:
                continue  # a cycle back to the rule's table: its own rows are chosen by the rule
            if child not in links:
                links[child] = []
                order.append(child)
                queue.append(child)
            links[child].append(link)
    return Plan(steps=with_reads([table_step(loaded, key, links[key]) for key in order]), identity_kinds=frozenset())


def table_step(
    loaded: LoadedMap, key: TableKey, links: Iterable[Link] = (), *, tenant_column: str | None = None
) -> Step:
    """The step of table ``key`` in a plan that starts from given rows (no identities)."""
    ref = loaded.table(*key)
    return Step(
        table=key,
        schema=ref.schema,
        key=tuple(ref.table.primary_key or ()),
        identities={},
        links=tuple(links),
        tenant_column=tenant_column,
        reads=(),
        subject=ref.table.subject,
    )


def with_reads(steps: Iterable[Step]) -> tuple[Step, ...]:
    """``steps``, each reading the columns that later links take from it."""
    listed = list(steps)
    return tuple(
        replace(
            step,
            reads=tuple(
                dict.fromkeys(
                    column
                    for other in listed
                    for link in other.links
                    if link.source == step.table
                    for column in link.source_columns
                )
            ),
        )
        for step in listed
    )
