"""Whose row is whose: what each reference of the map means for a data subject request.

A reference either **owns** (the referencing row is the person's when the row it points at is: a
rental belongs to its customer) or **links** (it merely names another person: the support rep of a
customer, the employee who handled an order, a manager). The planner follows an owning reference
from the person's rows to the rows that point at them; it never follows a link that way.

The map can say which (``owner: true`` or ``owner: false`` on the reference). Left out, the reading
is the safe one, worked out from the tables' subjects:

- A table that declares a ``subject:`` is owned through its one reference to a table that
  identifies people of that subject (one with ``identity:``); failing that, through its one
  reference to a table of that subject that does not (an invoice line to its invoice). Every other
  reference links. Two such references (a ticket's requester and assignee) are ambiguous.
- A table without a subject and without identities inherits the owner of the one table it
  references that belongs to somebody (an invoice line to its invoice); a reference from it
  straight to a table that identifies people is ambiguous: a login event of its user, or a store
  naming its manager? Only the map can say.
- A table that identifies people is owned only by a table of its own subject that identifies
  people too (a profile by its user, a second system's contact by the first's), through its only
  reference to one; otherwise its rows are found by their own identities.
- A reference to the table itself (a referrer, a manager) always links.

An ambiguous reference is not followed, and ``datavow check`` names it with the fix
(``lint/ownership.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from datavow.datamap.load import LoadedMap, TableRef
from datavow.plan.model import TableKey

ReferenceKey = tuple[str, str, str]  # (system, table, reference name)
Meaning = Literal["owns", "links", "ambiguous"]


@dataclass(frozen=True)
class Reading:
    """What one reference means: ``owns``, ``links`` or ``ambiguous``, and why (for lint and explain)."""

    source: TableKey
    name: str
    target: TableKey
    meaning: Meaning
    why: str
    declared: bool = False  # the map says so with ``owner:``

    @property
    def owns(self) -> bool:
        return self.meaning == "owns"

    @property
    def label(self) -> str:
        return f"{self.source[0]}.{self.source[1]}.{self.name} → {self.target[0]}.{self.target[1]}"


@dataclass(frozen=True)
class Ownership:
    """Every reference's reading, and each table's subject as ownership makes it."""

    readings: Mapping[ReferenceKey, Reading]
    subjects: Mapping[TableKey, str | None]  # declared, else inherited from the table's owner
    identifies: frozenset[TableKey]  # tables with ``identity:``

    def reading(self, source: TableKey, name: str) -> Reading:
        return self.readings[(source[0], source[1], name)]

    def of_table(self, source: TableKey) -> list[Reading]:
        return [reading for key, reading in self.readings.items() if (key[0], key[1]) == source]

    def owners(self, source: TableKey) -> list[Reading]:
        """The references that make ``source``'s rows somebody's."""
        return [reading for reading in self.of_table(source) if reading.owns]

    def ambiguous(self) -> list[Reading]:
        return [reading for reading in self.readings.values() if reading.meaning == "ambiguous"]


def ownership(loaded: LoadedMap) -> Ownership:
    """The readings of every reference of the map, worked out once per map."""
    return loaded.derived("ownership", lambda: _Reader(loaded).read())


class _Reader:
    def __init__(self, loaded: LoadedMap) -> None:
        self.tables: dict[TableKey, TableRef] = {(ref.system_name, ref.table_name): ref for ref in loaded.tables()}
        self.identifies = frozenset(key for key, ref in self.tables.items() if ref.table.identity)
        self.readings: dict[ReferenceKey, Reading] = {}
        self.subjects: dict[TableKey, str | None] = {}
        self._reading_now: set[TableKey] = set()

    def read(self) -> Ownership:
        for key in self.tables:
            self._read_table(key)
        return Ownership(MappingProxyType(dict(self.readings)), MappingProxyType(dict(self.subjects)), self.identifies)

    def subject(self, key: TableKey) -> str | None:
        """The table's subject: declared, else that of the one table that owns it (None in a cycle)."""
        if key not in self.subjects:
            self._read_table(key)
        return self.subjects.get(key)

    def _read_table(self, key: TableKey) -> None:
        if key in self.subjects or key in self._reading_now:
            return
        self._reading_now.add(key)
        ref = self.tables[key]
        declared = ref.table.subject
        readings = self._readings(key, ref, declared)
        for reading in readings:
            self.readings[(key[0], key[1], reading.name)] = reading
        subject = declared
        if subject is None and key not in self.identifies:
            owners = [reading for reading in readings if reading.owns]
            if len(owners) == 1:
                subject = self.subject(owners[0].target)
        self.subjects[key] = subject
        self._reading_now.discard(key)

    def _readings(self, key: TableKey, ref: TableRef, subject: str | None) -> list[Reading]:
        readings: list[Reading] = []
        open_: list[tuple[str, TableKey]] = []
        for name, reference in ref.table.references.items():
            target = ref.target(reference)
            if target == key:
                readings.append(Reading(key, name, target, "links", "a reference to its own table names someone else"))
            elif reference.owner is not None:
                meaning: Meaning = "owns" if reference.owner else "links"
                why = "the map says so (owner: {})".format("true" if reference.owner else "false")
                readings.append(Reading(key, name, target, meaning, why, declared=True))
            elif target not in self.tables:
                readings.append(Reading(key, name, target, "links", "it points outside the map"))
            else:
                open_.append((name, target))
        if any(reading.owns and reading.declared for reading in readings):
            # The map named the owner: every other reference only names someone.
            return readings + [
                Reading(key, name, target, "links", "the map names another reference as the owner")
                for name, target in open_
            ]
        return readings + self._default(key, subject, open_)

    def _default(self, key: TableKey, subject: str | None, open_: list[tuple[str, TableKey]]) -> list[Reading]:
        identifies = key in self.identifies
        people = [(name, target) for name, target in open_ if target in self.identifies]
        things = [(name, target) for name, target in open_ if target not in self.identifies]
        if subject is not None:
            same_people = [(n, t) for n, t in people if self.tables[t].table.subject == subject]
            same_things = [] if identifies else [(n, t) for n, t in things if self.subject(t) == subject]
            chosen = same_people or same_things
            kind = "that identifies people of" if same_people else "of"
            if len(chosen) == 1:
                owner = chosen[0]
                return [
                    Reading(key, n, t, "owns", f"its only reference to a table {kind} its subject '{subject}'")
                    if (n, t) == owner
                    else self._not_owner(key, n, t, subject)
                    for n, t in open_
                ]
            if len(chosen) > 1:
                names = ", ".join(n for n, _ in chosen)
                return [
                    Reading(key, n, t, "ambiguous", f"{names} each point at a table {kind} its subject '{subject}'")
                    if (n, t) in chosen
                    else self._not_owner(key, n, t, subject)
                    for n, t in open_
                ]
            return [self._not_owner(key, n, t, subject) for n, t in open_]
        if identifies:
            return [
                Reading(key, n, t, "ambiguous", "the table declares no subject")
                if (n, t) in people
                else Reading(key, n, t, "links", "a table that identifies people is owned only by one of their kind")
                for n, t in open_
            ]
        owned_things = [(n, t) for n, t in things if self.subject(t) is not None]
        if people:
            return [
                Reading(
                    key,
                    n,
                    t,
                    "ambiguous",
                    "the table declares no subject, and it points at a table that "
                    "identifies people: its rows may be theirs, or merely name them",
                )
                if (n, t) in people or (n, t) in owned_things
                else Reading(key, n, t, "links", "it points at a table that belongs to nobody")
                for n, t in open_
            ]
        if len(owned_things) == 1:
            return [
                Reading(key, n, t, "owns", "its only reference to a table that belongs to somebody")
                if (n, t) == owned_things[0]
                else Reading(key, n, t, "links", "it points at a table that belongs to nobody")
                for n, t in open_
            ]
        return [
            Reading(
                key,
                n,
                t,
                "ambiguous",
                "the table declares no subject, and several of its references point at tables that belong to somebody",
            )
            if (n, t) in owned_things
            else Reading(key, n, t, "links", "it points at a table that belongs to nobody")
            for n, t in open_
        ]

    def _not_owner(self, key: TableKey, name: str, target: TableKey, subject: str) -> Reading:
        other = self.subject(target)
        if other is not None and other != subject:
            return Reading(key, name, target, "links", f"it points at a table of another subject ('{other}')")
        return Reading(key, name, target, "links", f"it is not the table's reference to its subject '{subject}'")
