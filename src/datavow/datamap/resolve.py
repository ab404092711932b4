"""Cross-reference checks: every name the map uses must be declared somewhere in it.

These run after shape validation, over the entries that validated. Names are looked up in the
*raw* document too, so an entry that failed validation (and was reported already) does not also
produce "unknown subject" noise wherever it is used.
"""

from __future__ import annotations

import difflib
from collections import deque
from collections.abc import Iterable
from typing import Any

from datavow.datamap.model import After, DataMap, Role, System, Table, rule_period, split_target
from datavow.datamap.source import PathKey, SourceIndex
from datavow.errors import Problem
from datavow.taxonomy import Taxonomy

# Identity types every map may use without declaring them under ``identities:``.
BUILTIN_IDENTITIES = ("email", "phone")


def _names(raw: Any, *path: str) -> set[str]:
    node = raw
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return {str(k) for k in node} if isinstance(node, dict) else set()


class _Resolver:
    def __init__(self, data_map: DataMap, raw: Any, index: SourceIndex, taxonomy: Taxonomy) -> None:
        self.map = data_map
        self.raw = raw
        self.index = index
        self.taxonomy = taxonomy
        self.problems: list[Problem] = []

    def report(self, path: PathKey, message: str, hint: str = "") -> None:
        self.problems.append(Problem(self.index.locate(path), message, hint))

    def known(self, path: PathKey, kind: str, value: str, names: Iterable[str], section: str) -> bool:
        pool = sorted(names)
        if value in pool:
            return True
        guess = difflib.get_close_matches(value, pool, n=1, cutoff=0.6)
        hint = f"did you mean '{guess[0]}'?" if guess else f"declare it under '{section}:'"
        if pool and not guess:
            hint += " (declared: " + ", ".join(pool[:8]) + (", …" if len(pool) > 8 else "") + ")"
        self.report(path, f"unknown {kind} '{value}'", hint)
        return False

    def category(self, path: PathKey, key: str) -> None:
        if self.taxonomy.has_category(key):
            return
        guess = self.taxonomy.suggest(key)
        hint = (
            f"did you mean '{guess}'?"
            if guess
            else "use a fideslang data category, or declare it under 'taxonomy.categories:'"
        )
        self.report(path, f"unknown data category '{key}'", hint)

    # -- sections

    def run(self) -> None:
        self.extend_taxonomy()
        subjects = _names(self.raw, "subjects")
        purposes = _names(self.raw, "purposes")
        recipients = _names(self.raw, "recipients")
        measures = _names(self.raw, "measures")
        for key, subject in self.map.subjects.items():
            if subject.taxonomy is not None:
                self.known(
                    ("subjects", key, "taxonomy"),
                    "fideslang data subject",
                    subject.taxonomy,
                    self.taxonomy.subjects,
                    "fideslang's data subjects",
                )
        for key, purpose in self.map.purposes.items():
            base: PathKey = ("purposes", key)
            for i, name in enumerate(purpose.subjects):
                self.known(base + ("subjects", i), "subject", name, subjects, "subjects")
            for i, category in enumerate(purpose.categories):
                self.category(base + ("categories", i), category)
            for i, name in enumerate(purpose.recipients):
                self.known(base + ("recipients", i), "recipient", name, recipients, "recipients")
            if purpose.use is not None:
                self.known(
                    base + ("use",), "fideslang data use", purpose.use, self.taxonomy.uses, "fideslang's data uses"
                )
            organization = getattr(self.map, "organization", None)
            if purpose.role is Role.processor and organization and Role.processor not in organization.roles:
                self.report(
                    base + ("role",),
                    "this purpose is carried out as processor, but the organisation's roles do not include 'processor'",
                    "add 'processor' to organization.roles",
                )
        for name, system in self.map.systems.items():
            self.system(name, system, purposes=purposes, subjects=subjects, recipients=recipients, measures=measures)
        communication = getattr(self.map, "communication", None)
        for name, topic in communication.topics.items() if communication is not None else ():
            self.known(("communication", "topics", name, "purpose"), "purpose", topic.purpose, purposes, "purposes")
        settings = getattr(self.map, "retention", None)
        for name in settings.systems if settings is not None else {}:
            self.known(("retention", "systems", name), "system", name, _names(self.raw, "systems"), "systems")
        cookies = getattr(self.map, "cookies", None)
        for name, cookie in cookies.placed.items() if cookies is not None else ():
            self.known(("cookies", "placed", name, "purpose"), "purpose", cookie.purpose, purposes, "purposes")
            if cookie.provider is not None:
                where: PathKey = ("cookies", "placed", name, "provider")
                self.known(where, "recipient", cookie.provider, recipients, "recipients")

    def extend_taxonomy(self) -> None:
        extension = self.map.taxonomy.categories
        for key, category in extension.items():
            parent = category.parent if category.parent is not None else (key.rsplit(".", 1)[0] if "." in key else None)
            if parent is not None and parent not in extension and not self.taxonomy.has_category(parent):
                self.report(
                    ("taxonomy", "categories", key),
                    f"the parent category '{parent}' of '{key}' does not exist",
                    "name an existing parent with 'parent:', or declare the parent too",
                )
        self.taxonomy = self.taxonomy.extended(
            {key: (c.name, c.description, c.parent, c.special) for key, c in extension.items()}
        )

    def system(self, name: str, system: System, **names: set[str]) -> None:
        base: PathKey = ("systems", name)
        if name == "datavow":
            self.report(base, "'datavow' names datavow's own records (its sweeps and locks)", "rename the system")
        raw_tables = _names(self.raw, "systems", name, "tables")
        for i, measure in enumerate(system.measures):
            self.known(base + ("measures", i), "measure", measure, names["measures"], "measures")
        if system.location is not None and system.location.provider is not None:
            self.known(
                base + ("location", "provider"),
                "recipient",
                system.location.provider,
                names["recipients"],
                "recipients",
            )
        if system.tenant is not None:
            if self.known(
                base + ("tenant", "table"), "table", system.tenant.table, raw_tables, f"systems.{name}.tables"
            ):
                tenant_table = system.tables.get(system.tenant.table)
                if tenant_table is not None:
                    for column in system.tenant.key + ([system.tenant.name] if system.tenant.name else []):
                        self.column(base + ("tenant",), tenant_table, system.tenant.table, column)
        for table_name, table in system.tables.items():
            self.table(name, system, table_name, table, **names)

    def column(self, path: PathKey, table: Table, table_name: str, column: str) -> bool:
        if column in table.fields:
            return True
        guess = difflib.get_close_matches(column, list(table.fields), n=1, cutoff=0.6)
        hint = f"did you mean '{guess[0]}'?" if guess else f"declare '{column}' under the table's 'fields:'"
        self.report(path, f"'{column}' is not a declared field of table '{table_name}'", hint)
        return False

    def table(self, system_name: str, system: System, name: str, table: Table, **names: set[str]) -> None:
        base: PathKey = ("systems", system_name, "tables", name)
        if table.subject is not None:
            self.known(base + ("subject",), "subject", table.subject, names["subjects"], "subjects")
        for i, purpose in enumerate(table.purposes):
            self.known(base + ("purposes", i), "purpose", purpose, names["purposes"], "purposes")
        identity_types = set(BUILTIN_IDENTITIES) | set(self.map.identities)
        for kind, columns in table.identity.items():
            self.known(base + ("identity", kind), "identity type", kind, identity_types, "identities")
            for column in columns:
                self.column(base + ("identity", kind), table, name, column)
        for i, column in enumerate(table.primary_key or []):
            self.column(base + ("primary_key", i), table, name, column)
        for column_name in filter(None, [table.tenant_column, table.restriction_flag]):
            self.column(base, table, name, column_name)
        if table.tenant_column is not None and system.tenant is None:
            self.report(
                base + ("tenant_column",),
                "the table names a tenant column, but its system declares no tenant",
                f"add 'tenant: {{table: ..., key: id}}' to systems.{system_name}",
            )
        for field_name, data_field in table.fields.items():
            for i, category in enumerate(data_field.category):
                self.category(base + ("fields", field_name, "category", i), category)
        for ref_name, reference in table.references.items():
            self.reference(
                system_name, name, table, ref_name, reference.columns, reference.to, reference.target_columns
            )
        if table.retention is not None:
            self.after(system_name, name, table, base + ("retention", "after"), table.retention.after)
            for i, column in enumerate(table.retention.fields or []):
                self.column(base + ("retention", "fields", i), table, name, column)
            if rule_period(self.map, table) is None:
                self.report(
                    base + ("retention",),
                    "the retention rule says when its period starts but not how long it is, and no category of "
                    "the fields it erases has a default period",
                    "add 'keep: 90 days' (say), or a 'retention:' to one of their categories under "
                    "'taxonomy.categories'",
                )
        if table.hold is not None:
            self.known(base + ("hold", "purpose"), "purpose", table.hold.purpose, names["purposes"], "purposes")
            self.after(system_name, name, table, base + ("hold", "after"), table.hold.after)
            for i, column in enumerate(table.hold.minimise):
                self.column(base + ("hold", "minimise", i), table, name, column)

    def lookup(self, system_name: str, target: str) -> tuple[str, str] | None:
        """``table`` or ``system.table`` -> (system, table) when the system exists."""
        other, table = split_target(system_name, target)
        return (other, table) if other in _names(self.raw, "systems") else None

    def reference(
        self,
        system_name: str,
        table_name: str,
        table: Table,
        ref_name: str,
        columns: list[str],
        to: str,
        to_columns: list[str],
    ) -> None:
        path: PathKey = ("systems", system_name, "tables", table_name, "references", ref_name)
        for column in columns:
            self.column(path, table, table_name, column)
        found = self.lookup(system_name, to)
        if found is None:
            self.report(
                path,
                f"the reference points at '{to}', but no system '{to.split('.', 1)[0]}' is declared",
                "write 'table.column' for this system or 'system.table.column' for another",
            )
            return
        other_system, other_table = found
        if other_table not in _names(self.raw, "systems", other_system, "tables"):
            pool = _names(self.raw, "systems", other_system, "tables")
            guess = difflib.get_close_matches(other_table, sorted(pool), n=1, cutoff=0.6)
            self.report(
                path,
                f"the reference points at table '{other_table}', which system '{other_system}' does not declare",
                f"did you mean '{guess[0]}'?" if guess else f"declare it under systems.{other_system}.tables",
            )
            return
        if len(columns) != len(to_columns):
            self.report(
                path,
                f"the reference has {len(columns)} column(s) but points at {len(to_columns)}",
                "give as many 'to_columns' as 'columns'",
            )
            return
        target = self.map.systems.get(other_system)
        target_table = target.tables.get(other_table) if target else None
        if target_table is not None:
            for column in to_columns:
                self.column(path, target_table, other_table, column)

    def after(self, system_name: str, table_name: str, table: Table, path: PathKey, after: After) -> None:
        """A period counts from a column here, or from one in a table these references reach."""
        if after.table is None:
            self.column(path, table, table_name, after.column)
            return
        found = self.lookup(system_name, after.table)
        reachable = self.reachable(system_name, table_name)
        if found is None or found not in reachable:
            self.report(
                path,
                f"'{after.table}' is not reached by following this table's references",
                "count from a column of this table, or of a table its references lead to",
            )
            return
        target_table = self.map.systems[found[0]].tables.get(found[1])
        if target_table is not None:
            self.column(path, target_table, found[1], after.column)

    def reachable(self, system_name: str, table_name: str) -> set[tuple[str, str]]:
        seen = {(system_name, table_name)}
        queue = deque(seen)
        while queue:
            current_system, current_table = queue.popleft()
            table = self.map.systems.get(current_system, None)
            entry = table.tables.get(current_table) if table else None
            if entry is None:
                continue
            for reference in entry.references.values():
                found = self.lookup(current_system, reference.to)
                if found is not None and found not in seen:
                    seen.add(found)
                    queue.append(found)
        return seen


def resolve(data_map: DataMap, raw: Any, index: SourceIndex, taxonomy: Taxonomy) -> tuple[Taxonomy, list[Problem]]:
    """Check every cross-reference in ``data_map``; returns the map's taxonomy and the problems."""
    resolver = _Resolver(data_map, raw, index, taxonomy)
    resolver.run()
    return resolver.taxonomy, resolver.problems
