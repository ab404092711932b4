"""The guard: a request for one person must reach one person.

After discovery and before anything is exported or changed, the rows the plan reached in tables
that identify people are checked, person by person:

- **Strangers.** Rows reached through an owning reference from a table of another subject are
  somebody else's when they say so: a row of a table that identifies people holding an e-mail
  address or national id none of the people asked for has (a customer's row reached from the
  support rep it names), or a row whose reference to a person of its own subject points at
  someone else (a rental reached from staff, whose ``customer_id`` is another customer's). The map
  most likely declares a link as ownership.
- **Shared identifiers.** Rows the person's identities match must not disagree on an identity
  that tells people apart (an e-mail address, a national id): eight users who share a switchboard
  number, each with their own e-mail address, are eight people, not one.

:func:`reach` counts the people per subject; :func:`require_one_person` refuses with a
:class:`PlanError` that names the path that leaked and the change that fixes it. Discovery runs
both unless it is told to only count (a dry run shows the count, and :func:`why_refused`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sqlalchemy as sa

from datavow.connectors.sql import translate_errors
from datavow.errors import PlanError, RequestError
from datavow.plan.identities import identity_formats, normal_forms
from datavow.plan.model import Link, Selection, Step, TableKey
from datavow.plan.national_ids import normal_national_id
from datavow.plan.ownership import ownership
from datavow.plan.sql import conditions_match, selection_clauses

if TYPE_CHECKING:
    from datavow.plan.discovery import _Run, _State

# Identity formats that tell people apart: one person, one value (mostly). Phone numbers and
# account keys do not: a person has several, and a switchboard number is shared.
TELLS_APART = ("email", "national_id")
Conditions = dict[tuple[str, ...], set[tuple[object, ...]]]


@dataclass(frozen=True)
class Strangers:
    """Rows of another person reached through an owning link."""

    table: str
    subject: str | None
    rows: int
    path: str  # source table → reference → table
    reference: str  # system.table.reference to mark ``owner: false``


@dataclass(frozen=True)
class SharedIdentity:
    """The person's identities match rows that disagree on an identity that tells people apart."""

    kind: str  # the identity that differs, e.g. email
    values: int  # how many different values the matched rows hold
    tables: tuple[str, ...]
    given: tuple[str, ...]  # the kinds the request named


@dataclass(frozen=True)
class Reach:
    """How many people a request reached, and how."""

    people: int = 1
    by_subject: Mapping[str, int] = field(default_factory=dict)
    strangers: tuple[Strangers, ...] = ()
    shared: tuple[SharedIdentity, ...] = ()

    @property
    def one_person(self) -> bool:
        return not self.strangers and not self.shared


def fold(value: object, form: str | None = "email", region: str | None = None) -> str:
    """A value as the guard compares it: composed, trimmed, case-folded text; a national id in its
    normal form when it is a valid one for ``region`` (``19811218-9876`` and ``811218-9876`` are one
    number); other values, their letters and digits only."""
    text = unicodedata.normalize("NFC", str(value)).strip().casefold()
    if form == "email":
        return text
    if form == "national_id":
        try:
            return normal_national_id(text, region, "a national id").casefold()
        except RequestError:
            pass
    return "".join(char for char in text if char.isalnum())


def _telling(run: _Run, key: TableKey) -> dict[str, list[str]]:
    """The identities of a table that tell people apart: kind -> its columns."""
    formats = identity_formats(run.loaded)
    declared = run.loaded.table(*key).table.identity
    return {kind: columns for kind, columns in declared.items() if formats.get(kind) in TELLS_APART}


def _folded(run: _Run, telling: Mapping[str, Sequence[str]], values: Mapping[str, object]) -> dict[str, set[str]]:
    """A row's values of its telling identities (``values`` by column), folded, by kind; empty ones left out."""
    formats = identity_formats(run.loaded)
    return {
        kind: {
            fold(values[column], formats.get(kind), run.region)
            for column in columns
            if values[column] is not None and str(values[column]).strip()
        }
        for kind, columns in telling.items()
    }


def identity_conditions(
    step: Step,
    identities: Mapping[str, Iterable[object]],
    region: str | None,
    forms: dict[tuple[str, str | None], set[tuple[object, ...]]] | None = None,
) -> Conditions:
    """The conditions that select a step's rows by one person's identities, as discovery compares them.
    ``forms`` keeps each kind's values in each form across the steps of one discovery (a batch
    names thousands of values, and many steps compare the same kind in the same form)."""
    forms = {} if forms is None else forms
    conditions: Conditions = {}
    for kind, columns in step.identities.items():
        for column in columns:
            form = step.normalise.get(column)
            if (kind, form) not in forms:
                forms[kind, form] = {
                    (v,) for value in identities.get(kind, ()) for v in normal_forms(form, value, region)
                }
            conditions.setdefault((column,), set()).update(forms[kind, form])
    return {columns: values for columns, values in conditions.items() if values}


