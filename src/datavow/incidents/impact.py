"""How many people and records an incident affects, counted in the live databases, per tenant.

Counting is set-based: per affected table one ``SELECT … GROUP BY tenant`` over the rows in scope,
and per system one more over the ``UNION ALL`` of those rows, for the people across its tables.
No row is read into Python.

- **Whose tenant a row is** follows the tenant scoping of offboarding
  (:func:`datavow.retention.offboarding.plan.tenant_plan`): the row's own tenant column, else the tenant
  of the row it references (a session's user), joined, never looked up row by row.
- **Who a row is about** follows the planner's rule for a person's own rows
  (``plan/ownership.py``): a row that belongs, through its one owning reference, to a row of the
  same subject is that person's (a session, a login of a known user); otherwise it is about
  whoever its own identity names (a ticket's requester, an attempted login by an unknown address);
  a row of a subject with neither is one person (a sole trader's supplier record). People are told
  apart by their identity, normalised as the planner compares it (an e-mail address in lower
  case), so that the same user counts once across users, sessions and logins. Rows of tables
  without a subject (a tenant's materials) are records, not people.

The totals over systems add the systems up: one human in two databases counts twice, which is
why a notice calls the number approximate (Art. 33(3)(a) asks for approximate numbers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from datavow.connectors.databases import Databases, borrowed
from datavow.connectors.sql import translate_errors
from datavow.datamap.load import LoadedMap, TableRef
from datavow.errors import ErrorKind, shown
from datavow.incidents.assessment import Scope, describe
from datavow.incidents.errors import IncidentError
from datavow.plan.identities import identity_formats
from datavow.plan.matching import column_form
from datavow.plan.model import Plan, Step, TableKey
from datavow.plan.ownership import ownership
from datavow.plan.sql import NO_MATCH, reflected, typed_value
from datavow.retention.offboarding.plan import tenant_plan, tenant_table

# Joins followed from one table, at most: references deeper than this name nobody new.
_DEPTH = 4


def count_impact(
    loaded: LoadedMap, scope: Scope, *, databases: Databases | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Count the people and records the incident affects, per table and per tenant, and say which
    controllers (tenants) are affected, on the engines of ``databases`` (the application's) or of
    databases of its own. The result is stored with the incident as its ``impact``."""
    tables: list[dict[str, Any]] = []
    systems: dict[str, dict[str, Any]] = {}
    controllers: list[dict[str, Any]] = []
    by_system: dict[str, list[TableKey]] = {}
    for key in scope.tables:
        by_system.setdefault(key[0], []).append(key)
    with borrowed(databases) as using:
        engines = using.engines(loaded, by_system)
        for system, keys in by_system.items():
            engine = engines[system]
            with engine.connect() as connection, translate_errors(engine.url, system):
                counted = _System(loaded, scope, system, connection)
                found = counted.tables(keys)
                people = counted.people(keys)
                names = counted.tenant_names({t for row in found for t in row["by_tenant"]} - {""})
            tables.extend(found)
            systems[system] = {"people": sum(people.values()), "by_tenant": people}
            controllers.extend(_controllers(loaded, system, found, names))
    categories = list(dict.fromkeys(c for row in tables if row["records"] for c in row["categories"]))
    return {
        "counted_at": (now or datetime.now(UTC)).isoformat(),
        "scope": scope.to_dict(),
        "tables": tables,
        "systems": systems,
        "records": sum(row["records"] for row in tables),
        "people": sum(item["people"] for item in systems.values()),
        "categories": categories,
        "category_names": {c: n for row in tables for c, n in row["category_names"].items()},
        "special": {c: a for row in tables if row["records"] for c, a in row["special"].items()},
        "subjects": sorted({row["subject_name"] for row in tables if row["records"] and row["subject"]}),
        "roles": sorted({r for row in tables if row["records"] for r in row["roles"]}),
        "controllers": controllers,
    }


