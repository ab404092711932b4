"""The two questions: may we process this person for a purpose, may we contact them on a channel
about a topic. Each answer combines three things (see ``docs/consent.md`` for the rules):

1. **Restrictions and objections** (Art. 18, 21) from the requests ledger: a restriction of
   every purpose or of the purpose, or an objection to the purpose, says no. An objection to
   direct marketing is absolute.
2. **The purpose** (gate A): the latest event about the purpose (``P||``, and for contact its
   channel and topic events) must not be a withdrawal; a purpose on consent needs a grant.
3. **The channel** (gate B, contact only): the latest event among ``all``, the channel, and the
   purpose's and topic's events on them, must not be a withdrawal ("no e-mail", "no
   communications at all").

The verdicts are computed once here, from a person's states, and reused by :class:`ConsentCache`
and (in SQL, the same rules) by :func:`filter_contactable`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from datavow.consent.identity import Hasher
from datavow.consent.scope import (
    Scope,
    check_channel,
    contact_scopes,
    needs_consent,
    purpose_scopes,
    purpose_spec,
    topic_purpose,
)
from datavow.datamap import LoadedMap
from datavow.plan.prepared import execute, prepared
from datavow.store import Store
from datavow.store.key import check_key
from datavow.store.models import ConsentStateRow, RestrictionIdentityRow, RestrictionRow
from datavow.store.models.base import as_timestamp


class State(NamedTuple):
    """The latest event of one scope for one identity."""

    granted: bool
    at: datetime
    seq: int


class Block(NamedTuple):
    """An active restriction or objection naming the identity."""

    id: int
    kind: str  # "restriction" | "objection"
    purpose: str | None
    absolute: bool
    since: datetime


@dataclass(frozen=True)
class Person:
    """What the state store says about one identity: its states by scope, its active blocks."""

    identity_hash: str
    states: Mapping[str, State]
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Answer:
    """``allowed``, and ``reasons`` in words; ``events`` the ledger seqs and ``restrictions`` the
    restriction/objection ids the answer rests on."""

    allowed: bool
    reasons: tuple[str, ...]
    events: tuple[int, ...] = ()
    restrictions: tuple[int, ...] = ()

    def __bool__(self) -> bool:
        return self.allowed

    def to_dict(self) -> dict[str, Any]:
        return {
            "allowed": self.allowed,
            "reasons": list(self.reasons),
            "events": list(self.events),
            "restrictions": list(self.restrictions),
        }


# --------------------------------------------------------------------------- asking


def consent_allows(store: Store, loaded: LoadedMap, identity: tuple[str, str], purpose: str, *, key: bytes) -> Answer:
    """May ``purpose`` process the person named by ``identity`` (``("email", "jane@x.org")``)?"""
    check_key(store, key)
    purpose_spec(loaded, purpose)
    person = read_person(store, Hasher(loaded, key).hash(*identity))
    return process_answer(loaded, person, purpose)


def may_contact(
    store: Store, loaded: LoadedMap, identity: tuple[str, str], channel: str, topic: str | None, *, key: bytes
) -> Answer:
    """May we contact the person named by ``identity`` on ``channel`` about ``topic`` (or about
    nothing in particular, ``None``)?"""
    check_key(store, key)
    check_channel(channel)
    if topic is not None:
        topic_purpose(loaded, topic)
    person = read_person(store, Hasher(loaded, key).hash(*identity))
    return contact_answer(loaded, person, channel, topic)


def read_person(store: Store, identity_hash: str) -> Person:
    """One identity's states and active blocks: one indexed statement, so one snapshot."""
    with reader(store) as connection:
        return person_in(connection, identity_hash)


def reader(store: Store) -> Connection:
    """A connection for answers, without an ORM session: an answer inside a mail-sending loop
    cannot afford one. On PostgreSQL it is in autocommit: each answer is one statement, one
    snapshot, so a transaction would only add its BEGIN and ROLLBACK round trips."""
    connection = store.reader.connect()
    if store.dialect == "postgresql":
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
    return connection


def _person_query() -> sa.Select[Any]:
    """States and active blocks of one identity hash in one statement, told apart by ``kind``:
    ``("state", scope, granted, at, seq)`` or ``(kind, purpose, absolute, created_at, id)``."""
    wanted = sa.bindparam("identity_hash", type_=sa.String)
    states = sa.select(
        sa.literal("state", sa.String).label("kind"),
        ConsentStateRow.scope.label("text"),
        ConsentStateRow.granted.label("flag"),
        ConsentStateRow.at.label("at"),
        sa.cast(ConsentStateRow.seq, sa.BigInteger).label("number"),
    ).where(ConsentStateRow.identity_hash == wanted)
    naming = sa.select(RestrictionIdentityRow.restriction_id).where(RestrictionIdentityRow.identity_hash == wanted)
    blocks = sa.select(
        RestrictionRow.kind,
        RestrictionRow.purpose,
        RestrictionRow.absolute,
        as_timestamp(RestrictionRow.created_at),  # read as the states' times are (integers on SQLite)
        sa.cast(RestrictionRow.id, sa.BigInteger),
    ).where(RestrictionRow.id.in_(naming), RestrictionRow.active.is_(True))
    return sa.select(sa.union_all(states, blocks).subquery())


_PERSON = _person_query()


