"""Processor mode: which controller a tenant is (Art. 28(3)(e)).

A tenant-scoped system (``tenant: {table: clients, key: id, name: name}``) lists its controllers
in a table of its own database. A request names a tenant by that table's key; its name is read
from the ``name`` column so a forwarded request records who it was forwarded to.
"""

from __future__ import annotations

import sqlalchemy as sa

from datavow.connectors.databases import Databases, borrowed
from datavow.connectors.sql import translate_errors
from datavow.datamap import LoadedMap
from datavow.datamap.model import Tenant
from datavow.errors import ErrorKind, PlanError, RequestError, shown
from datavow.plan.sql import NO_MATCH, reflected, typed_value


def tenant_systems(loaded: LoadedMap) -> dict[str, Tenant]:
    """Each tenant-scoped system of the map and how it names its tenants."""
    return {name: system.tenant for name, system in loaded.model.systems.items() if system.tenant is not None}


def controller_name(loaded: LoadedMap, tenant: str, databases: Databases | None = None) -> str:
    """The name of the controller ``tenant`` is, looked up in each tenant-scoped system's tenant
    table (on the engines of ``databases``, else on engines of its own). Raises
    :class:`RequestError` when the map has no tenants or no system knows this one."""
    systems = tenant_systems(loaded)
    if not systems:
        raise RequestError(
            f"the request names tenant {shown(tenant)}, but no system in the map is tenant-scoped: "
            "leave the tenant out, or declare 'tenant:' on the system that holds controllers' data",
            kind=ErrorKind.INVALID,
            field="tenant",
        )
    looked_in = []
    with borrowed(databases) as using:
        for system_name, spec in systems.items():
            name = _lookup(loaded, system_name, spec, tenant, using)
            if name is not None:
                return name
            looked_in.append(f"{system_name}.{spec.table}")
    raise RequestError(
        f"no tenant {shown(tenant)} in {', '.join(looked_in)}: name the tenant by its key "
        f"({', '.join(sorted({'/'.join(spec.key) for spec in systems.values()}))})",
        kind=ErrorKind.NOT_FOUND,
        field="tenant",
    )


def _lookup(loaded: LoadedMap, system_name: str, spec: Tenant, tenant: str, databases: Databases) -> str | None:
    parts = [part.strip() for part in tenant.split(",")] if len(spec.key) > 1 else [tenant]
    if len(parts) != len(spec.key):
        raise RequestError(
            f"tenants of {system_name} have a key of {len(spec.key)} columns: write them as 'a,b'",
            kind=ErrorKind.INVALID,
            field="tenant",
        )
    system = loaded.model.systems[system_name]
    declared = system.tables.get(spec.table)
    schema = (declared.schema_ if declared else None) or system.schema_
    engine = databases.engine(loaded.system_url(system_name), system=system_name)
    with translate_errors(engine.url, system_name), engine.connect() as connection:
        table = reflected(connection, schema, spec.table, system=system_name)
        missing = sorted({*spec.key, spec.name or spec.key[0]} - set(table.c.keys()))
        if missing:
            raise PlanError(
                f"{system_name}.{spec.table} has no column {', '.join(missing)}, which the map's tenant names — "
                "compare the map with the database (its drift check), then fix the map or the table"
            )
        # A tenant is named as text; compared as the key column holds it, so its index finds it.
        values = [typed_value(table.c[column], part) for column, part in zip(spec.key, parts, strict=True)]
        if any(value is NO_MATCH for value in values):
            return None
        condition = [table.c[column] == value for column, value in zip(spec.key, values, strict=True)]
        row = connection.execute(sa.select(table.c[spec.name or spec.key[0]]).where(*condition).limit(1)).first()
    if row is None:
        return None
    if spec.name is None:
        return f"tenant {tenant} of {system_name}"
    return str(row[0])