def tenant_share(impact: Mapping[str, Any], system: str, tenant: str) -> dict[str, Any]:
    """The part of ``impact`` that is one controller's: its tables, records and people only."""
    tables = []
    for row in impact["tables"]:
        counts = row["by_tenant"].get(tenant) if row["system"] == system else None
        if counts and counts["records"]:
            tables.append({**row, "records": counts["records"], "people": counts["people"], "by_tenant": {}})
    people = impact["systems"].get(system, {}).get("by_tenant", {}).get(tenant, 0)
    return {
        **impact,
        "tables": tables,
        "systems": {system: {"people": people, "by_tenant": {tenant: people}}},
        "records": sum(row["records"] for row in tables),
        "people": people,
        "categories": list(dict.fromkeys(c for row in tables for c in row["categories"])),
        "special": {c: a for row in tables for c, a in row["special"].items()},
        "subjects": sorted({row["subject_name"] for row in tables if row["subject"]}),
        "controllers": [c for c in impact["controllers"] if (c["system"], c["tenant"]) == (system, tenant)],
    }


def _controllers(
    loaded: LoadedMap, system: str, found: list[dict[str, Any]], names: Mapping[str, str | None]
) -> list[dict[str, Any]]:
    """The tenants of a tenant system with rows in scope: the controllers to tell (Art. 33(2))."""
    if loaded.model.systems[system].tenant is None:
        return []
    affected = {
        t for row in found for t, n in row["by_tenant"].items() if t and n["records"] and "processor" in row["roles"]
    }
    return [{"system": system, "tenant": t, "name": names.get(t)} for t in sorted(affected, key=_natural)]


def _natural(tenant: str) -> tuple[int, str]:
    return (int(tenant), "") if tenant.isdigit() else (1 << 62, tenant)


@dataclass
class _Rows:
    """One table's rows in scope, as a FROM clause with its joins and two expressions: the row's
    tenant (as text) and the person it is about (None: it is about nobody)."""

    key: TableKey
    source: sa.FromClause
    tenant: ColumnElement[Any]
    person: ColumnElement[Any] | None
    where: list[ColumnElement[bool]]

    def select(self) -> sa.Select[Any]:
        person = self.person if self.person is not None else sa.null()
        return (
            sa.select(self.tenant.label("tenant"), person.label("person")).select_from(self.source).where(*self.where)
        )


