"""Proof (Art. 7(1)): the events that establish a person's current state, with the notice each
saw, and the checks that the ledger is whole.

- :func:`prove` gives, for one person and purpose (and optionally a channel and topic), the answer
  and every event behind it, oldest first, each with its notice text and chain hashes.
- :func:`verify_ledger` recomputes every event's hash and link, checks the head and the audit
  entries that anchor the ledger, and that ``consent_state`` is exactly what the ledger derives.
- :func:`rebuild_state` derives ``consent_state`` from the ledger again.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from datavow.audit import GENESIS_HASH, AuditEntry, list_entries
from datavow.consent.answers import Answer, contact_answer, person_in, process_answer
from datavow.consent.identity import Hasher
from datavow.consent.ledger import chain_hash
from datavow.consent.scope import check_channel, purpose_spec, topic_purpose
from datavow.consent.transfer import ledger_for_export
from datavow.datamap import LoadedMap
from datavow.store import Store
from datavow.store.key import check_key
from datavow.store.models import (
    CONSENT_HEAD_ID,
    ConsentEventIdentityRow,
    ConsentEventRow,
    ConsentHeadRow,
    ConsentStateRow,
)
from datavow.store.models.base import as_timestamp


@dataclass(frozen=True)
class Proof:
    """The answer for a person and purpose, and the events it rests on (oldest first)."""

    identity: tuple[str, str]
    purpose: str
    answer: Answer
    contact: Answer | None
    events: list[dict[str, Any]]
    chain: LedgerCheck

    def to_dict(self) -> dict[str, Any]:
        return {
            "identity": {"kind": self.identity[0], "value": self.identity[1]},
            "purpose": self.purpose,
            "may_process": self.answer.to_dict(),
            "may_contact": self.contact.to_dict() if self.contact else None,
            "events": self.events,
            "chain": self.chain.to_dict(),
        }


@dataclass(frozen=True)
class LedgerCheck:
    """The verdict of :func:`verify_ledger`: ``ok``, or the first problem found. ``fields`` names the
    inputs that fix a problem found (``rebuild``: derive the state from the ledger again), for a front
    end to point at."""

    ok: bool
    events: int
    head_seq: int
    head_hash: str
    message: str
    problems: list[str] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)
    #: The rows of the current state derived again from the ledger first, when that was asked for.
    rebuilt: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": self.events,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "message": self.message,
            "problems": self.problems,
            "fields": self.fields,
            "rebuilt": self.rebuilt,
        }


def prove(
    store: Store,
    loaded: LoadedMap,
    identity: tuple[str, str],
    purpose: str,
    *,
    key: bytes,
    channel: str | None = None,
    topic: str | None = None,
) -> Proof:
    """The proof for one person and purpose: events about the purpose (any channel or topic) and
    channel-wide preferences, each with the notice it saw; with ``channel``, the contact answer too."""
    check_key(store, key)
    purpose_spec(loaded, purpose)
    if channel is not None:
        check_channel(channel)
    if topic is not None:
        topic_purpose(loaded, topic)
    hasher = Hasher(loaded, key)
    identity_hash = hasher.hash(*identity)
    with store.session(write=False) as session:
        person = person_in(session, identity_hash)
    answer = process_answer(loaded, person, purpose)
    contact = contact_answer(loaded, person, channel, topic) if channel is not None else None
    events = [
        event
        for event in ledger_for_export(store, loaded, {identity[0]: [identity[1]]}, key)
        if event["purpose"] in (purpose, None)
    ]
    return Proof(identity, purpose, answer, contact, events, verify_ledger(store))


def verify_ledger(store: Store, *, rebuild: bool = False) -> LedgerCheck:
    """Recompute the chain of every event, check the head, the audit anchors, and the state;
    with ``rebuild``, derive the state from the ledger again first (:func:`rebuild_state`)."""
    rebuilt = rebuild_state(store) if rebuild else None
    problems: list[str] = []
    prev, count, last_seq = GENESIS_HASH, 0, 0
    hashes: dict[int, str] = {}
    with store.session(write=False) as session:
        head = session.get(ConsentHeadRow, CONSENT_HEAD_ID)
        for row, identity_hashes in _events_with_identities(session):
            count += 1
            if row["prev_hash"] != prev:
                problems.append(f"event #{row['seq']}: it does not follow the event before it (removed or reordered)")
            if chain_hash(row, identity_hashes) != row["hash"]:
                problems.append(f"event #{row['seq']}: its content does not match its hash (changed)")
            prev, last_seq = row["hash"], row["seq"]
            hashes[row["seq"]] = row["hash"]
            if len(problems) >= 20:
                break
        if head is None or (head.seq, head.hash) != (last_seq, prev):
            problems.append(f"the head does not name the last event #{last_seq} (events removed from the end)")
        differences = _state_differences(session)
        problems.extend(differences)
    for entry in _anchors(store):
        seq = int(str(entry.details.get("last_seq", entry.object_id)))
        if seq in hashes and hashes[seq] != entry.details.get("hash"):
            problems.append(f"audit entry #{entry.seq} anchors event #{seq} with another hash")
        elif seq not in hashes and seq <= last_seq:
            problems.append(f"audit entry #{entry.seq} anchors event #{seq}, which is missing")
    if problems:
        return LedgerCheck(
            False, count, last_seq, prev, problems[0], problems, ["rebuild"] if differences else [], rebuilt
        )
    intact = f"{count} events, chain and state intact (head #{last_seq})"
    return LedgerCheck(True, count, last_seq, prev, intact, rebuilt=rebuilt)


def _anchors(store: Store) -> list[AuditEntry]:
    """The audit entries that anchor the ledger's chain as it is: those since the key was last
    rotated, and the rotation's own. A rotation chains the ledger again under the new key (the
    identity hashes an event's hash covers are keyed), after checking it against every anchor
    before it; the ``key.rotated`` entry anchors the new head (see ``docs/key.md``)."""
    rotations = sorted(
        (e for e in list_entries(store, object_type="key", action="key.rotated") if "last_seq" in e.details),
        key=lambda entry: entry.seq,
    )
    since = rotations[-1].seq if rotations else 0
    anchors = [entry for entry in list_entries(store, object_type="consent") if entry.seq > since]
    return anchors + rotations[-1:]


def rebuild_state(store: Store) -> int:
    """Derive ``consent_state`` from the ledger again, under the ledger's lock; returns its rows."""
    with store.session() as session:
        return rebuild_in(session)


