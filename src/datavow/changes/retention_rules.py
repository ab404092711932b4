"""Retention rules as the map declares them, and as SQL conditions on a reflected table.

A row is **past** its period when the moment the rule counts from (``after``: a column of the
table, or the latest value along its references) is set and at least ``keep`` ago, and the rule's
``where`` holds. It is **held** while a legal hold on the table has not ended (a row whose hold
moment is not set is held: the period has not started). It is **due** when it is past, not held,
and not done yet: for a rule that erases fields, some of them still hold a value their strategy
has not written; for a rule that deletes, the row still exists.

Every sweep chunk selects due rows again, so a chunk that committed is never repeated and one that
did not is simply found again: the sweep is idempotent by construction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import sqlalchemy as sa

from datavow.changes.held_parents import held_below
from datavow.changes.holds import Reflect, cutoff, hold_condition, moment_of
from datavow.changes.strategies import Erasing, Keys, Rewrite, rewrite
from datavow.changes.systems import key_columns, mapped_column
from datavow.datamap.load import LoadedMap, TableRef
from datavow.datamap.model import DataField, Duration, FieldErasure, FieldStrategy, TableErasure, rule_period
from datavow.errors import ErrorKind, PlanError
from datavow.plan.model import TableKey

Action = Literal["delete", "anonymize"]

_NULLIFY = FieldErasure(strategy=FieldStrategy.nullify)


@dataclass(frozen=True)
class Rule:
    """One table's retention rule, resolved: its period, its action and the fields it erases."""

    ref: TableRef
    period: Duration
    action: Action
    fields: tuple[str, ...] | None  # a rule that erases only these fields and keeps the row

    @property
    def label(self) -> str:
        return self.ref.label

    @property
    def table(self) -> TableKey:
        return (self.ref.system_name, self.ref.table_name)

    @property
    def system(self) -> str:
        return self.ref.system_name

    @property
    def does(self) -> str:
        """What the rule does to a due row, in words."""
        if self.fields is not None:
            return f"erase {', '.join(self.fields)}"
        return "delete rows" if self.action == "delete" else "anonymise rows"

    @property
    def keeps_rows(self) -> bool:
        return self.fields is not None or self.action == "anonymize"


def rules_of(loaded: LoadedMap, systems: Iterable[str] | None = None) -> list[Rule]:
    """The map's retention rules, in map order, limited to ``systems`` when given.

    Raises :class:`PlanError` for an unknown system, or a rule whose action cannot be told.
    """
    chosen = None if systems is None else list(dict.fromkeys(systems))
    if chosen is not None:
        unknown = [name for name in chosen if name not in loaded.model.systems]
        if unknown:
            raise PlanError(
                f"no system {', '.join(repr(n) for n in unknown)} in the map — its systems: "
                f"{', '.join(loaded.model.systems)}",
                kind=ErrorKind.NOT_FOUND,
                field="systems",
            )
    rules = []
    for ref in loaded.tables():
        rule = ref.table.retention
        if rule is None or (chosen is not None and ref.system_name not in chosen):
            continue
        period = rule_period(loaded.model, ref.table)
        assert period is not None  # resolve refuses a rule without one
        rules.append(Rule(ref, period, _action(ref), tuple(rule.fields) if rule.fields is not None else None))
    return rules


def _action(ref: TableRef) -> Action:
    rule = ref.table.retention
    assert rule is not None
    chosen = rule.action or ref.table.erase
    if chosen is TableErasure.delete:
        return "delete"
    if chosen is TableErasure.anonymize or rule.fields is not None:
        return "anonymize"
    if any(f.erase and f.erase.strategy is not FieldStrategy.keep for f in ref.table.personal_fields().values()):
        return "anonymize"
    raise PlanError(
        f"the retention rule of {ref.label} does not say what to do with a due row, and neither does the table — "
        "add 'action: delete' (or 'anonymize') to the rule, or 'erase:' to the table"
    )


