"""Drift: does the data map still describe the databases it names?

Each system is connected to once and its catalogue read one schema at a time (see
:mod:`datavow.connectors.introspect`); the map's tables, fields, keys and references are
compared with what is there, and every difference becomes a :class:`~datavow.findings.Finding`
located at the map entry to fix. Tables and columns the map does not mention are errors too, so
that undeclared personal data cannot hide. A system that cannot be reached is one finding; the
other systems are still checked.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from sqlalchemy import Inspector, inspect

from datavow.connectors.introspect import ForeignKey, SchemaShape, TableShape, reflect_schema
from datavow.connectors.sql import connect, translate_errors
from datavow.datamap.load import LoadedMap, TableRef
from datavow.datamap.model import Table, split_target
from datavow.errors import ConnectionError_, MapError, Problem, QueryError
from datavow.findings import Finding, Severity, sort_findings


@dataclass(frozen=True)
class DriftRule:
    """One kind of difference between the map and a database."""

    id: str
    severity: Severity
    summary: str
    article: str | None = None


#: The drift rules by id: how a live schema can differ from the map, with severity and fix.
DRIFT_RULES: dict[str, DriftRule] = {
    rule.id: rule
    for rule in (
        DriftRule("drift-unreachable", Severity.error, "a system cannot be connected to or its catalogue read"),
        DriftRule("drift-missing-schema", Severity.error, "a schema the map names does not exist"),
        DriftRule("drift-missing-table", Severity.error, "a declared table does not exist"),
        DriftRule("drift-missing-column", Severity.error, "a declared field is not a column of its table"),
        DriftRule(
            "drift-undeclared-table",
            Severity.error,
            "a table in a schema the system uses is neither declared nor ignored",
            "Art. 30",
        ),
        DriftRule(
            "drift-undeclared-column",
            Severity.error,
            "a column of a declared table is not declared under its fields",
            "Art. 30",
        ),
        DriftRule("drift-primary-key", Severity.warning, "the declared primary key differs from the database's"),
        DriftRule(
            "drift-foreign-key", Severity.warning, "a foreign key in the database is not declared as a reference"
        ),
    )
}


def check_drift(loaded: LoadedMap, systems: Sequence[str] | None = None) -> list[Finding]:
    """Compare the map with the databases of ``systems`` (default: all), sorted by map position.

    Raises :class:`MapError` when ``systems`` names a system the map does not declare; a system
    that cannot be reached is reported as a ``drift-unreachable`` finding, not raised.
    """
    findings: list[Finding] = []
    for name in _selected(loaded, systems):
        findings.extend(_SystemDrift(loaded, name).check())
    return sort_findings(findings)


def _selected(loaded: LoadedMap, systems: Sequence[str] | None) -> list[str]:
    declared = list(loaded.model.systems)
    if systems is None:
        return declared
    unknown = [name for name in systems if name not in loaded.model.systems]
    if unknown:
        raise MapError(
            [
                Problem(
                    None,
                    f"the data map declares no system '{name}'",
                    "declared systems: " + (", ".join(declared) or "none"),
                )
                for name in unknown
            ]
        )
    return list(dict.fromkeys(systems))


def _guess(name: str, pool: Iterable[str]) -> str | None:
    """The likeliest name ``name`` was meant to be: a close spelling, or one containing it."""
    candidates = sorted(pool)
    found = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    if found:
        return found[0]
    # A renamed column often only gained a part: email -> email_address, name -> full_name.
    containing = [other for other in candidates if name.lower() in other.lower() or other.lower() in name.lower()]
    return min(containing, key=len) if containing else None


class _SystemDrift:
    """The comparison of one system with its database."""

    def __init__(self, loaded: LoadedMap, name: str) -> None:
        self.loaded = loaded
        self.name = name
        self.system = loaded.model.systems[name]
        self.findings: list[Finding] = []
        self.dialect = ""
        self.default_schema: str | None = None

    def report(self, rule_id: str, path: tuple[str, ...], message: str, hint: str, target: str) -> None:
        rule = DRIFT_RULES[rule_id]
        where = self.loaded.index.locate(("systems", self.name) + path, key=True)
        self.findings.append(Finding(rule.id, rule.severity, message, hint, rule.article, where, target))

    def check(self) -> list[Finding]:
        try:
            engine = connect(self.loaded.system_url(self.name), system=self.name)
            try:
                with translate_errors(engine.url, self.name):
                    self.compare(inspect(engine))
            finally:
                engine.dispose()
        except MapError as exc:  # its URL names an environment variable that is not set
            problem = exc.problems[0]
            self.report(
                "drift-unreachable",
                ("url",),
                f"system '{self.name}' cannot be checked: {problem.message}",
                problem.hint,
                self.name,
            )
        except (ConnectionError_, QueryError) as exc:  # QueryError: the catalogue refused (a permission)
            self.report("drift-unreachable", ("url",), str(exc), "", self.name)
        return self.findings

    # -- schemas

    def schema_key(self, schema: str | None) -> str | None:
        """None for the connection's default schema, however the map spells it."""
        return None if schema is None or schema == self.default_schema else schema

    def compare(self, inspector: Inspector) -> None:
        self.dialect = inspector.dialect.name
        self.default_schema = inspector.default_schema_name
        # The system's own schema is always read, even with no tables in it, so that a table
        # nobody declared cannot hide there.
        groups: dict[str | None, list[TableRef]] = {self.schema_key(self.system.schema_): []}
        for table_name in self.system.tables:
            ref = self.loaded.table(self.name, table_name)
            groups.setdefault(self.schema_key(ref.schema), []).append(ref)
        existing = set(inspector.get_schema_names()) if any(key is not None for key in groups) else set()
        for key, refs in groups.items():
            if key is not None and key not in existing:
                self.missing_schema(key, refs)
                continue
            shape = reflect_schema(inspector, key, [ref.table_name for ref in refs])
            for ref in refs:
                self.table(ref, shape)
            self.undeclared_tables(shape, {ref.table_name for ref in refs})

    def schema_label(self, key: str | None) -> str:
        name = key if key is not None else self.default_schema
        return f"schema '{name}'" if name else "the default schema"

    def missing_schema(self, key: str, refs: list[TableRef]) -> None:
        if self.schema_key(self.system.schema_) == key:
            path: tuple[str, ...] = ("schema",)
        else:
            path = ("tables", next(ref.table_name for ref in refs if ref.table.schema_ == key), "schema")
        if self.dialect == "sqlite":
            hint = "SQLite has one schema per file and datavow does not read attached databases: remove 'schema:'"
        elif self.dialect in ("mysql", "mariadb"):
            hint = f"on MariaDB and MySQL a schema is a database: CREATE DATABASE {key}, or fix the name"
        else:
            hint = f"CREATE SCHEMA {key}, or fix the name"
        tables = ", ".join(ref.table_name for ref in refs) or "no tables"
        self.report(
            "drift-missing-schema",
            path,
            f"schema '{key}' does not exist in system '{self.name}' ({tables} not checked)",
            hint,
            f"{self.name}.{key}",
        )

    def undeclared_tables(self, shape: SchemaShape, declared: set[str]) -> None:
        hint = f"declare it under systems.{self.name}.tables"
        if shape.name != self.schema_key(self.system.schema_):
            hint += f" with 'schema: {shape.name or self.default_schema}'"
        hint += f", or add it to systems.{self.name}.ignore if it holds no personal data"
        for table_name in sorted(shape.tables - declared):
            if not self.ignored(shape.name, table_name):
                self.report(
                    "drift-undeclared-table",
                    ("tables",),
                    f"table '{table_name}' in {self.schema_label(shape.name)} of system "
                    f"'{self.name}' is not in the data map",
                    hint,
                    f"{self.name}.{table_name}",
                )

    def ignored(self, schema: str | None, table_name: str) -> bool:
        qualified = f"{schema or self.default_schema}.{table_name}"
        return any(
            fnmatchcase(table_name, pattern) or fnmatchcase(qualified, pattern) for pattern in self.system.ignore
        )

    # -- tables

    def table(self, ref: TableRef, shape: SchemaShape) -> None:
        found = shape.get(ref.table_name)
        if found is None:
            guess = _guess(ref.table_name, shape.tables | shape.views)
            self.report(
                "drift-missing-table",
                ("tables", ref.table_name),
                f"table '{ref.table_name}' does not exist in {self.schema_label(shape.name)} of system '{self.name}'",
                f"did you mean '{guess}'?"
                if guess
                else "create it, fix its name or 'schema:', or remove it from the map",
                ref.label,
            )
            return
        self.columns(ref, found)
        if not found.is_view:
            self.primary_key(ref, found)
            for foreign_key in found.foreign_keys:
                if not _declares(ref.table, self.name, foreign_key):
                    self.foreign_key(ref, foreign_key)

    def columns(self, ref: TableRef, found: TableShape) -> None:
        declared = ref.table.fields
        undeclared = [column for column in found.columns if column not in declared]
        for column in declared:
            if column not in found.columns:
                guess = _guess(column, undeclared)
                self.report(
                    "drift-missing-column",
                    ("tables", ref.table_name, "fields", column),
                    f"column '{column}' does not exist in table '{ref.table_name}' of system '{self.name}'",
                    f"did you mean '{guess}'? rename the field" if guess else "remove the field, or fix its name",
                    f"{ref.label}.{column}",
                )
        for column in undeclared:
            self.report(
                "drift-undeclared-column",
                ("tables", ref.table_name, "fields"),
                f"column '{column}' of table '{ref.table_name}' is not declared under its fields",
                f"declare it: '{column}: <data category>' if it holds personal data, '{column}: ~' if it does not",
                f"{ref.label}.{column}",
            )

    def primary_key(self, ref: TableRef, found: TableShape) -> None:
        declared = ref.table.primary_key
        if declared is None or set(declared) == set(found.primary_key):
            return
        if found.primary_key:
            actual = ", ".join(found.primary_key)
            message = f"the database's primary key of '{ref.table_name}' is ({actual}), not ({', '.join(declared)})"
            hint = f"write 'primary_key: [{actual}]'"
        else:
            message = (
                f"table '{ref.table_name}' has no primary key in the database, the map declares ({', '.join(declared)})"
            )
            hint = "add the primary key to the table, or make sure the declared columns identify a row"
        self.report("drift-primary-key", ("tables", ref.table_name, "primary_key"), message, hint, ref.label)

    def foreign_key(self, ref: TableRef, foreign_key: ForeignKey) -> None:
        columns, referred = foreign_key.columns, foreign_key.referred_table
        if len(columns) == 1:
            entry = f"{columns[0]}: {referred}.{foreign_key.referred_columns[0]}"
        else:
            name = foreign_key.name or "_".join(columns)
            entry = (
                f"{name}: {{columns: [{', '.join(columns)}], to: {referred}, "
                f"to_columns: [{', '.join(foreign_key.referred_columns)}]}}"
            )
        if ref.table.references:
            hint = f"add '{entry}' under systems.{self.name}.tables.{ref.table_name}.references"
        else:
            hint = f"add 'references: {{{entry}}}' to systems.{self.name}.tables.{ref.table_name}"
        if referred not in self.system.tables:
            hint += f", and declare table '{referred}'"
        self.report(
            "drift-foreign-key",
            ("tables", ref.table_name, "references"),
            f"the foreign key ({', '.join(columns)}) → {referred}({', '.join(foreign_key.referred_columns)}) "
            f"of table '{ref.table_name}' is not declared in its references, so requests would not follow it",
            hint,
            f"{ref.label}.{','.join(columns)}",
        )


def _declares(table: Table, system_name: str, foreign_key: ForeignKey) -> bool:
    """Whether one of the table's references follows ``foreign_key`` (same columns, same target)."""
    pairs = set(zip(foreign_key.columns, foreign_key.referred_columns, strict=False))
    for reference in table.references.values():
        if split_target(system_name, reference.to) != (system_name, foreign_key.referred_table):
            continue
        if set(zip(reference.columns, reference.target_columns, strict=False)) == pairs:
            return True
    return False
