"""Filtering a mailing list down to those who may be contacted: set-based, in the database.

The rules are those of :func:`~datavow.consent.may_contact`, evaluated for every identity at once
by one grouped statement over ``consent_state``: per identity hash, the time of the latest grant
and of the latest withdrawal among each gate's scopes. A gate's latest event is a grant when its
latest grant is later than its latest withdrawal. Where the two happened at the same moment (a
form that says yes to one thing and no to another), seq decides: those few identities are read
again, state by state, and decided by the very rules the single answers use.

The statement returns only the identities that decide the list: when the purpose needs consent,
those who may be contacted (nobody else may); otherwise those who may not (everybody else may).
Restrictions and objections are one more join. A short list is looked up by its hashes, in
chunks; for a long one everyone is asked about from a second thread while the list is hashed,
so that the database groups while the process hashes. Never one query per address.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from datavow.consent.answers import State, preference_gate, purpose_gate
from datavow.consent.identity import Hasher
from datavow.consent.scope import (
    check_channel,
    contact_scopes,
    needs_consent,
    purpose_scopes,
    purpose_spec,
    topic_purpose,
)
from datavow.datamap import LoadedMap
from datavow.store import Store
from datavow.store.key import check_key
from datavow.store.models import ConsentStateRow, RestrictionIdentityRow, RestrictionRow

#: Up to this many addresses, hash them first and look them up by hash; above it, ask about everyone.
LOOKUP_LIMIT = 50_000
_CHUNK = 5_000
#: PostgreSQL's memory for grouping everyone's states, for that transaction only (the default is 4MB):
#: a million identities' group fits, where 4MB would spill it to temporary files.
GROUP_MEMORY = "256MB"

_STATE = ConsentStateRow.__table__


@dataclass(frozen=True)
class Question:
    """May we contact on a channel about a topic, as the gates of :mod:`datavow.consent.answers` ask it."""

    channel: str
    purpose: str | None
    consent: bool  # the purpose needs a grant: nobody without one may be contacted
    gate_a: tuple[str, ...]  # the purpose's scopes; empty when the contact is about no purpose
    gate_b: tuple[str, ...]  # the channel's preference scopes

    @classmethod
    def ask(cls, loaded: LoadedMap, channel: str, topic: str | None) -> Question:
        check_channel(channel)
        purpose = topic_purpose(loaded, topic) if topic is not None else None
        preference = tuple(contact_scopes(channel, topic, purpose))
        if purpose is None:
            return cls(channel, None, False, (), preference)
        gate_a = tuple(purpose_scopes(purpose, preference))
        return cls(channel, purpose, needs_consent(purpose_spec(loaded, purpose)), gate_a, preference)

    @property
    def scopes(self) -> list[str]:
        """Every scope either gate reads."""
        return sorted({*self.gate_a, *self.gate_b})

    def allows(self, states: dict[str, State]) -> bool:
        """The two gates for one identity's states (without its restrictions and objections): the
        rules of :func:`~datavow.consent.answers.contact_answer`."""
        if self.purpose is not None and not purpose_gate(states, self.purpose, self.consent, [*self.gate_a]).allowed:
            return False
        return preference_gate(states, [*self.gate_b], self.channel).allowed


@dataclass(frozen=True)
class Verdict:
    """The identity hashes that decide: with ``consent``, the only ones allowed; else the ones stopped."""

    decisive: frozenset[str]
    consent: bool


def filter_contactable(
    store: Store,
    loaded: LoadedMap,
    addresses: Iterable[str],
    channel: str = "email",
    topic: str | None = None,
    *,
    key: bytes,
    kind: str = "email",
) -> list[str]:
    """The ``addresses`` (identities of ``kind``) that may be contacted on ``channel`` about
    ``topic``, as given and in their order. Values that are not valid for ``kind`` (``jane@``)
    are left out: nobody can be contacted there."""
    check_key(store, key)
    question = Question.ask(loaded, channel, topic)
    hasher = Hasher(loaded, key)
    hasher.check_kind(kind)
    values = list(addresses)
    if len(values) > LOOKUP_LIMIT:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="datavow-filter") as worker:
            # The database groups everyone's states while this thread hashes the list.
            asked = worker.submit(decide, store, question, None)
            given = hasher.hash_all(kind, values)
            verdict = asked.result()
    else:
        given = hasher.hash_all(kind, values)
        verdict = decide(store, question, sorted({h for _, h in given}))
    decisive = verdict.decisive
    if verdict.consent:
        return [address for address, h in given if h in decisive]
    return [address for address, h in given if h not in decisive]


def decide(store: Store, question: Question, wanted: Sequence[str] | None) -> Verdict:
    """The verdict for the identity hashes ``wanted``, or for everyone the store knows (``None``),
    in one snapshot."""
    with store.session(write=False) as session:
        if store.dialect == "postgresql" and wanted is None:
            session.execute(sa.text(f"SET LOCAL work_mem = '{GROUP_MEMORY}'"))
        decided: set[str] = set()
        ties: list[str] = []
        for chunk in _chunks(wanted):
            clear, tied = session.execute(_collected(question, chunk)).one()
            decided.update(_split(clear))
            ties.extend(_split(tied))
        if ties:
            decided.update(h for h, allowed in _exactly(session, question, ties).items() if allowed is question.consent)
        blocked = _blocked(session, question.purpose, wanted)
    return Verdict(frozenset(decided - blocked if question.consent else decided | blocked), question.consent)


def _collected(question: Question, chunk: Sequence[str] | None) -> sa.Select[str | None, str | None]:
    """:func:`_grouped`'s identities as one row: the decisive ones and the ties, each joined by commas.

    One row, not one per identity: a driver hands each row over holding Python's lock, and the
    thread hashing the list meanwhile made SQLite's grouping wait on it (8.0 s instead of 4.8 s
    for 5,000,000 states)."""
    rows = _grouped(question, chunk).subquery("decisive")
    return sa.select(
        sa.func.aggregate_strings(sa.case((sa.not_(rows.c.tie), rows.c.identity_hash)), ","),
        sa.func.aggregate_strings(sa.case((rows.c.tie, rows.c.identity_hash)), ","),
    )


def _split(joined: str | None) -> list[str]:
    return joined.split(",") if joined else []


def _grouped(question: Question, chunk: Sequence[str] | None) -> sa.Select[str, bool]:
    """Per identity with states among the gates' scopes: is it decisive, and is it a tie?

    ``max(at)`` of grants and of withdrawals per gate stand for the latest event; equal times
    are ties, which ``seq`` decides (:func:`_exactly`)."""
    at, granted, scope = _STATE.c.at, _STATE.c.granted, _STATE.c.scope
    asked = question.scopes

    def last(pool: tuple[str, ...], grant: bool) -> sa.ColumnElement[object]:
        conditions = [granted if grant else sa.not_(granted)]
        # Rows are already among the scopes asked: name the few that are not in this gate, the
        # cheaper test per row (for gate B only the purpose's own scope, for gate A ``|all|`` and the channel).
        outside = [s for s in asked if s not in pool]
        if outside:
            conditions.append(scope != outside[0] if len(outside) == 1 else scope.not_in(outside))
        return sa.func.max(at).filter(*conditions)

    # Each gate's latest grant and latest withdrawal, computed once per identity (SQLite would
    # compute an aggregate again wherever it is written with its own parameters).
    columns = {"b_yes": last(question.gate_b, True), "b_no": last(question.gate_b, False)}
    if question.gate_a:
        columns.update(a_yes=last(question.gate_a, True), a_no=last(question.gate_a, False))
    times = (
        sa.select(_STATE.c.identity_hash, *(value.label(name) for name, value in columns.items()))
        .where(scope.in_(asked))
        .group_by(_STATE.c.identity_hash)
    )
    if chunk is not None:
        times = times.where(_STATE.c.identity_hash.in_(chunk))
    t = times.subquery("times")

    def gate(yes: sa.ColumnElement[object], no: sa.ColumnElement[object]) -> tuple[sa.ColumnElement[bool], ...]:
        granted_last = sa.and_(yes.is_not(None), sa.or_(no.is_(None), yes > no))
        withdrawn_last = sa.and_(no.is_not(None), sa.or_(yes.is_(None), no > yes))
        return granted_last, withdrawn_last, yes == no

    _, b_withdrawn, tie = gate(t.c.b_yes, t.c.b_no)
    decisive = b_withdrawn  # about no purpose: only a "no" to the channel stops
    if question.gate_a:
        a_granted, a_withdrawn, a_tie = gate(t.c.a_yes, t.c.a_no)
        tie = sa.or_(a_tie, tie)
        # On consent only a grant lets through; otherwise only a withdrawal, of either gate, stops.
        decisive = sa.and_(a_granted, sa.not_(b_withdrawn)) if question.consent else sa.or_(a_withdrawn, b_withdrawn)
    return sa.select(t.c.identity_hash, sa.case((tie, True), else_=False).label("tie")).where(sa.or_(decisive, tie))


def _exactly(session: Session, question: Question, hashes: list[str]) -> dict[str, bool]:
    """The gates for ``hashes``, state by state: whether each may be contacted (restrictions aside)."""
    pool = question.scopes
    states: dict[str, dict[str, State]] = defaultdict(dict)
    for chunk in _slices(hashes):
        query = sa.select(_STATE.c.identity_hash, _STATE.c.scope, _STATE.c.granted, _STATE.c.at, _STATE.c.seq).where(
            _STATE.c.identity_hash.in_(chunk), _STATE.c.scope.in_(pool)
        )
        for identity_hash, scope, granted, at, seq in session.execute(query):
            states[identity_hash][scope] = State(bool(granted), at, seq)
    return {h: question.allows(states[h]) for h in hashes}


def _blocked(session: Session, purpose: str | None, wanted: Sequence[str] | None) -> set[str]:
    """Identity hashes an active restriction or objection stops for ``purpose`` (the rule of ``blocking``)."""
    restriction = RestrictionRow.kind == "restriction"
    if purpose is None:
        applies = sa.and_(restriction, RestrictionRow.purpose.is_(None))
    else:
        applies = sa.or_(
            sa.and_(restriction, sa.or_(RestrictionRow.purpose.is_(None), RestrictionRow.purpose == purpose)),
            sa.and_(RestrictionRow.kind == "objection", RestrictionRow.purpose == purpose),
        )
    found: set[str] = set()
    for chunk in _chunks(wanted):
        query = (
            sa.select(RestrictionIdentityRow.identity_hash)
            .join(RestrictionRow, RestrictionRow.id == RestrictionIdentityRow.restriction_id)
            .where(RestrictionRow.active.is_(True), applies)
        )
        if chunk is not None:
            query = query.where(RestrictionIdentityRow.identity_hash.in_(chunk))
        found.update(session.scalars(query))
    return found


def _chunks(wanted: Sequence[str] | None) -> list[Sequence[str] | None]:
    """``wanted`` in slices, or one ``None``: everyone at once."""
    return [None] if wanted is None else [*_slices(wanted)]


def _slices(values: Sequence[str]) -> list[Sequence[str]]:
    return [values[start : start + _CHUNK] for start in range(0, len(values), _CHUNK)]