class _System:
    """The counting statements of one system."""

    def __init__(self, loaded: LoadedMap, scope: Scope, system: str, connection: sa.Connection) -> None:
        self.loaded = loaded
        self.scope = scope
        self.system = system
        self.connection = connection
        self.formats = identity_formats(loaded)
        spec = loaded.model.systems[system]
        # The tenant value does not shape the plan, only the rows it would start from.
        self.tenancy: Plan | None = tenant_plan(loaded, system, "scope") if spec.tenant is not None else None
        self._aliases = 0
        self._rows: dict[TableKey, _Rows] = {}

    def table(self, key: TableKey) -> sa.Table:
        ref = self.loaded.table(*key)
        return reflected(self.connection, ref.schema, key[1], system=key[0])

    def rows(self, key: TableKey) -> _Rows:
        if key not in self._rows:
            self._rows[key] = self._build(key)
        return self._rows[key]

    def tables(self, keys: list[TableKey]) -> list[dict[str, Any]]:
        found = []
        for key in keys:
            inner = self.rows(key).select().subquery("in_scope")
            statement = sa.select(inner.c.tenant, sa.func.count(), sa.func.count(sa.distinct(inner.c.person))).group_by(
                inner.c.tenant
            )
            by_tenant = {
                "" if tenant is None else str(tenant): {"records": int(records), "people": int(people)}
                for tenant, records, people in self.connection.execute(statement)
            }
            described = describe(self.loaded, key)
            has_people = self.rows(key).person is not None
            found.append(
                {
                    **described,
                    "records": sum(c["records"] for c in by_tenant.values()),
                    "people": sum(c["people"] for c in by_tenant.values()) if has_people else None,
                    "by_tenant": {
                        t: {**c, "people": c["people"] if has_people else None}
                        for t, c in sorted(by_tenant.items(), key=lambda item: _natural(item[0]))
                    },
                }
            )
        return found

    def people(self, keys: list[TableKey]) -> dict[str, int]:
        """Distinct people per tenant over every affected table of the system."""
        selects = [self.rows(key).select() for key in keys if self.rows(key).person is not None]
        if not selects:
            return {}
        union = sa.union_all(*selects).subquery("people")
        statement = sa.select(union.c.tenant, sa.func.count(sa.distinct(union.c.person))).group_by(union.c.tenant)
        return {"" if t is None else str(t): int(n) for t, n in self.connection.execute(statement)}

    def tenant_names(self, tenants: set[str]) -> dict[str, str | None]:
        """The affected tenants' names; refuses a tenant named in the scope that is not there."""
        spec = self.loaded.model.systems[self.system]
        if spec.tenant is None:
            return {}
        _, name = tenant_table(self.loaded, self.system)
        table = self.table((self.system, name))
        key = table.c[spec.tenant.key[0]]
        wanted = set(tenants) | set(self.scope.tenants)
        values = [v for t in wanted if (v := typed_value(key, t)) is not NO_MATCH]
        named = table.c[spec.tenant.name] if spec.tenant.name else sa.null()
        names: dict[str, str | None] = {}
        if values:
            for found, name_of in self.connection.execute(sa.select(key, named).where(key.in_(values))):
                names[str(found)] = None if name_of is None else str(name_of)
        unknown = [t for t in self.scope.tenants if t not in names]
        if unknown:
            raise IncidentError(
                f"tenant {', '.join(shown(t) for t in unknown)} is not in {self.system}.{name} — check the tenant's "
                f"{key.name}, or name no tenant to count every tenant",
                kind=ErrorKind.NOT_FOUND,
                field="tenant",
            )
        return names

    # ----------------------------------------------------------------------- one table's rows

    def _build(self, key: TableKey) -> _Rows:
        table = self.table(key)
        joins = _Joins(table)
        tenant = self._tenant(key, table, joins, 0)
        ref = self.loaded.table(*key)
        person = self._person(ref, table, joins, 0) if ref.table.subject else None
        where = self._window(key, table)
        text = sa.cast(tenant, sa.String) if tenant is not None else sa.cast(sa.null(), sa.String)
        if self.scope.tenants and tenant is not None:
            values = [v for t in self.scope.tenants if (v := typed_value(tenant, t)) is not NO_MATCH]
            where.append(tenant.in_(values) if values else sa.false())
        elif self.scope.tenants:
            where.append(sa.false())  # a table of no tenant holds none of the named tenants' rows
        return _Rows(key, joins.source, text, person, where)

    def _step(self, key: TableKey) -> Step | None:
        if self.tenancy is None:
            return None
        return next((step for step in self.tenancy.steps if step.table == key), None)

    def _tenant(self, key: TableKey, here: sa.FromClause, joins: _Joins, depth: int) -> ColumnElement[Any] | None:
        step = self._step(key)
        if step is None or depth > _DEPTH:
            return None
        if step.tenant_column:
            column: ColumnElement[Any] = here.c[step.tenant_column]
            return column
        for link in step.links:
            parent = joins.to(here, link.columns, self.table(link.source), link.source_columns)
            found = self._tenant(link.source, parent, joins, depth + 1)
            if found is not None:
                return found
        return None

    def _person(self, ref: TableRef, here: sa.FromClause, joins: _Joins, depth: int) -> ColumnElement[Any] | None:
        own = self._identity(ref, here)
        parent = self._same_subject_parent(ref)
        through = None
        if parent is not None and depth < _DEPTH:
            target, reference = parent
            table = self.table(self._key(target))
            joined = joins.to(here, reference.columns, table, reference.target_columns)
            through = self._person(target, joined, joins, depth + 1)
        if through is not None and own is not None:
            return sa.func.coalesce(through, own)
        if through is not None or own is not None:
            return through if through is not None else own
        key = list(ref.table.primary_key or ()) or [c.name for c in self.table(self._key(ref)).primary_key.columns]
        if not key:
            return None
        text: ColumnElement[Any] = sa.literal(f"{ref.label}:", sa.String)
        for position, column in enumerate(key):
            text = text + (sa.literal("|", sa.String) if position else sa.literal("", sa.String))
            text = text + sa.cast(here.c[column], sa.String)
        return text

    @staticmethod
    def _key(ref: TableRef) -> TableKey:
        return ref.system_name, ref.table_name

    def _same_subject_parent(self, ref: TableRef) -> tuple[TableRef, Any] | None:
        """The row this one belongs to, as requests read it (``plan/ownership.py``): the table's one
        owning reference, to a table of the same subject in the same database. A row that merely
        names someone (an order's employee) is not about them; two owners would be two people."""
        readings = ownership(self.loaded)
        key = self._key(ref)
        owners = readings.owners(key)
        if len(owners) != 1:
            return None
        owner = owners[0]
        system, table = owner.target
        if system != ref.system_name or table not in ref.system.tables:
            return None
        if readings.subjects.get(owner.target) != readings.subjects.get(key):
            return None
        return self.loaded.table(system, table), ref.table.references[owner.name]

    def _identity(self, ref: TableRef, here: sa.FromClause) -> ColumnElement[Any] | None:
        """The row's first identity, as text in the form the planner compares, named by its kind."""
        for kind, columns in ref.table.identity.items():
            column: ColumnElement[Any] = sa.cast(here.c[columns[0]], sa.String)
            form = self.formats.get(kind)
            if form is not None and form != "integer":
                column = column_form(column, form)
            return sa.literal(f"{kind}:", sa.String) + column
        return None

    def _window(self, key: TableKey, table: sa.Table) -> list[ColumnElement[bool]]:
        if self.scope.since is None and self.scope.until is None:
            return []
        name = self.scope.time_columns[key]
        if name not in table.c:
            raise IncidentError(
                f"{key[0]}.{key[1]} has no column {name!r} in the database for the window",
                kind=ErrorKind.INVALID,
                field="time_columns",
            )
        column = table.c[name]
        where = []
        if self.scope.since is not None:
            where.append(column >= _bound(column, self.scope.since))
        if self.scope.until is not None:
            where.append(column < _bound(column, self.scope.until))
        return where


