"""Compiling a plan: which tables hold a person, reached how, in which order (no database touched).

The rules, and why, are in ``plan/model.py``, ``plan/ownership.py`` and ``docs/requests.md``. In
short: seed steps are the tables with an identity of a kind the request names; from the person's
own rows the walk goes down the references that own into a table (child), up a table's owning
reference to the row of the same subject it belongs to (owner), and up to the personal data the
rows point at in tables that identify nobody (parent), which leads nowhere further. Each table is
one step, however many ways lead to it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from datavow.datamap.load import LoadedMap, TableRef
from datavow.datamap.model import Reference
from datavow.errors import ErrorKind, PlanError, shown
from datavow.plan.identities import Form, Format, identity_formats
from datavow.plan.model import Direction, Link, Plan, Step, TableKey
from datavow.plan.ownership import ownership


def compile_plan(
    loaded: LoadedMap,
    identity_kinds: Iterable[str],
    *,
    tenant: str | None = None,
    systems: Iterable[str] | None = None,
    all_tenants: bool = False,
) -> Plan:
    """The plan that finds a person named by ``identity_kinds`` across the map's systems.

    ``systems`` limits the plan to some systems (default: with a ``tenant``, the systems that
    declare ``tenant:``; without one, the organisation's own systems, those that do not; all of
    them with ``all_tenants`` or when every system is a tenant system). ``tenant`` scopes every
    step of a tenant system to that tenant's rows; ``all_tenants`` plans a controller-wide request
    across every tenant instead.

    Raises :class:`PlanError` when no table holds any of the kinds, a kind is unknown, or the
    request cannot be kept to one tenant (see ``docs/requests.md``).
    """
    given = (identity_kinds,) if isinstance(identity_kinds, str) else tuple(identity_kinds)
    wanted = tuple(systems) if systems is not None else None
    key = ("plan", given, tenant, wanted, all_tenants)
    return loaded.derived(key, lambda: _compile(loaded, given, tenant, wanted, all_tenants))


def _compile(
    loaded: LoadedMap,
    identity_kinds: Iterable[str],
    tenant: str | None,
    systems: Iterable[str] | None,
    all_tenants: bool,
) -> Plan:
    kinds = _requested_kinds(loaded, identity_kinds)
    tenant = _tenant_text(tenant, all_tenants)
    chosen = _chosen_systems(loaded, systems, tenant, all_tenants)
    walk = _Walk(loaded, chosen, kinds)
    walk.run()
    keys = _discovery_order(walk)
    formats = identity_formats(loaded)
    steps = tuple(_step(walk, key, kinds, formats, tenant) for key in keys)
    _check_tenancy(loaded, walk, steps, tenant, all_tenants)
    return Plan(steps=steps, identity_kinds=frozenset(kinds), tenant=tenant, all_tenants=all_tenants)


# --------------------------------------------------------------------------- arguments


def _requested_kinds(loaded: LoadedMap, identity_kinds: Iterable[str]) -> list[str]:
    formats = identity_formats(loaded)
    kinds = [identity_kinds] if isinstance(identity_kinds, str) else list(dict.fromkeys(identity_kinds))
    carried = sorted({kind for ref in loaded.tables() for kind in ref.table.identity})
    known = f"this map finds people by {', '.join(carried)}" if carried else "no table of this map has an identity"
    if not kinds:
        raise PlanError(f"name at least one kind of identity — {known}", kind=ErrorKind.INVALID, field="identity")
    unknown = [kind for kind in kinds if kind not in formats]
    if unknown:
        raise PlanError(
            f"{', '.join(repr(k) for k in unknown)} is not a kind of identity this map knows — {known}",
            kind=ErrorKind.INVALID,
            field="identity",
        )
    if not set(kinds) & set(carried):
        raise PlanError(f"no table holds an identity of kind {', '.join(repr(k) for k in kinds)} — {known}")
    return kinds


def _tenant_text(tenant: str | None, all_tenants: bool) -> str | None:
    if tenant is None:
        return None
    text = str(tenant).strip()
    if not text:
        raise PlanError(
            "the tenant is empty — give the tenant's key, or leave it out", kind=ErrorKind.INVALID, field="tenant"
        )
    if all_tenants:
        raise PlanError(
            "a request is either for one tenant or for all tenants — give tenant or all_tenants, not both",
            kind=ErrorKind.INVALID,
            field="tenant",
        )
    return text


def _chosen_systems(
    loaded: LoadedMap, systems: Iterable[str] | None, tenant: str | None, all_tenants: bool = False
) -> list[str]:
    declared = list(loaded.model.systems)
    tenant_systems = [name for name, system in loaded.model.systems.items() if system.tenant is not None]
    if tenant is not None and not tenant_systems:
        raise PlanError(
            f"tenant {shown(tenant)} was given, but no system of this map declares 'tenant:' — "
            "leave the tenant out: this map holds no other controller's data",
            kind=ErrorKind.INVALID,
            field="tenant",
        )
    if systems is None:
        # A processor acts for one controller on that controller's data only: the processor's own
        # systems are not the tenant's to ask about. And the other way round: a request without a
        # tenant is about the organisation's own (controller) data, which its tenant systems hold
        # for other controllers. A map of tenant systems only still names the missing tenant.
        if tenant is not None:
            return tenant_systems
        own = [name for name in declared if name not in tenant_systems]
        return declared if all_tenants or not own else own
    chosen = [systems] if isinstance(systems, str) else list(dict.fromkeys(systems))
    unknown = [name for name in chosen if name not in loaded.model.systems]
    if unknown:
        raise PlanError(
            f"no system {', '.join(repr(n) for n in unknown)} in the map — its systems: {', '.join(declared)}",
            kind=ErrorKind.NOT_FOUND,
            field="systems",
        )
    if tenant is not None and not set(chosen) & set(tenant_systems):
        raise PlanError(
            f"tenant {shown(tenant)} was given, but none of {', '.join(chosen)} declares 'tenant:' — "
            f"leave the tenant out, or include {', '.join(tenant_systems)}",
            kind=ErrorKind.INVALID,
            field="tenant",
        )
    return chosen


# --------------------------------------------------------------------------- the walk


@dataclass
class _Node:
    ref: TableRef
    seed: bool
    found: int  # position in the walk: ties in the order go to the table found first
    links: list[Link] = field(default_factory=list)
    own: bool = False  # some of its rows can be the person's own (an identity or an owning reference leads here)


class _Walk:
    """Breadth-first from the seeds. From a table whose rows can be the person's own the walk goes
    down every reference that owns into it (child), up its owning reference to a table of its own
    subject (owner: the row it belongs to is the person's too), and up to the tables without
    identities that hold personal data it points at (parent: their address). Parent rows lead
    nowhere. A table already walked is walked again once an owning link makes its rows own."""

    def __init__(self, loaded: LoadedMap, systems: list[str], kinds: list[str]) -> None:
        self.tables = {(ref.system_name, ref.table_name): ref for ref in loaded.tables() if ref.system_name in systems}
        self.kinds = set(kinds)
        self.ownership = ownership(loaded)
        self.nodes: dict[TableKey, _Node] = {}
        # target table -> the (table, reference name, reference) owned through a reference to it
        self.owned: dict[TableKey, list[tuple[TableKey, str, Reference]]] = {}
        for key, ref in self.tables.items():
            for name, reference in ref.table.references.items():
                target = ref.target(reference)
                if target in self.tables and self.ownership.reading(key, name).owns:
                    self.owned.setdefault(target, []).append((key, name, reference))

    def run(self) -> None:
        queue: deque[TableKey] = deque()
        for key, ref in self.tables.items():
            if self.kinds & set(ref.table.identity):
                self._add(key, seed=True)
                queue.append(key)
        if not queue:
            wanted = ", ".join(sorted(self.kinds))
            raise PlanError(f"no table of the chosen systems holds an identity of kind {wanted}")
        done: set[TableKey] = set()
        while queue:
            key = queue.popleft()
            if key in done or not self.nodes[key].own:
                continue
            done.add(key)
            for child, name, reference in self.owned.get(key, []):
                link = Link(key, tuple(reference.columns), tuple(reference.target_columns), name, "child")
                self._link(child, link)
                queue.append(child)
            for target, name, reference, direction in self._upward(key):
                link = Link(key, tuple(reference.target_columns), tuple(reference.columns), name, direction)
                self._link(target, link)
                queue.append(target)

    def _add(self, key: TableKey, *, seed: bool) -> _Node:
        node = self.nodes.get(key)
        if node is None:
            node = self.nodes[key] = _Node(self.tables[key], seed, len(self.nodes), own=seed)
        return node

    def _link(self, key: TableKey, link: Link) -> None:
        node = self._add(key, seed=False)
        if link not in node.links:
            node.links.append(link)
        node.own = node.own or link.direction != "parent"

    def _came_by(self, key: TableKey, name: str) -> bool:
        """Its own rows all came down ``name`` (going back up it finds nothing new)."""
        node = self.nodes[key]
        own = [link for link in node.links if link.direction != "parent"]
        return not node.seed and bool(own) and all(link.direction == "child" and link.reference == name for link in own)

    def _upward(self, key: TableKey) -> list[tuple[TableKey, str, Reference, Direction]]:
        """The tables ``key``'s own rows lead up to: the row they belong to, when it is of the same
        subject and the table has one owner (``owner``); the personal data they point at in tables
        that identify nobody (``parent``)."""
        ref = self.tables[key]
        subject = self.ownership.subjects.get(key)
        owners = self.ownership.owners(key)
        found: list[tuple[TableKey, str, Reference, Direction]] = []
        for name, reference in ref.table.references.items():
            target = ref.target(reference)
            if target == key or target not in self.tables:
                continue
            reading = self.ownership.reading(key, name)
            target_subject = self.ownership.subjects.get(target)
            if reading.owns:
                if (
                    len(owners) == 1
                    and subject is not None
                    and target_subject == subject
                    and not self._came_by(key, name)
                ):
                    found.append((target, name, reference, "owner"))
                continue
            if reading.declared or reading.meaning == "ambiguous" or target in self.ownership.identifies:
                continue
            if not self.tables[target].table.personal_fields():
                continue
            if target_subject is None or target_subject == subject:
                found.append((target, name, reference, "parent"))
        return found


def _discovery_order(walk: _Walk) -> list[TableKey]:
    """Sources before the steps they lead to (Kahn's algorithm); where references form a cycle,
    the table found first goes first and discovery repeats steps until nothing new turns up."""
    waiting = {key: {link.source for link in node.links if link.source != key} for key, node in walk.nodes.items()}
    by_walk = sorted(walk.nodes, key=lambda key: walk.nodes[key].found)
    order: list[TableKey] = []
    placed: set[TableKey] = set()
    while len(order) < len(by_walk):
        ready = [key for key in by_walk if key not in placed and not waiting[key] - placed]
        chosen = ready[0] if ready else next(key for key in by_walk if key not in placed)
        order.append(chosen)
        placed.add(chosen)
    return order


# --------------------------------------------------------------------------- steps


def _step(walk: _Walk, key: TableKey, kinds: list[str], formats: Mapping[str, Format], tenant: str | None) -> Step:
    node = walk.nodes[key]
    table = node.ref.table
    identities = {kind: tuple(table.identity[kind]) for kind in kinds if kind in table.identity}
    normalise: dict[str, Form] = {}
    for kind, columns in identities.items():
        form: Format = formats[kind]
        if form != "integer":  # a whole number is compared as it is
            for column in columns:
                normalise.setdefault(column, form)
    reads: dict[str, None] = {}
    for other in walk.nodes.values():
        for link in other.links:
            if link.source == key:
                reads.update(dict.fromkeys(link.source_columns))
    return Step(
        table=key,
        schema=node.ref.schema,
        key=tuple(table.primary_key or ()),
        identities=identities,
        links=tuple(node.links),
        tenant_column=tenant_column(node.ref) if tenant is not None else None,
        reads=tuple(reads),
        subject=table.subject,
        normalise=normalise,
    )


def tenant_column(ref: TableRef) -> str | None:
    """The column naming a row's tenant: the table's ``tenant_column``, else the column of its one
    reference to the system's tenant table, else (the tenant table itself) its key."""
    tenant = ref.system.tenant
    if tenant is None:
        return None
    if ref.table.tenant_column is not None:
        return ref.table.tenant_column
    if len(tenant.key) != 1:
        return None
    if ref.table_name == tenant.table:
        return tenant.key[0]
    found = [
        reference.columns[0]
        for reference in ref.table.references.values()
        if ref.target(reference) == (ref.system_name, tenant.table) and reference.target_columns == tenant.key
    ]
    return found[0] if len(found) == 1 else None


def _check_tenancy(
    loaded: LoadedMap, walk: _Walk, steps: tuple[Step, ...], tenant: str | None, all_tenants: bool
) -> None:
    """Refuse a plan that could touch another tenant's rows."""
    for step in steps:
        system = loaded.model.systems[step.table[0]]
        if system.tenant is None:
            continue
        if tenant is None:
            if all_tenants:
                continue
            raise PlanError(
                f"{step.label} holds the data of several controllers (system '{step.table[0]}' declares tenant "
                f"'{system.tenant.table}') — name the tenant the request is for, or ask for all tenants on purpose"
            )
        if len(system.tenant.key) != 1:
            raise PlanError(
                f"system '{step.table[0]}' keys its tenants by {', '.join(system.tenant.key)}: a request can be "
                "scoped to a tenant only by a one-column key"
            )
        if step.tenant_column is not None:
            continue
        node = walk.nodes[step.table]
        if node.seed:
            raise PlanError(
                f"{step.label} finds people by {', '.join(step.identities)} but names no tenant: it would reach "
                f"other tenants' rows — give it 'tenant_column:', or a reference to {system.tenant.table}"
            )
        foreign = sorted({"{}.{}".format(*link.source) for link in step.links if link.source[0] != step.table[0]})
        if foreign:
            raise PlanError(
                f"{step.label} is reached from {', '.join(foreign)} in another system and names no tenant: it "
                f"would reach other tenants' rows — give it 'tenant_column:', or a reference to {system.tenant.table}"
            )


T = TypeVar("T")


def children_first(loaded: LoadedMap, items: Sequence[T], table: Callable[[T], TableKey]) -> list[T]:
    """``items`` (each about the table ``table(item)``) ordered so that a table comes before every
    table it references: the order deletes must take for foreign keys (a cycle: plan order)."""
    remaining = list(items)
    ordered: list[T] = []
    while remaining:
        tables = {table(item) for item in remaining}
        referenced = {
            target
            for item in remaining
            for reference in loaded.table(*table(item)).table.references.values()
            if (target := loaded.table(*table(item)).target(reference)) != table(item) and target in tables
        }
        chosen = next((item for item in remaining if table(item) not in referenced), remaining[0])
        remaining.remove(chosen)
        ordered.append(chosen)
    return ordered
