"""The restriction (Art. 18) and objection (Art. 21) ledger.

Each entry is about one person (however many identities they gave) and one purpose, or, for a
restriction, every purpose. While an entry is active the person's data may be stored but not
processed for that purpose; :func:`restriction_allows` answers for a purpose and says why.

- A **restriction** (Art. 18(1)) needs its ground recorded: accuracy contested, unlawful
  processing the person wants kept, data needed for legal claims, or an objection being weighed.
- An **objection** to direct marketing (a purpose whose fideslang ``use`` is ``marketing.*``) is
  absolute (Art. 21(2)–(3)): recorded without weighing anything. Any other objection
  (Art. 21(1)) applies to processing on legitimate interests or a public task and records the
  person's grounds; processing stops until the controller lifts it with compelling grounds.
- Nothing is lifted without a reason, and the person must be told before a restriction is
  lifted (Art. 18(3)).

The map's ``restriction_flag`` columns mirror the ledger in the application databases;
:func:`flag_targets` names them and :func:`restriction_identities` gives the identities to find
the rows by.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from datavow.audit import append
from datavow.datamap import LoadedMap
from datavow.datamap.model import LegalBasis, Purpose
from datavow.errors import ErrorKind, RequestError
from datavow.plan.identity_keys import (
    IdentityInput,
    IdentityKeys,
    canonical_identities,
    identity_hashes,
    kinds_from_text,
    kinds_text,
)
from datavow.requests.lifecycle import request_row, required
from datavow.requests.lifecycle.clock import utc_now
from datavow.store import Store
from datavow.store.models import RestrictionIdentityRow, RestrictionRow


class LedgerKind(StrEnum):
    restriction = "restriction"  # Art. 18
    objection = "objection"  # Art. 21


#: Legal bases Art. 21(1) lets a person object to (besides direct marketing, on any basis).
OBJECTABLE = frozenset({LegalBasis.legitimate_interest, LegalBasis.public_task})


@dataclass(frozen=True)
class Restriction:
    """One ledger entry. ``purpose`` ``None``: every purpose."""

    id: int
    kind: LedgerKind
    purpose: str | None
    active: bool
    absolute: bool
    reason: str | None
    created_at: datetime
    lifted_at: datetime | None
    lifted_reason: str | None
    request_id: int | None
    identity_kinds: tuple[str, ...]

    @property
    def article(self) -> str:
        if self.kind is LedgerKind.restriction:
            return "Art. 18"
        return "Art. 21(3)" if self.absolute else "Art. 21(1)"

    def describe(self) -> str:
        """``restriction #3 of every purpose since 2024-05-01 (Art. 18)``."""
        scope = f"of {self.purpose}" if self.kind is LedgerKind.restriction and self.purpose else "of every purpose"
        if self.kind is LedgerKind.objection:
            scope = f"to {'direct marketing, ' if self.absolute else ''}{self.purpose}"
        return f"{self.kind.value} #{self.id} {scope} since {self.created_at:%Y-%m-%d} ({self.article})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "purpose": self.purpose,
            "active": self.active,
            "absolute": self.absolute,
            "article": self.article,
            "reason": self.reason,
            "created_at": self.created_at.isoformat(),
            "lifted_at": self.lifted_at.isoformat() if self.lifted_at else None,
            "lifted_reason": self.lifted_reason,
            "request_id": self.request_id,
            "identity_kinds": list(self.identity_kinds),
        }


@dataclass(frozen=True)
class Decision:
    """May a purpose process this person? ``why`` says so in words; ``blocking`` lists the
    entries that say no."""

    allowed: bool
    why: str
    blocking: tuple[Restriction, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"allowed": self.allowed, "why": self.why, "blocking": [entry.to_dict() for entry in self.blocking]}


@dataclass(frozen=True)
class Lifted:
    """A lifted entry, and what the person must be told (Art. 18(3))."""

    restriction: Restriction
    reminder: str


# --------------------------------------------------------------------------- recording


def restrict(
    store: Store,
    loaded: LoadedMap,
    identities: IdentityInput,
    purposes: Iterable[str] | None = None,
    *,
    reason: str,
    actor: str,
    request_id: int | None = None,
    now: datetime | None = None,
) -> list[Restriction]:
    """Restrict processing of a person (Art. 18): for ``purposes`` (one entry each), or for every
    purpose when none are given. ``reason`` is the Art. 18(1) ground. ``request_id`` links the
    entries to the restriction request they answer."""
    reason = required(reason, "a restriction needs its ground (Art. 18(1)): pass reason")
    named = [_purpose(loaded, name)[0] for name in purposes] if purposes is not None else []
    scopes: list[str | None] = list(dict.fromkeys(named)) or [None]
    return _record_entries(
        store, loaded, identities, LedgerKind.restriction, scopes, reason, actor, request_id, absolute=False, now=now
    )


