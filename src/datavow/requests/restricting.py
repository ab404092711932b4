"""Restricting a person and lifting it, one operation each: the ledger entry, then the map's
``restriction_flag`` columns in the application databases (Art. 18), so that no front end has to
remember the second step; and the answer to "is this person restricted?".

The flags are set set-based on the rows discovery finds for the person, one transaction per
system (:func:`set_restriction_flags`); a run of a restriction request sets them the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from datavow.changes.systems import Committing
from datavow.connectors.databases import Databases
from datavow.datamap import LoadedMap
from datavow.plan import compile_plan, parse_identities
from datavow.plan.identity_keys import IdentityInput
from datavow.plan.model import Discovery
from datavow.plan.sql import reflect_table, selection_clauses
from datavow.requests.reading import find_person
from datavow.requests.restriction import (
    Lifted,
    Restriction,
    flag_targets,
    is_restricted,
    lift,
    restrict,
    restriction_allows,
    restriction_identities,
    restrictions_of,
)
from datavow.store import Store


@dataclass(frozen=True)
class Restricted:
    """The entries recorded, and the rows whose restriction flag was set, per table."""

    entries: tuple[Restriction, ...]
    flagged: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the entries (:meth:`Restriction.to_dict`) and rows flagged per table."""
        return {"entries": [entry.to_dict() for entry in self.entries], "flagged": dict(self.flagged)}


@dataclass(frozen=True)
class LiftedRestriction:
    """The entry lifted, what the person must be told, whether another entry still restricts
    them, and the rows whose restriction flag was cleared (none while another entry stands)."""

    lifted: Lifted
    still_restricted: bool
    cleared: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the entry lifted, the reminder, and the rows cleared per table."""
        return {
            "lifted": self.lifted.restriction.to_dict(),
            "reminder": self.lifted.reminder,
            "still_restricted": self.still_restricted,
            "cleared": dict(self.cleared),
        }


@dataclass(frozen=True)
class RestrictionStatus:
    """May the person be processed (for ``purpose``, when given), why, and the entries active
    for them."""

    allowed: bool
    why: str
    purpose: str | None
    active: tuple[Restriction, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the answer, why, the purpose asked about and the active entries."""
        return {
            "allowed": self.allowed,
            "why": self.why,
            "purpose": self.purpose,
            "active": [entry.to_dict() for entry in self.active],
        }


def restrict_person(
    store: Store,
    loaded: LoadedMap,
    identities: IdentityInput,
    purposes: Iterable[str] | None = None,
    *,
    reason: str,
    actor: str,
    databases: Databases,
    request_id: int | None = None,
) -> Restricted:
    """Restrict processing of a person (Art. 18), for every purpose or those named, and set the
    map's restriction flags on their rows in the databases of ``databases``."""
    entries = restrict(store, loaded, identities, purposes, reason=reason, actor=actor, request_id=request_id)
    return Restricted(tuple(entries), flag_person(loaded, identities, True, databases=databases))


def lift_restriction(
    store: Store, loaded: LoadedMap, restriction_id: int, reason: str, actor: str, *, databases: Databases
) -> LiftedRestriction:
    """Lift a restriction or objection with its reason, and clear the person's restriction flags
    unless another restriction of theirs still stands."""
    lifted = lift(store, restriction_id, reason, actor)
    identities = restriction_identities(store, loaded, restriction_id)
    still = is_restricted(store, loaded, identities)
    cleared = {} if still else flag_person(loaded, identities, False, databases=databases)
    return LiftedRestriction(lifted, still, cleared)


def restriction_status(
    store: Store, loaded: LoadedMap, identities: IdentityInput, purpose: str | None = None
) -> RestrictionStatus:
    """Is this person restricted? With ``purpose``: may that purpose process them?"""
    if purpose is not None:
        decision = restriction_allows(store, loaded, identities, purpose)
        allowed, why = decision.allowed, decision.why
    elif is_restricted(store, loaded, identities):
        allowed, why = False, "processing of this person is restricted (Art. 18): only storage is allowed"
    else:
        allowed, why = True, "processing of this person is not restricted"
    return RestrictionStatus(allowed, why, purpose, tuple(restrictions_of(store, loaded, identities)))


def set_restriction_flags(
    loaded: LoadedMap,
    discovery: Discovery,
    engines: Mapping[str, Engine],
    value: bool,
    committing: Committing | None = None,
) -> dict[str, int]:
    """Set each ``restriction_flag`` column of the person's rows to ``value`` (Art. 18), one
    transaction per system (``committing`` is told what each changed before it commits); returns
    rows changed per table."""
    changed: dict[str, int] = {}
    for system in discovery.plan.systems():
        with engines[system].begin() as connection:
            here: dict[str, int] = {}
            for selection in discovery.selections.values():
                if selection.step.table[0] != system or selection.is_empty():
                    continue
                ref = loaded.table(*selection.step.table)
                flag = ref.table.restriction_flag
                if flag is None:
                    continue
                table = reflect_table(loaded, selection.step, connection)
                rows = 0
                for clause in selection_clauses(table, selection.changeable(), connection.dialect.name):
                    statement = (
                        sa.update(table).where(clause, table.c[flag].is_distinct_from(value)).values({flag: value})
                    )
                    rows += connection.execute(statement).rowcount
                here[selection.step.label] = rows
            if committing is not None:
                committing(system, {label: {"flagged": rows} for label, rows in here.items()}, sum(here.values()))
            changed.update(here)
    return changed


def flag_person(
    loaded: LoadedMap,
    given: IdentityInput,
    value: bool,
    *,
    databases: Databases,
    tenant: str | None = None,
) -> dict[str, int]:
    """Set (or clear) the map's ``restriction_flag`` columns on a person's rows, so the
    application itself knows processing is restricted (Art. 18). Returns rows changed per table;
    nothing to do when the map declares no flag."""
    flagged_systems = sorted({system for system, _, _ in flag_targets(loaded)})
    if not flagged_systems:
        return {}
    identities = parse_identities(loaded, given)
    plan = compile_plan(loaded, identities.keys(), tenant=tenant, systems=flagged_systems)

    def attempt() -> dict[str, int]:
        engines = databases.engines(loaded, plan.systems())
        discovery = find_person(loaded, plan, identities, engines)
        return set_restriction_flags(loaded, discovery, engines, value)

    return databases.retrying(attempt)


__all__ = [
    "LiftedRestriction",
    "Restricted",
    "RestrictionStatus",
    "flag_person",
    "lift_restriction",
    "restrict_person",
    "restriction_status",
    "set_restriction_flags",
]
