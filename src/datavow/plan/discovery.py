"""Running a plan: per step, the values that select the person's rows there, and how many rows.

Set-based: a step runs one SELECT for all the values it has, reading back only the DISTINCT
values of the columns later links need (``step.reads``) and a COUNT, never whole rows. Steps run in
plan order; when references form a cycle, a step that receives new values after it ran runs again,
until no step learns anything new (a fixed point: the values only grow, and the database is finite).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from datavow.connectors.sql import translate_errors
from datavow.datamap.load import LoadedMap
from datavow.errors import ErrorKind, PlanError, RequestError, shown
from datavow.plan.guard import identity_conditions, reach, require_one_person
from datavow.plan.identities import home_region, normal_forms
from datavow.plan.model import Discovery, Link, Plan, Selection, Step, TableKey
from datavow.plan.prepared import bind, execute, prepared
from datavow.plan.shared import shared_parents
from datavow.plan.sql import (
    NO_MATCH,
    conditions_match,
    reflect_table,
    reflected,
    selection_clauses,
    typed_value,
    unfit_tenant,
)

Conditions = dict[tuple[str, ...], set[tuple[object, ...]]]


def discover(
    loaded: LoadedMap,
    plan: Plan,
    identities: Mapping[str, Iterable[object]],
    connections: Mapping[str, sa.Connection],
    *,
    tenant: str | None = None,
    seeds: Mapping[TableKey, Conditions] | None = None,
    people: Sequence[Mapping[str, Iterable[object]]] | None = None,
    refuse_strangers: bool = True,
    check_tenant: bool = True,
) -> Discovery:
    """Run ``plan`` for the people named by ``identities`` (as :func:`parse_identities` gives
    them) over ``connections`` (one per system of the plan).

    ``seeds`` selects rows directly instead, per step: columns -> the value tuples they must match
    (a retention sweep seeds the keys of the rows that are due, and discovery follows the links
    from them as it does from a person's identities).

    A person found nowhere gives a discovery whose ``found_anything`` is false: no data held.
    ``tenant`` defaults to the plan's and must agree with it. ``Discovery.plan`` is the plan with
    each step's key filled in from the database where the map declares none.

    The guard (``plan/guard.py``) then counts the people the discovery reached: ``identities`` are
    one person, unless ``people`` lists them one by one (a batch). Reaching anyone else raises
    :class:`PlanError` naming the path that leaked; with ``refuse_strangers=False`` the count is
    only kept in ``Discovery.reach`` (a dry run shows it). Seeds are rows, not people: no guard.
    A plan's tenant that is not in its tenant table is refused, unless ``check_tenant`` is false
    (the caller looked it up already).
    """
    tenant = _tenant(plan, tenant)
    unknown = sorted(set(identities) - plan.identity_kinds)
    if unknown:
        raise PlanError(
            f"the plan was compiled for {', '.join(sorted(plan.identity_kinds))}, not {', '.join(unknown)} — "
            "compile it with every kind of identity the request names"
        )
    run = _Run(loaded, plan, connections, tenant)
    discovery = run.discover(identities, seeds or {}, check_tenant=check_tenant)
    if seeds or not identities:
        return discovery
    found = reach(run, list(people) if people is not None else [identities])
    if refuse_strangers:
        require_one_person(found)
    return replace(discovery, reach=found)


def _tenant(plan: Plan, tenant: str | None) -> str | None:
    if tenant is None:
        return plan.tenant
    if plan.tenant is None:
        raise PlanError(f"the plan was compiled without a tenant — compile it for tenant '{tenant}'")
    if str(tenant).strip() != plan.tenant:
        raise PlanError(f"the plan was compiled for tenant '{plan.tenant}', not '{tenant}'")
    return plan.tenant


@dataclass
class _State:
    """What one step knows so far."""

    step: Step
    table: sa.Table
    connection: sa.Connection
    tenant: object | None
    identities: Conditions = field(default_factory=dict)
    links: list[set[tuple[object, ...]]] = field(default_factory=list)  # values, by link
    rows: int = 0
    keys: set[tuple[object, ...]] | None = None  # the rows' primary keys, where the step reads them
    read: Conditions | None = None  # the values read so far, where a later run reads only new ones

    def conditions(self, *, own_only: bool = False) -> Conditions:
        merged: Conditions = {columns: set(values) for columns, values in self.identities.items()}
        for link, values in zip(self.step.links, self.links, strict=True):
            if not own_only or link.direction != "parent":
                merged.setdefault(link.columns, set()).update(values)
        return merged

    def has_values(self) -> bool:
        return any(self.identities.values()) or any(self.links)


class _Run:
    def __init__(
        self, loaded: LoadedMap, plan: Plan, connections: Mapping[str, sa.Connection], tenant: str | None
    ) -> None:
        self.loaded = loaded
        self.region = home_region(loaded)  # where a phone number or national id without a country is read
        self.plan = plan
        self.tenant = tenant
        self.states: dict[TableKey, _State] = {}
        for step in plan.steps:
            connection = connections.get(step.table[0])
            if connection is None:
                raise PlanError(f"no connection for system '{step.table[0]}', which the plan uses")
            table = reflect_table(loaded, step, connection)
            if not step.key:
                step = replace(step, key=tuple(column.name for column in table.primary_key.columns))
            scoped = self._tenant_value(table, step) if step.tenant_column else None
            self.states[step.table] = _State(step, table, connection, scoped, links=[set() for _ in step.links])
        # source -> (target, position of the link among the target's links, link)
        self.outgoing: dict[TableKey, list[tuple[TableKey, int, Link]]] = {}
        for step in plan.steps:
            for position, link in enumerate(step.links):
                self.outgoing.setdefault(link.source, []).append((step.table, position, link))
        # Parent rows (the address the person's rows point at) lead nowhere: a step that passes
        # values on and is also reached as a parent tells its own rows apart.
        self.tells_own = {
            key
            for key, state in self.states.items()
            if self.outgoing.get(key) and any(link.direction == "parent" for link in state.step.links)
        }

    def discover(
        self, identities: Mapping[str, Iterable[object]], seeds: Mapping[TableKey, Conditions], *, check_tenant: bool
    ) -> Discovery:
        if check_tenant:
            self._check_tenants_exist()
        for key, conditions in seeds.items():
            for columns, values in conditions.items():
                self.states[key].identities.setdefault(tuple(columns), set()).update(values)
        forms: dict[tuple[str, str | None], set[tuple[object, ...]]] = {}
        for state in self.states.values():
            for columns, values in identity_conditions(state.step, identities, self.region, forms).items():
                state.identities.setdefault(columns, set()).update(values)
        waiting = {key for key, state in self.states.items() if state.has_values()}
        while waiting:
            for step in self.plan.steps:
                if step.table in waiting:
                    waiting.discard(step.table)
                    if step.reads:
                        waiting.update(self._run(self.states[step.table]))
        # Leaves pass nothing on: they are counted once, at the end, with every value they got.
        self._count([state for state in self.states.values() if not state.step.reads and state.has_values()])
        selections = {
            key: Selection(
                state.step, state.conditions(), state.rows, state.tenant, shared_parents(self, state), state.keys
            )
            for key, state in self.states.items()
        }
        plan = replace(self.plan, steps=tuple(state.step for state in self.states.values()))
        return Discovery(plan=plan, selections=selections)

    def _run(self, state: _State) -> set[TableKey]:
        """Run one step with every value it has; return the steps that learnt something new."""
        step, table = state.step, state.table
        reads = [table.c[column] for column in step.reads]
        found: list[tuple[dict[str, object], bool]] = []
        # The key of every row read, where the step reads its whole key and compares it as it is
        # (a key column that is an identity is compared in its normal form: no key is kept then).
        key = step.key if step.key and set(step.key) <= set(step.reads) else ()
        keys: set[tuple[object, ...]] | None = set() if key and not any(c in step.normalise for c in key) else None
        conditions = state.conditions()
        # A step run again because it learnt new values (a user that tickets found by e-mail point
        # at) reads only the new ones, when its rows are told apart by their keys: a row read before
        # is known by its key and counted once. A batch would otherwise match its thousands of
        # addresses again. A step that tells its own rows apart reads everything each time.
        known, read = state.keys, state.read
        if keys is not None and known is not None and read is not None and step.table not in self.tells_own:
            keys = known
            reading = {columns: values - read.get(columns, set()) for columns, values in conditions.items()}
            reading = {columns: values for columns, values in reading.items() if values}
        else:
            state.rows, reading = 0, conditions

        def statement(clause: ColumnElement[bool], own: ColumnElement[bool] | None) -> sa.Select[Any]:
            flag = [sa.func.max(sa.case((own, 1), else_=0))] if own is not None else []
            return sa.select(*reads, *flag, sa.func.count()).where(clause).group_by(*reads)

        with translate_errors(state.connection.engine.url, step.table[0]):
            for row in self._read(state, statement, reading) if reading else ():
                values = dict(zip(step.reads, row, strict=False))
                if keys is not None:
                    row_key = tuple(values[column] for column in key)
                    if row_key in keys:  # read before, by values it had then: counted and passed on
                        continue
                    keys.add(row_key)
                state.rows += row[-1]
                is_own = step.table not in self.tells_own or bool(row[len(reads)])
                found.append((values, is_own))
        state.keys = keys
        state.read = conditions if keys is not None else None
        return self._pass_on(step, found)

    def _read(
        self,
        state: _State,
        statement: Callable[[ColumnElement[bool], ColumnElement[bool] | None], sa.Select[Any]],
        conditions: Conditions,
    ) -> Iterator[Sequence[Any]]:
        """The rows of ``statement(where, own)`` over ``conditions`` of the step, ``own`` telling the
        rows its own conditions select where the step must tell them apart (else None)."""
        step, table, connection = state.step, state.table, state.connection
        tells_own = step.table in self.tells_own
        if prepared(connection):
            bound = bind(table, step, conditions, state.tenant)
            own = (
                bind(table, step, state.conditions(own_only=True), None, prefix="o", scoped=False)
                if tells_own
                else None
            )
            if bound is None:
                return
            params = {**bound.params, **(own.params if own else {})}
            key = ("discover", bound.key, step.reads, tells_own, own.key if own else None)

            def build() -> sa.Select[Any]:
                # A step that tells its own rows but has none of its own flags every row "not own".
                own_clause = (own.clause() if own else sa.false()) if tells_own else None
                return statement(bound.clause(), own_clause)

            yield from execute(connection, key, build, params)
            return
        dialect = connection.dialect.name
        own_match = None
        if tells_own:
            own_match = conditions_match(table, step, state.conditions(own_only=True), dialect)
            own_match = sa.false() if own_match is None else own_match
        selection = Selection(step, conditions, tenant=state.tenant)
        for clause in selection_clauses(table, selection, dialect):
            yield from connection.execute(statement(clause, own_match))

    def _count(self, leaves: list[_State]) -> None:
        """Count the rows of each leaf: on PostgreSQL one statement per system (a scalar subquery
        per leaf: one round trip, however many tables); elsewhere one per leaf and WHERE clause,
        since the subqueries together could carry more parameters than one statement may."""
        by_system: dict[str, list[_State]] = {}
        for state in leaves:
            by_system.setdefault(state.step.table[0], []).append(state)
        for system, states in by_system.items():
            connection = states[0].connection
            dialect = connection.dialect.name
            if prepared(connection):
                with translate_errors(connection.engine.url, system):
                    self._count_prepared(connection, states)
                continue
            counts: list[tuple[_State, sa.ScalarSelect[int]]] = [
                (state, sa.select(sa.func.count()).select_from(state.table).where(clause).scalar_subquery())
                for state in states
                for clause in selection_clauses(
                    state.table, Selection(state.step, state.conditions(), tenant=state.tenant), dialect
                )
            ]
            statements = [counts] if dialect == "postgresql" else [[count] for count in counts]
            with translate_errors(connection.engine.url, system):
                for together in statements:
                    if not together:
                        continue
                    row = connection.execute(sa.select(*(count for _, count in together))).one()
                    for (state, _), rows in zip(together, row, strict=True):
                        state.rows += rows

    def _count_prepared(self, connection: sa.Connection, states: list[_State]) -> None:
        """PostgreSQL: one statement for all of a system's leaves, built once per shape."""
        bound = [
            (state, b)
            for n, state in enumerate(states)
            if (b := bind(state.table, state.step, state.conditions(), state.tenant, prefix=f"c{n}_")) is not None
        ]
        if not bound:
            return

        def statement() -> sa.Select[Any]:
            counts = (sa.select(sa.func.count()).select_from(b.table).where(b.clause()) for _, b in bound)
            return sa.select(*(count.scalar_subquery() for count in counts))

        params = {name: value for _, b in bound for name, value in b.params.items()}
        (row,) = execute(connection, ("count", *(b.key for _, b in bound)), statement, params)
        for (state, _), rows in zip(bound, row, strict=True):
            state.rows += rows

    def _pass_on(self, step: Step, found: list[tuple[dict[str, object], bool]]) -> set[TableKey]:
        grown: set[TableKey] = set()
        for target, position, link in self.outgoing.get(step.table, []):
            target_state = self.states[target]
            values = target_state.links[position]
            before = len(values)
            form = target_state.step.normalise.get(link.columns[0]) if len(link.columns) == 1 else None
            for row, is_own in found:
                if not is_own:
                    continue
                key = tuple(row[column] for column in link.source_columns)
                if any(v is None for v in key):
                    continue
                if form is None:
                    values.add(key)
                else:
                    values.update((v,) for v in normal_forms(form, key[0], self.region))
            if len(values) > before:
                grown.add(target)
        return grown

    def _tenant_value(self, table: sa.Table, step: Step) -> object:
        assert step.tenant_column is not None and self.tenant is not None
        column = table.c[step.tenant_column]
        value = typed_value(column, self.tenant)
        if value is NO_MATCH:
            raise unfit_tenant(self.tenant, f"{step.label}.{step.tenant_column}", column)
        return value

    def _check_tenants_exist(self) -> None:
        """A mistyped tenant would find "no data held": refuse it instead."""
        systems = {key[0]: state for key, state in self.states.items() if state.step.tenant_column}
        for system_name, state in systems.items():
            tenant = self.loaded.model.systems[system_name].tenant
            assert tenant is not None
            declared = self.loaded.model.systems[system_name].tables.get(tenant.table)
            schema = (declared.schema_ if declared else None) or self.loaded.model.systems[system_name].schema_
            table = reflected(state.connection, schema, tenant.table, system=system_name)
            column = table.c[tenant.key[0]]
            value = typed_value(column, self.tenant)
            found = None
            if value is not NO_MATCH:
                statement = sa.select(sa.literal(1)).select_from(table).where(column == value).limit(1)
                with translate_errors(state.connection.engine.url, system_name):
                    found = state.connection.execute(statement).first()
            if found is None:
                raise RequestError(
                    f"tenant {shown(self.tenant)} is not in {system_name}.{tenant.table} — "
                    f"check the tenant's {tenant.key[0]}",
                    kind=ErrorKind.NOT_FOUND,
                    field="tenant",
                )
