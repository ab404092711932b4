"""What an incident affects, read from the map, and what follows from its risk level.

The scope names tables (``system.table``) or whole systems, optionally a time window on each table's
time column and some tenants. From the map come the data categories and subjects of those tables,
whether special categories (Art. 9) or criminal data (Art. 10) are among them, and the roles the
organisation holds: **processor** for the rows of a system that declares ``tenant:`` (its tenants are
the controllers), **controller** for its own systems and for any purpose of the table whose ``role``
is controller (a platform's security logs). The duties follow from role and risk:

- the authority is told (Art. 33(1)) when the organisation is controller of affected data and the
  breach is likely to result in a risk; a processor's duty is to tell its controllers (33(2));
- the people are told (Art. 34(1)) when the risk is high, unless 34(3)(a) (encrypted) or (b)
  (mitigated) applies; under 34(3)(c) (disproportionate effort) they are told by a public
  communication instead, which is still a notice to the people.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from datavow.datamap.load import LoadedMap, TableRef
from datavow.datamap.model import Role
from datavow.errors import ErrorKind
from datavow.incidents.errors import IncidentError
from datavow.plan.model import TableKey


@dataclass(frozen=True)
class Scope:
    """What the analysis counts: these tables, rows in the window (``since`` inclusive, ``until``
    exclusive, on each table's time column), of these tenants (none named: every tenant)."""

    tables: tuple[TableKey, ...]
    tenants: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    time_columns: Mapping[TableKey, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "tables": [f"{s}.{t}" for s, t in self.tables],
            "tenants": list(self.tenants),
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "time_columns": {f"{s}.{t}": column for (s, t), column in self.time_columns.items()},
        }


def resolve_scope(
    loaded: LoadedMap,
    *,
    tables: Iterable[str] = (),
    systems: Iterable[str] = (),
    tenants: Iterable[str] = (),
    since: datetime | None = None,
    until: datetime | None = None,
    time_columns: Mapping[str, str] | None = None,
) -> Scope:
    """The scope named by table labels (``system.table``) and system names, checked against the map."""
    chosen: dict[TableKey, None] = {}
    for name in systems:
        if name not in loaded.model.systems:
            raise IncidentError(
                f"no system {name!r} in the map — its systems: {', '.join(loaded.model.systems)}",
                kind=ErrorKind.INVALID,
                field="tables",
            )
        chosen.update(dict.fromkeys(key for key in _personal_tables(loaded) if key[0] == name))
    for label in tables:
        chosen[_table_key(loaded, label)] = None
    if not chosen:
        raise IncidentError(
            "name what the incident affects: its tables (system.table), or whole systems for all their tables",
            kind=ErrorKind.INVALID,
            field="tables",
        )
    tenant_list = tuple(dict.fromkeys(str(t).strip() for t in tenants if str(t).strip()))
    if tenant_list and not any(loaded.model.systems[s].tenant is not None for s, _ in chosen):
        raise IncidentError(
            "tenants were named, but none of the affected systems declares 'tenant:' — leave them out",
            kind=ErrorKind.INVALID,
            field="tenant",
        )
    if since is not None and until is not None and since >= until:
        raise IncidentError(
            f"the window is empty: its start {since.isoformat()} is not before its end {until.isoformat()}",
            kind=ErrorKind.INVALID,
            field="window",
        )
    columns = {_table_key(loaded, label): column for label, column in (time_columns or {}).items()}
    stray = [f"{s}.{t}" for s, t in columns if (s, t) not in chosen]
    if stray:
        raise IncidentError(
            f"a time column is named for {', '.join(stray)}, which the incident does not affect",
            kind=ErrorKind.INVALID,
            field="time_columns",
        )
    if since is not None or until is not None:
        for key in chosen:
            if key not in columns:
                columns[key] = _time_column(loaded.table(*key))
    return Scope(tuple(chosen), tenant_list, since, until, columns)


def _table_key(loaded: LoadedMap, label: str) -> TableKey:
    system, dot, table = label.strip().partition(".")
    if not dot or system not in loaded.model.systems or table not in loaded.model.systems[system].tables:
        known = ", ".join(ref.label for ref in loaded.tables())
        raise IncidentError(
            f"{label!r} is not a table of the map: write system.table, one of {known}",
            kind=ErrorKind.INVALID,
            field="tables",
        )
    return system, table


def _personal_tables(loaded: LoadedMap) -> list[TableKey]:
    return [(ref.system_name, ref.table_name) for ref in loaded.tables() if ref.table.subject or _categories(ref)]


def _time_column(ref: TableRef) -> str:
    """The column a window applies to by default: the table's retention rule's moment, when it is
    a column of the table itself (a login's ``at``, a session's ``created_at``)."""
    rule = ref.table.retention
    if rule is not None and rule.after.table is None:
        return rule.after.column
    raise IncidentError(
        f"{ref.label} has no time column for the window: name the column the window applies to in {ref.label}, "
        "or leave the window out and count the whole table",
        kind=ErrorKind.INVALID,
        field="time_columns",
    )


def _categories(ref: TableRef) -> list[str]:
    return list(dict.fromkeys(key for f in ref.table.personal_fields().values() for key in f.category))


def roles(ref: TableRef, loaded: LoadedMap) -> list[str]:
    """``processor`` for a tenant system's rows, ``controller`` for the organisation's own data."""
    found = []
    if ref.system.tenant is not None:
        found.append("processor")
    purposes = [loaded.model.purposes[name] for name in ref.table.purposes if name in loaded.model.purposes]
    if ref.system.tenant is None or any(p.role == Role.controller for p in purposes):
        found.append("controller")
    return found


def describe(loaded: LoadedMap, key: TableKey) -> dict[str, object]:
    """What the map says a table holds: subject, categories, special categories, roles."""
    ref = loaded.table(*key)
    categories = _categories(ref)
    special = [c for c in categories if loaded.taxonomy.special_article(c)]
    subject = loaded.model.subjects.get(ref.table.subject) if ref.table.subject else None
    return {
        "table": ref.label,
        "system": ref.system_name,
        "system_name": ref.system.name or ref.system_name,
        "subject": ref.table.subject,
        "subject_name": subject.name if subject is not None else ref.table.subject,
        "categories": categories,
        "category_names": {c: _category_name(loaded, c) for c in categories},
        "special": {c: loaded.taxonomy.special_article(c) for c in special},
        "roles": roles(ref, loaded),
    }


def _category_name(loaded: LoadedMap, key: str) -> str:
    category = loaded.taxonomy.categories.get(key)
    return category.name if category is not None else key


def duties(impact_roles: Iterable[str], risk: str, exemption: str | None) -> tuple[bool, bool]:
    """(tell the authority, tell the people) for an incident of these roles and this risk."""
    controller = "controller" in set(impact_roles)
    authority = controller and risk != "none"
    people = controller and risk == "high" and exemption not in ("encrypted", "mitigated")
    return authority, people