def object_to(
    store: Store,
    loaded: LoadedMap,
    identities: IdentityInput,
    purpose: str,
    reason: str | None,
    actor: str,
    *,
    request_id: int | None = None,
    now: datetime | None = None,
) -> Restriction:
    """Record a person's objection to one purpose (Art. 21).

    Direct marketing (``use: marketing.*``): absolute, recorded as is; ``reason`` may be left out.
    Any other purpose: only processing on legitimate interests or a public task can be objected
    to (consent is withdrawn instead, Art. 7(3)), and ``reason`` records the person's grounds.
    """
    name, spec = _purpose(loaded, purpose)
    absolute = _is_direct_marketing(spec)
    if absolute:
        reason = (reason or "").strip() or "objection to direct marketing (Art. 21(2))"
    else:
        if spec.basis not in OBJECTABLE:
            instead = (
                "withdraw consent instead (Art. 7(3))"
                if spec.basis is LegalBasis.consent
                else "restriction (Art. 18) or erasure (Art. 17) may apply instead"
            )
            raise RequestError(
                f"purpose {name!r} is based on {spec.basis.value}: Art. 21(1) gives a right to object only to "
                f"processing on legitimate interests or a public task (and to direct marketing); {instead}",
                kind=ErrorKind.INVALID,
                field="purpose",
            )
        reason = required(
            reason or "", f"record the person's grounds for objecting to {name!r} (Art. 21(1)): pass reason"
        )
    (entry,) = _record_entries(
        store, loaded, identities, LedgerKind.objection, [name], reason, actor, request_id, absolute=absolute, now=now
    )
    return entry


def lift(store: Store, restriction_id: int, reason: str, actor: str, *, now: datetime | None = None) -> Lifted:
    """Lift an entry, recording why. Returns the reminder to give the person (Art. 18(3)):
    they must be told before processing resumes."""
    reason = required(reason, "lifting needs a recorded reason: pass reason")
    with store.session() as session:
        row = session.scalars(
            sa.select(RestrictionRow).where(RestrictionRow.id == restriction_id).with_for_update()
        ).one_or_none()
        if row is None:
            raise RequestError(f"there is no restriction or objection #{restriction_id}", kind=ErrorKind.NOT_FOUND)
        if not row.active:
            raise RequestError(
                f"{row.kind} #{restriction_id} was lifted already, on {row.lifted_at:%Y-%m-%d}: {row.lifted_reason}"
            )
        row.active, row.lifted_at, row.lifted_reason = False, utc_now(now), reason
        session.flush()
        entry = _entry(row)
        details = {"purpose": row.purpose, "absolute": row.absolute}
        append(session, actor, f"{row.kind}.lifted", "restriction", str(row.id), reason=reason, details=details)
    return Lifted(entry, _reminder(entry))


def _reminder(entry: Restriction) -> str:
    if entry.kind is LedgerKind.restriction:
        return (
            f"Tell the person before processing resumes: Art. 18(3) requires that someone who obtained a "
            f"restriction is informed before it is lifted ({entry.describe()})."
        )
    if entry.absolute:
        return (
            "An objection to direct marketing is absolute (Art. 21(3)): lift it only when the person withdrew it, "
            "and tell them before marketing to them again."
        )
    return (
        "Tell the person that processing resumes and on which compelling legitimate grounds (Art. 21(1)); "
        "they may complain to the supervisory authority (Art. 77)."
    )


# --------------------------------------------------------------------------- asking


def restrictions_of(
    store: Store, loaded: LoadedMap, identities: IdentityInput, *, active_only: bool = True
) -> list[Restriction]:
    """The ledger entries naming any of these identities, oldest first."""
    hashes = identity_hashes(store, loaded, identities)
    naming = sa.select(RestrictionIdentityRow.restriction_id).where(RestrictionIdentityRow.identity_hash.in_(hashes))
    query = sa.select(RestrictionRow).where(RestrictionRow.id.in_(naming)).order_by(RestrictionRow.id)
    if active_only:
        query = query.where(RestrictionRow.active.is_(True))
    with store.session(write=False) as session:
        return [_entry(row) for row in session.scalars(query)]


def is_restricted(store: Store, loaded: LoadedMap, identities: IdentityInput, purpose: str | None = None) -> bool:
    """Is processing of this person restricted (Art. 18): at all, or for ``purpose``?"""
    name = _purpose(loaded, purpose)[0] if purpose is not None else None
    return any(
        entry.kind is LedgerKind.restriction and (name is None or entry.purpose in (None, name))
        for entry in restrictions_of(store, loaded, identities)
    )


