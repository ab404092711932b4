"""Will each retention rule run against its database? Checked with the map, not at 2 a.m.

A sweep builds every rule's conditions from the reflected tables and runs them; a rule whose
``after`` column is text, whose ``where`` is not valid SQL there, or whose fields cannot take their
erasure would fail the nightly sweep. ``datavow check`` builds the very same conditions (the
sweep's own code) and asks the database to plan them, so the answer cannot drift from the sweep.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import partial

import sqlalchemy as sa
from sqlalchemy.exc import NoSuchTableError, SQLAlchemyError
from sqlalchemy.sql import sqltypes

from datavow.changes.retention_rules import Rule, conditions, rules_of
from datavow.changes.strategies import Keys, register_functions
from datavow.changes.systems import Reflector
from datavow.changes.text_dates import after_problem
from datavow.connectors.sql import reachable_connections
from datavow.datamap import LoadedMap
from datavow.driver_errors import reason
from datavow.errors import ConnectionError_, DatavowError, QueryError
from datavow.findings import Finding, Severity

RULE = "drift-retention-unfit"


def check_retention_fit(loaded: LoadedMap, systems: Iterable[str]) -> list[Finding]:
    """A finding for every retention rule of ``systems`` that its database cannot run.

    Systems that cannot be reached, and missing tables or columns, are left to the drift check,
    which reports them already.
    """
    findings: list[Finding] = []
    keys = Keys.for_run(os.urandom(32))  # planning runs nothing: any key will do
    now = datetime.now(UTC)
    by_system: dict[str, list[Rule]] = {}
    for rule in rules_of(loaded):
        by_system.setdefault(rule.system, []).append(rule)
    urls = [(system, partial(loaded.system_url, system)) for system in dict.fromkeys(systems) if system in by_system]
    for system, connection in reachable_connections(urls):
        register_functions(connection)
        for rule in by_system[system]:
            problem = _problem(loaded, rule, connection, keys, now)
            if problem is not None:
                findings.append(_finding(loaded, rule, problem))
    return findings


def _problem(loaded: LoadedMap, rule: Rule, connection: sa.Connection, keys: Keys, now: datetime) -> str | None:
    reflector = Reflector(loaded, connection)
    try:
        table = reflector(rule.table)
    except (NoSuchTableError, SQLAlchemyError, ConnectionError_, QueryError):
        return None  # drift reports the missing table
    declared = rule.ref.table.retention
    assert declared is not None
    try:
        built = conditions(loaded, rule, table, reflector, now, keys, connection.dialect.name)
    except KeyError:
        return None  # a missing column: drift reports it
    except DatavowError as exc:
        return str(exc)
    problem = after_problem(loaded, rule.table, declared.after, reflector, connection)
    if problem is not None:
        return problem
    kind = built.moment.type
    if not isinstance(kind, (sqltypes.Date, sqltypes.DateTime)) and not isinstance(kind, sqltypes.NullType):
        where = f"{declared.after.table}.{declared.after.column}" if declared.after.table else declared.after.column
        return f"the period counts from {where}, which holds {kind} values, not dates or times"
    try:
        with connection.begin_nested() if connection.in_transaction() else connection.begin():
            connection.execute(sa.select(sa.literal(1)).select_from(table).where(built.due).limit(0))
    except SQLAlchemyError as exc:
        return f"the database refuses the rule's condition: {reason(exc)}"
    return None


def _finding(loaded: LoadedMap, rule: Rule, problem: str) -> Finding:
    message, _, hint = problem.partition(" — ")
    return Finding(
        rule=RULE,
        severity=Severity.error,
        message=f"the retention rule of {rule.label} cannot run: {message}",
        hint=hint or "fix the rule's 'after' or 'where' (see docs/retention.md), or the column",
        article="Art. 5(1)(e)",
        location=loaded.index.locate(rule.ref.path + ("retention",), key=True),
        target=rule.label,
    )