def _bound(column: sa.Column[Any], moment: datetime) -> datetime | date:
    """``moment`` as the column holds time: a date, naive UTC (a column without a zone holds UTC, as
    datavow's demo and most applications write it), or aware."""
    kind = column.type
    if isinstance(kind, sa.Date) and not isinstance(kind, sa.DateTime):
        return moment.astimezone(UTC).date()
    if isinstance(kind, sa.DateTime) and kind.timezone:
        return moment.astimezone(UTC)
    return moment.astimezone(UTC).replace(tzinfo=None)


class _Joins:
    """The FROM clause of one table's rows, growing a LEFT JOIN per reference followed; each
    target a fresh alias, so a table reached twice (a user's company and the user's) stays apart."""

    def __init__(self, table: sa.Table) -> None:
        self.source: sa.FromClause = table
        self.count = 0

    def to(
        self, here: sa.FromClause, columns: Sequence[str], target: sa.Table, targets: Sequence[str]
    ) -> sa.FromClause:
        # A reference names a key of its target, so a LEFT JOIN along it never repeats a row.
        self.count += 1
        alias = target.alias(f"j{self.count}")
        on = sa.and_(*(alias.c[t] == here.c[c] for c, t in zip(columns, targets, strict=True)))
        self.source = self.source.outerjoin(alias, on)
        return alias