def restriction_allows(store: Store, loaded: LoadedMap, identities: IdentityInput, purpose: str) -> Decision:
    """May ``purpose`` process this person's data? No while a restriction covers it or an
    objection to it stands; storage alone is always allowed (Art. 18(2))."""
    name, spec = _purpose(loaded, purpose)
    blocking = tuple(
        entry
        for entry in restrictions_of(store, loaded, identities)
        if entry.purpose == name or (entry.kind is LedgerKind.restriction and entry.purpose is None)
    )
    if not blocking:
        return Decision(True, f"no restriction or objection stops {name!r} ({spec.name}) for this person")
    reasons = []
    for entry in blocking:
        if entry.kind is LedgerKind.restriction:
            consequence = (
                "only storage is allowed, or processing with the person's consent, for legal claims, to protect "
                "another person or for an important public interest (Art. 18(2))"
            )
        elif entry.absolute:
            consequence = "no direct marketing, whatever the grounds (Art. 21(3))"
        else:
            consequence = "stop unless the objection is lifted on compelling legitimate grounds (Art. 21(1))"
        reasons.append(f"{entry.describe()}: {consequence}")
    return Decision(False, f"{name!r} may not process this person: " + "; ".join(reasons), blocking)


def restriction_identities(store: Store, loaded: LoadedMap, restriction_id: int) -> dict[str, tuple[str, ...]]:
    """The identities an entry names, unsealed: what the planner needs to set or clear the
    ``restriction_flag`` columns of the person's rows."""
    with store.session(write=False) as session:
        blob = session.scalar(sa.select(RestrictionRow.identities).where(RestrictionRow.id == restriction_id))
    if blob is None:
        raise RequestError(f"there is no restriction or objection #{restriction_id}", kind=ErrorKind.NOT_FOUND)
    return IdentityKeys.for_store(store, loaded).unseal(blob, _context(restriction_id))


def flag_targets(loaded: LoadedMap) -> list[tuple[str, str, str]]:
    """``(system, table, column)`` of every ``restriction_flag`` the map declares: the columns
    to set to true while a person is restricted, and back to false when it is lifted."""
    return [
        (ref.system_name, ref.table_name, ref.table.restriction_flag)
        for ref in loaded.tables()
        if ref.table.restriction_flag is not None
    ]


# --------------------------------------------------------------------------- internals


def _record_entries(
    store: Store,
    loaded: LoadedMap,
    identities: IdentityInput,
    kind: LedgerKind,
    purposes: list[str | None],
    reason: str,
    actor: str,
    request_id: int | None,
    *,
    absolute: bool,
    now: datetime | None,
) -> list[Restriction]:
    parsed = canonical_identities(loaded, identities)
    keys = IdentityKeys.for_store(store, loaded)
    moment = utc_now(now)
    entries = []
    with store.session() as session:
        if request_id is not None:
            _check_request(session, request_id, kind)
        for purpose in purposes:
            row = RestrictionRow(
                kind=kind.value,
                purpose=purpose,
                active=True,
                absolute=absolute,
                reason=reason,
                created_at=moment,
                request_id=request_id,
                identity_kinds=kinds_text(parsed),
                identities=b"",
            )
            session.add(row)
            session.flush()  # the id is part of what the identities are sealed to
            row.identities = keys.seal(parsed, _context(row.id))
            session.add_all(RestrictionIdentityRow(restriction_id=row.id, identity_hash=h) for h in keys.hashes(parsed))
            entry = _entry(row)
            details = {
                "purpose": purpose,
                "absolute": absolute,
                "request": request_id,
                "identity_kinds": sorted(parsed),
            }
            append(session, actor, f"{kind.value}.recorded", "restriction", str(row.id), reason=reason, details=details)
            entries.append(entry)
    return entries


def _check_request(session: Session, request_id: int, kind: LedgerKind) -> None:
    request_kind = request_row(session, request_id).kind
    if request_kind != kind.value:
        raise RequestError(
            f"request {request_id} is an {request_kind} request, not a {kind.value} request",
            kind=ErrorKind.INVALID,
            field="request_id",
        )


def _purpose(loaded: LoadedMap, name: str) -> tuple[str, Purpose]:
    purposes = loaded.model.purposes
    if name in purposes:
        return name, purposes[name]
    guess = difflib.get_close_matches(name, list(purposes), n=1)
    hint = f"did you mean {guess[0]!r}?" if guess else f"the map declares: {', '.join(sorted(purposes)) or 'none'}"
    raise RequestError(f"unknown purpose {name!r}: {hint}", kind=ErrorKind.INVALID, field="purpose")


def _is_direct_marketing(purpose: Purpose) -> bool:
    use = purpose.use or ""
    return use == "marketing" or use.startswith("marketing.")


def _context(restriction_id: int) -> str:
    return f"restriction:{restriction_id}"


def _entry(row: RestrictionRow) -> Restriction:
    return Restriction(
        id=row.id,
        kind=LedgerKind(row.kind),
        purpose=row.purpose,
        active=row.active,
        absolute=row.absolute,
        reason=row.reason,
        created_at=row.created_at,
        lifted_at=row.lifted_at,
        lifted_reason=row.lifted_reason,
        request_id=row.request_id,
        identity_kinds=kinds_from_text(row.identity_kinds),
    )