def rebuild_in(session: Session) -> int:
    """:func:`rebuild_state` in the caller's transaction."""
    state = ConsentStateRow.__table__
    session.execute(sa.select(ConsentHeadRow).where(ConsentHeadRow.id == CONSENT_HEAD_ID).with_for_update())
    session.execute(sa.delete(ConsentStateRow))
    derived = _derived().subquery()
    columns = [derived.c.identity_hash, derived.c.scope, derived.c.granted, derived.c.at, derived.c.seq]
    session.execute(sa.insert(ConsentStateRow).from_select([c.name for c in columns], sa.select(*columns)))
    return int(session.scalar(sa.select(sa.func.count()).select_from(state)) or 0)


def _derived() -> sa.Select[Any]:
    """The latest event per identity hash and scope, by ``at`` then seq: what the state must be, its
    time as the state keeps it (integers on SQLite)."""
    events, links = ConsentEventRow.__table__, ConsentEventIdentityRow.__table__
    rank = sa.func.row_number().over(
        partition_by=(links.c.identity_hash, events.c.scope), order_by=(events.c.at.desc(), events.c.seq.desc())
    )
    ranked = (
        sa.select(
            links.c.identity_hash,
            events.c.scope,
            (events.c.event == "granted").label("granted"),
            as_timestamp(events.c.at).label("at"),
            events.c.seq,
            rank.label("rank"),
        )
        .join(events, events.c.seq == links.c.seq)
        .subquery()
    )
    return sa.select(ranked.c.identity_hash, ranked.c.scope, ranked.c.granted, ranked.c.at, ranked.c.seq).where(
        ranked.c.rank == 1
    )


def _state_differences(session: Session) -> list[str]:
    state = ConsentStateRow.__table__
    derived = _derived().subquery()
    keys = (state.c.identity_hash == derived.c.identity_hash, state.c.scope == derived.c.scope)
    facts = (state.c.seq == derived.c.seq, state.c.granted == derived.c.granted, state.c.at == derived.c.at)
    same = sa.and_(*keys, *facts)
    extra = session.scalar(sa.select(sa.func.count()).select_from(state).where(~sa.exists().where(same)))
    missing = session.scalar(
        sa.select(sa.func.count()).select_from(derived).where(~sa.exists().select_from(state).where(same))
    )
    if extra or missing:
        return [
            f"consent_state disagrees with the ledger ({extra} rows not derived from it, {missing} missing): "
            "rebuild it from the ledger"
        ]
    return []


def _events_with_identities(session: Session) -> Iterator[tuple[dict[str, Any], list[str]]]:
    events, links = ConsentEventRow.__table__, ConsentEventIdentityRow.__table__
    rows = session.execute(sa.select(events).order_by(events.c.seq).execution_options(yield_per=5000)).mappings()
    link_rows = iter(
        session.execute(
            sa.select(links.c.seq, links.c.identity_hash)
            .order_by(links.c.seq, links.c.identity_hash)
            .execution_options(yield_per=5000)
        )
    )
    pending = next(link_rows, None)
    for row in rows:
        found = []
        while pending is not None and pending[0] <= row["seq"]:
            if pending[0] == row["seq"]:
                found.append(pending[1])
            pending = next(link_rows, None)
        yield dict(row), found