def cascade_actions(rule: Rule, cascade: Iterable[TableKey] = ()) -> dict[TableKey, Action]:
    """What the rule's cascade does to each table, whatever the table's ``erase:`` says: the rule's
    table by the rule's action (a rule may delete rows a person's erasure would anonymise) and, when
    the rule deletes, every table in ``cascade`` by deleting too: a row that references a deleted
    row cannot stay behind it."""
    actions = {rule.table: rule.action}
    if rule.action == "delete":
        actions.update(dict.fromkeys((key for key in cascade if key != rule.table), "delete"))
    return actions


# --------------------------------------------------------------------------- SQL


@dataclass(frozen=True)
class Conditions:
    """A rule's conditions on its reflected table at one moment ``now``."""

    rule: Rule
    table: sa.Table
    moment: sa.ColumnElement[Any]
    past: sa.ColumnElement[bool]
    held: sa.ColumnElement[bool] | None  # None: the table has no hold
    due: sa.ColumnElement[bool]
    rewrites: Mapping[str, Rewrite]  # field -> its erasure (a rule that keeps rows)
    cutoff: date | datetime

    @property
    def key(self) -> list[sa.Column[Any]]:
        return list(self.table.primary_key.columns)


def conditions(
    loaded: LoadedMap, rule: Rule, table: sa.Table, reflect: Reflect, now: datetime, keys: Keys, dialect: str
) -> Conditions:
    """The conditions of ``rule`` on ``table`` (reflected) at ``now``; ``reflect`` reflects other
    tables of the same system (for a moment read through references)."""
    declared = rule.ref.table.retention
    assert declared is not None
    moment = moment_of(loaded, rule.table, table, reflect, declared.after, "retention rule")
    limit = cutoff(rule.period.before(now), moment.type)
    past: sa.ColumnElement[bool] = sa.and_(moment.is_not(None), moment <= limit)
    if declared.where:
        past = sa.and_(past, sa.text(f"({declared.where})"))
    hold = hold_condition(loaded, rule.table, table, reflect, now)
    due = past if hold is None else sa.and_(past, hold.released)
    held = hold.held if hold is not None else None
    if not rule.keeps_rows:
        below = held_below(loaded, rule.table, table, reflect, now)
        if below is not None:  # a row a held row references stays with it: deleting it would break the reference
            due = sa.and_(due, sa.not_(below))
            held = below if held is None else sa.or_(held, below)
    rewrites: dict[str, Rewrite] = {}
    if rule.keeps_rows:
        rewrites = _rewrites(loaded, rule, table, keys, dialect)
        if not rewrites:
            raise PlanError(
                f"the retention rule of {rule.label} anonymises rows, but none of its fields has anything to "
                "erase — give the fields an 'erase:' strategy, or make the rule delete rows"
            )
        due = sa.and_(due, sa.or_(*(done.pending for done in rewrites.values())))
    return Conditions(rule, table, moment, past, held, due, rewrites, limit)


def _rewrites(loaded: LoadedMap, rule: Rule, table: sa.Table, keys: Keys, dialect: str) -> dict[str, Rewrite]:
    declared = rule.ref.table
    if rule.fields is not None:
        fields = {name: _strategy(declared.fields.get(name)) for name in rule.fields}
    else:
        fields = {name: f.erase or _NULLIFY for name, f in declared.personal_fields().items()}
    protected = key_columns(loaded, rule.table)
    rewrites = {}
    for name, erasure in fields.items():
        if name in protected and erasure.strategy is not FieldStrategy.keep:
            continue  # a key that references use stays, as in an erasure
        column = mapped_column(table, rule.label, name, PlanError)
        done = rewrite(Erasing(f"{rule.label}.{name}", column, erasure, dialect, keys))
        if done is not None:
            rewrites[name] = done
    return rewrites


def _strategy(declared: DataField | None) -> FieldErasure:
    """A field a rule names is erased by its strategy; one without (or with keep) is set to NULL."""
    if declared is None or declared.erase is None or declared.erase.strategy is FieldStrategy.keep:
        return _NULLIFY
    return declared.erase


def referenced(loaded: LoadedMap, rule: Rule) -> bool:
    """Whether another table of its system references the rule's table: its rows then cascade."""
    return any(
        (other.system_name, other.table_name) != rule.table
        for other, _, _ in loaded.references_to(rule.table, same_system=True)
    )
