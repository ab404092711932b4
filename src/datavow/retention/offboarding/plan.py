"""Which rows of a tenant-scoped system are one controller's: one plan for returning them and for
deleting them, so that what is deleted is exactly what was returned.

The plan starts at the system's tenant table and follows the references to it (the retention
cascade, :func:`datavow.retention.cascade.cascade_plan`), then adds every other table that names
its tenant. A row is the controller's

- in a table with a tenant column (the table's ``tenant_column``, or its one reference to the
  tenant table): when that column names the tenant, whatever else the row points at;
- in a table without one (a user's sessions): when it references a row of the controller's in a
  table before it (the row's user).

A table of the system that neither names its tenant nor reaches the tenant table through its
references (a shared list of countries) holds nobody's rows and is left alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import sqlalchemy as sa

from datavow.datamap.load import LoadedMap
from datavow.errors import ErrorKind, PlanError
from datavow.plan.model import Plan, Step, TableKey
from datavow.plan.planner import tenant_column
from datavow.plan.sql import NO_MATCH, typed_value, unfit_tenant
from datavow.retention.cascade import cascade_plan, table_step, with_reads

Seeds = dict[TableKey, dict[tuple[str, ...], set[tuple[object, ...]]]]


def tenant_table(loaded: LoadedMap, system: str) -> TableKey:
    """The system's tenant table; :class:`PlanError` for an unknown system or one without tenants."""
    spec = loaded.model.systems.get(system)
    if spec is None:
        raise PlanError(
            f"no system '{system}' in the map — its systems: {', '.join(loaded.model.systems)}",
            kind=ErrorKind.NOT_FOUND,
            field="system",
        )
    if spec.tenant is None:
        raise PlanError(
            f"system '{system}' declares no 'tenant:', so it holds no controller's data as a processor — "
            "offboard a tenant of a system with 'tenant: {table: ..., key: ...}'",
            kind=ErrorKind.INVALID,
            field="system",
        )
    if len(spec.tenant.key) != 1:
        raise PlanError(
            f"system '{system}' keys its tenants by {', '.join(spec.tenant.key)}: offboarding needs one",
            kind=ErrorKind.INVALID,
            field="system",
        )
    if spec.tenant.table not in spec.tables:
        raise PlanError(f"system '{system}' names tenant table '{spec.tenant.table}', which the map does not declare")
    return (system, spec.tenant.table)


def tenant_system(loaded: LoadedMap, system: str | None = None) -> str:
    """``system``, checked, or the map's one system with tenants when not given."""
    if system is not None:
        tenant_table(loaded, system)
        return system
    found = [name for name, spec in loaded.model.systems.items() if spec.tenant is not None]
    if len(found) != 1:
        which = f"several ({', '.join(found)})" if found else "none"
        raise PlanError(
            f"the map has {which} systems with 'tenant:' — name the system the tenant is in",
            kind=ErrorKind.INVALID,
            field="system",
        )
    return found[0]


def tenant_plan(loaded: LoadedMap, system: str, tenant: str) -> Plan:
    """The plan whose discovery, seeded by :func:`tenant_seeds`, selects every row of ``tenant``."""
    start = tenant_table(loaded, system)
    steps: list[Step] = []
    for step in cascade_plan(loaded, start).steps:
        column = tenant_column(loaded.table(*step.table))
        # A row's own tenant column says whose it is: it needs no link (and must not follow one
        # into another tenant's rows).
        steps.append(replace(step, links=(), tenant_column=column) if column else step)
    planned = {step.table for step in steps}
    for ref in loaded.tables():
        key = (ref.system_name, ref.table_name)
        if ref.system_name == system and key not in planned and (column := tenant_column(ref)):
            steps.append(table_step(loaded, key, tenant_column=column))
    return Plan(steps=with_reads(steps), identity_kinds=frozenset(), tenant=str(tenant).strip())


def tenant_seeds(plan: Plan) -> Seeds:
    """Discovery's seeds: every step with a tenant column starts from the rows it names."""
    assert plan.tenant is not None
    return {step.table: {(step.tenant_column,): {(plan.tenant,)}} for step in plan.steps if step.tenant_column}


def membership(plan: Plan, tables: Mapping[TableKey, sa.Table]) -> dict[TableKey, sa.ColumnElement[bool]]:
    """Per step, the SQL condition true for the tenant's rows of its (reflected) table: the
    tenant column, or a link to the tenant's rows of the table it references."""
    assert plan.tenant is not None
    conditions: dict[TableKey, sa.ColumnElement[bool]] = {}
    for step in plan.steps:  # plan order: a link's source comes first
        table = tables[step.table]
        if step.tenant_column:
            column = table.c[step.tenant_column]
            value = typed_value(column, plan.tenant)
            if value is NO_MATCH:
                raise unfit_tenant(plan.tenant, f"{step.label}.{step.tenant_column}", column)
            conditions[step.table] = column == sa.bindparam(None, value, type_=column.type)
            continue
        matches = []
        for link in step.links:
            if link.source not in conditions:
                continue  # a cycle: the source's rows are decided after this table's
            source = tables[link.source]
            chosen = sa.select(*(source.c[name] for name in link.source_columns)).where(conditions[link.source])
            mine = [table.c[name] for name in link.columns]
            matches.append(mine[0].in_(chosen) if len(mine) == 1 else sa.tuple_(*mine).in_(chosen))
        conditions[step.table] = sa.or_(*matches) if matches else sa.false()
    return conditions