def reach(run: _Run, people: Sequence[Mapping[str, Iterable[object]]]) -> Reach:
    """Count the people the discovery of ``run`` reached, for ``people`` (one per request)."""
    shared: list[SharedIdentity] = []
    known: dict[str, set[str]] = {}  # kind -> the values the people asked for hold (folded)
    for person in people:
        found, seen = _shared_identities(run, person)
        shared.extend(found)
        for kind, values in seen.items():
            known.setdefault(kind, set()).update(values)
    strangers = tuple(_strangers(run, people, known))
    by_subject: dict[str, int] = {}
    for item in strangers:
        if item.subject is not None:
            by_subject[item.subject] = by_subject.get(item.subject, 0) + item.rows
    extra = sum(item.rows for item in strangers) + sum(item.values - 1 for item in shared)
    return Reach(len(people) + extra, by_subject, strangers, tuple(shared))


def require_one_person(found: Reach) -> None:
    """Refuse a discovery that reached anyone but the person (or persons) asked for."""
    refusal = why_refused(found)
    if refusal is not None:
        raise PlanError(refusal)


def why_refused(found: Reach) -> str | None:
    """What :func:`require_one_person` says about ``found``: the paths that leaked and their fixes
    (None when it reached the person only). A dry run prints it."""
    if found.one_person:
        return None
    problems: list[str] = []
    for item in found.strangers:
        problems.append(
            f"{item.rows} row(s) of {item.table} that are other people's were reached by {item.path} — if "
            f"{item.reference.rsplit('.', 1)[-1]} merely names someone, mark it 'owner: false' in the map "
            f"({item.reference})"
        )
    for shared in found.shared:
        problems.append(
            f"the {'/'.join(shared.given)} given matches rows of {shared.values} people in "
            f"{', '.join(shared.tables)} (they hold {shared.values} different {shared.kind} values) — name the "
            f"person by their {shared.kind} instead"
        )
    return f"the request reaches {found.people} people, not one; nothing was exported or changed: " + "; ".join(
        problems
    )


def _strangers(
    run: _Run, people: Sequence[Mapping[str, Iterable[object]]], known: Mapping[str, set[str]]
) -> list[Strangers]:
    """Rows reached through an owning reference from a table of another subject that are somebody
    else's, by either sign:

    - the row identifies a person (its table has ``identity:``), is not matched by the people's
      identities, and holds an identity that tells people apart with a value none of them has (a
      customer's row reached from the support rep it names). A row with no such identity gives no
      evidence either way (a call in a user's call history, identified by the caller's number);
    - the row points, through a reference of its own, at a row of its own subject that identifies
      a person who is not the person (a rental reached from the member of staff it names, whose
      ``customer_id`` is another customer's).
    """
    owners = ownership(run.loaded)
    found: list[Strangers] = []
    for key, state in run.states.items():
        step = state.step
        subject = owners.subjects.get(key)
        crossing = [
            link for link in step.links if link.direction != "parent" and owners.subjects.get(link.source) != subject
        ]
        if not crossing:
            continue
        telling = _telling(run, key)
        own: sa.ColumnElement[bool] | None = None
        if telling:
            mine: Conditions = {}
            for person in people:
                for columns, values in identity_conditions(step, person, run.region).items():
                    mine.setdefault(columns, set()).update(values)
            own = conditions_match(state.table, step, mine, state.connection.dialect.name) if mine else None
        for link, values in zip(step.links, state.links, strict=True):
            if link not in crossing or not values:
                continue
            selection = Selection(step, {link.columns: set(values)}, tenant=state.tenant)
            rows = 0
            if telling:
                rows = sum(
                    count
                    for held, count in _telling_values(run, state, selection, own, telling)
                    if any(values and not values & known.get(kind, set()) for kind, values in held.items())
                )
            others = _owned_by_others(run, state, subject, link)
            if others is not None:
                rows = max(rows, _count(state, selection, others))
            if rows:
                found.append(Strangers(step.label, subject, rows, _path(link, step), _reference(link, step)))
    return found


def _owned_by_others(run: _Run, state: _State, subject: str | None, link: Link) -> sa.ColumnElement[bool] | None:
    """True for the rows of ``state`` whose references to the people's own table of their subject
    point at someone else's row; None when the table has no such reference."""
    if subject is None:
        return None
    owners = ownership(run.loaded)
    ref = run.loaded.table(*state.step.table)
    pointing: list[sa.ColumnElement[bool]] = []
    for name, reference in ref.table.references.items():
        target = ref.target(reference)
        if name == link.reference or target == state.step.table or target not in owners.identifies:
            continue
        if owners.subjects.get(target) != subject:
            continue
        columns = [state.table.c[column] for column in reference.columns]
        theirs = _own_values(run, target, tuple(reference.target_columns))
        present = sa.and_(*(column.is_not(None) for column in columns))
        if not theirs:
            pointing.append(present)
        elif len(columns) == 1:
            pointing.append(sa.and_(present, columns[0].not_in([value[0] for value in theirs])))
        else:
            pointing.append(sa.and_(present, sa.tuple_(*columns).not_in([tuple(value) for value in theirs])))
    return sa.or_(*pointing) if pointing else None