def person_in(session: Session | Connection, identity_hash: str) -> Person:
    params = {"identity_hash": identity_hash}
    if isinstance(session, Connection) and prepared(session):
        # An answer inside a mail-sending loop: compiled once, run on the driver's cursor.
        rows: Iterable[Sequence[Any]] = execute(session, ("consent.person",), lambda: _PERSON, params)
    else:
        rows = session.execute(_PERSON, params)
    states: dict[str, State] = {}
    blocks: list[Block] = []
    for kind, text, flag, at, number in rows:
        if kind == "state":
            states[text] = State(bool(flag), at, number)
        else:
            blocks.append(Block(number, kind, text, bool(flag), at))
    return Person(identity_hash, states, tuple(sorted(blocks)))


# --------------------------------------------------------------------------- deciding


def process_answer(loaded: LoadedMap, person: Person, purpose: str) -> Answer:
    """The answer for ``purpose`` from what the store says about the person."""
    spec = purpose_spec(loaded, purpose)
    reasons: list[str] = []
    blocks = blocking(person.blocks, purpose)
    reasons.extend(_block_reason(block) for block in blocks)
    gate = purpose_gate(person.states, purpose, needs_consent(spec), [Scope(purpose).key])
    reasons.append(gate.reason)
    allowed = not blocks and gate.allowed
    return Answer(allowed, tuple(reasons), gate.events, tuple(block.id for block in blocks))


def contact_answer(loaded: LoadedMap, person: Person, channel: str, topic: str | None) -> Answer:
    """The answer for contacting on ``channel`` about ``topic`` from what the store says."""
    purpose = topic_purpose(loaded, topic) if topic is not None else None
    blocks = blocking(person.blocks, purpose)
    reasons = [_block_reason(block) for block in blocks]
    events: list[int] = []
    allowed = not blocks
    if purpose is not None:
        spec = purpose_spec(loaded, purpose)
        pool = purpose_scopes(purpose, contact_scopes(channel, topic, purpose))
        gate = purpose_gate(person.states, purpose, needs_consent(spec), pool)
        reasons.append(gate.reason)
        events.extend(gate.events)
        allowed = allowed and gate.allowed
    channel_gate = preference_gate(person.states, contact_scopes(channel, topic, purpose), channel)
    reasons.append(channel_gate.reason)
    events.extend(channel_gate.events)
    allowed = allowed and channel_gate.allowed
    return Answer(allowed, tuple(reasons), tuple(dict.fromkeys(events)), tuple(block.id for block in blocks))


def blocking(blocks: Iterable[Block], purpose: str | None) -> list[Block]:
    """The blocks that stop ``purpose``: restrictions of every purpose or of it, objections to it.
    With no purpose (a contact about nothing in particular), only restrictions of every purpose."""
    return [
        block
        for block in blocks
        if (block.kind == "restriction" and block.purpose in (None, purpose))
        or (block.kind == "objection" and purpose is not None and block.purpose == purpose)
    ]


class Gate(NamedTuple):
    allowed: bool
    reason: str
    events: tuple[int, ...]


def latest(states: Mapping[str, State], scopes: Iterable[str]) -> tuple[str, State] | None:
    """The most recent state among ``scopes`` (by ``at``, then seq), with its scope."""
    found = [(scope, states[scope]) for scope in scopes if scope in states]
    return max(found, key=lambda pair: (pair[1].at, pair[1].seq)) if found else None


def purpose_gate(states: Mapping[str, State], purpose: str, consent: bool, pool: list[str]) -> Gate:
    """Gate A: the latest event about the purpose must not be a withdrawal; consent needs a grant."""
    last = latest(states, pool)
    if last is None:
        if consent:
            return Gate(False, f"{purpose} is based on consent and none is recorded (Art. 6(1)(a))", ())
        return Gate(True, f"{purpose} does not need consent and the person has not opted out", ())
    scope, state = last
    what = Scope.parse(scope).describe()
    if state.granted:
        return Gate(True, f"granted for {what} on {state.at:%Y-%m-%d} (event #{state.seq})", (state.seq,))
    verb = "consent withdrawn" if consent else "opted out"
    return Gate(False, f"{verb} for {what} on {state.at:%Y-%m-%d} (event #{state.seq}, Art. 7(3))", (state.seq,))


def preference_gate(states: Mapping[str, State], pool: list[str], channel: str) -> Gate:
    """Gate B: the latest preference on the channel (or every channel) must not be a "no"."""
    last = latest(states, pool)
    if last is None:
        return Gate(True, f"no preference recorded against {channel}", ())
    scope, state = last
    what = Scope.parse(scope).describe()
    if state.granted:
        return Gate(True, f"yes to {what} on {state.at:%Y-%m-%d} (event #{state.seq})", (state.seq,))
    return Gate(False, f"no to {what} since {state.at:%Y-%m-%d} (event #{state.seq})", (state.seq,))


def _block_reason(block: Block) -> str:
    since = f"since {block.since:%Y-%m-%d}"
    if block.kind == "restriction":
        scope = f"of {block.purpose}" if block.purpose else "of every purpose"
        return f"restriction #{block.id} {scope} {since}: only storage is allowed (Art. 18(2))"
    if block.absolute:
        return f"objection #{block.id} to direct marketing ({block.purpose}) {since}: absolute (Art. 21(3))"
    return f"objection #{block.id} to {block.purpose} {since}: stop unless lifted on compelling grounds (Art. 21(1))"