def _own_values(run: _Run, table: tuple[str, str], columns: tuple[str, ...]) -> set[tuple[object, ...]]:
    """The values of ``columns`` in the people's own rows of ``table`` (none when it is not reached)."""
    state = run.states.get(table)
    if state is None:
        return set()
    conditions = state.conditions(own_only=True)
    if not any(conditions.values()):
        return set()
    reads = [state.table.c[column] for column in columns]
    selection = Selection(state.step, conditions, tenant=state.tenant)
    found: set[tuple[object, ...]] = set()
    with translate_errors(state.connection.engine.url, table[0]):
        for clause in selection_clauses(state.table, selection, state.connection.dialect.name):
            found.update(tuple(row) for row in state.connection.execute(sa.select(*reads).where(clause).distinct()))
    return found


def _count(state: _State, selection: Selection, where: sa.ColumnElement[bool]) -> int:
    total = 0
    with translate_errors(state.connection.engine.url, state.step.table[0]):
        for clause in selection_clauses(state.table, selection, state.connection.dialect.name):
            statement = sa.select(sa.func.count()).select_from(state.table).where(clause, where)
            total += int(state.connection.execute(statement).scalar_one())
    return total


def _telling_values(
    run: _Run,
    state: _State,
    selection: Selection,
    own: sa.ColumnElement[bool] | None,
    telling: Mapping[str, Sequence[str]],
) -> Iterator[tuple[dict[str, set[str]], int]]:
    """Per distinct combination of the telling identities of the rows ``selection`` selects (less
    those ``own`` matches): the folded values of each kind, and how many rows hold them."""
    columns = list(dict.fromkeys(column for cols in telling.values() for column in cols))
    reads = [state.table.c[column] for column in columns]
    dialect = state.connection.dialect.name
    with translate_errors(state.connection.engine.url, state.step.table[0]):
        for clause in selection_clauses(state.table, selection, dialect):
            statement = sa.select(*reads, sa.func.count()).where(clause).group_by(*reads)
            if own is not None:  # a row whose own identities are unknown (NULL) is not the person's
                statement = statement.where(sa.case((own, 0), else_=1) == 1)
            for row in state.connection.execute(statement):
                yield _folded(run, telling, dict(zip(columns, row, strict=False))), int(row[-1])


def _path(link: Link, step: Step) -> str:
    source = "{}.{}".format(*link.source)
    if link.direction == "child":
        return f"{source} → {step.table[1]}.{link.reference} → {step.label}"
    return f"{source} → {link.source[1]}.{link.reference} → {step.label}"


def _reference(link: Link, step: Step) -> str:
    if link.direction == "child":
        return f"{step.label}.{link.reference}"
    return "{}.{}.{}".format(*link.source, link.reference)


def _shared_identities(
    run: _Run, person: Mapping[str, Iterable[object]]
) -> tuple[list[SharedIdentity], dict[str, set[str]]]:
    """Rows the person's identities match that disagree on an identity that tells people apart;
    and the values of those identities the person holds (given, or found on the matched rows)."""
    formats = identity_formats(run.loaded)
    given = {kind: {fold(value, formats.get(kind), run.region) for value in values} for kind, values in person.items()}
    seen: dict[str, dict[str, set[str]]] = {}  # kind -> folded value -> tables
    for state in run.states.values():
        step = state.step
        telling = _telling(run, step.table)
        if not telling or not step.identities:
            continue
        if all(kind in given and kind in telling for kind in step.identities) and set(telling) <= set(given):
            continue  # matched only by identities that tell people apart, and given all of them: one person
        conditions = identity_conditions(step, person, run.region)
        if not conditions:
            continue
        columns = list(dict.fromkeys(column for cols in telling.values() for column in cols))
        selection = Selection(step, conditions, tenant=state.tenant)
        reads = [state.table.c[column] for column in columns]
        with translate_errors(state.connection.engine.url, step.table[0]):
            for clause in selection_clauses(state.table, selection, state.connection.dialect.name):
                for row in state.connection.execute(sa.select(*reads).where(clause).distinct()):
                    for kind, folded in _folded(run, telling, dict(zip(columns, row, strict=True))).items():
                        for value in folded:
                            seen.setdefault(kind, {}).setdefault(value, set()).add(step.label)
    shared: list[SharedIdentity] = []
    for kind, values in seen.items():
        if kind in given:
            others = {value: tables for value, tables in values.items() if value not in given[kind]}
            if others:
                tables = sorted({table for found in others.values() for table in found})
                shared.append(SharedIdentity(kind, len(others) + 1, tuple(tables), tuple(sorted(person))))
        elif len(values) > 1:
            tables = sorted({table for found in values.values() for table in found})
            shared.append(SharedIdentity(kind, len(values), tuple(tables), tuple(sorted(person))))
    held = {kind: set(found) for kind, found in seen.items()}
    for kind, asked in given.items():
        held.setdefault(kind, set()).update(asked)
    return shared, held
