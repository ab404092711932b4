"""Appending to the consent ledger.

Every append, of one event or a batch, is one transaction that

1. locks ``consent_head`` and gives each event the next ``seq``;
2. seals the event's identities (bound to its seq) and keys each value's hash for lookups;
3. chains the event: its hash covers what it says and the hash of the event before it;
4. upserts ``consent_state``, the latest event per identity hash and scope (by ``at``, then seq);
5. appends one audit entry naming the events and the ledger's new head hash.

Step 5 anchors the ledger's own chain in the audit chain: a per-event audit entry would double
the rows of a ten-million-event ledger and serialise every import on the audit head, and proves
nothing the ledger's chain does not (see ``docs/consent.md``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice
from json.encoder import encode_basestring
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from datavow.audit import append
from datavow.consent.bulk import insert_rows
from datavow.consent.errors import ConsentError
from datavow.consent.scope import Scope, check_event, check_source, event_scope, purpose_spec
from datavow.datamap import LoadedMap
from datavow.datamap.model import LegalBasis
from datavow.errors import ErrorKind, RequestError
from datavow.plan.identity_keys import IdentityInput, IdentityKeys, canonical_identities, identity_keys, kinds_text
from datavow.store import Store
from datavow.store.key import check_key
from datavow.store.models import (
    CONSENT_HEAD_ID,
    ConsentEventIdentityRow,
    ConsentEventRow,
    ConsentHeadRow,
    ConsentNoticeRow,
    ConsentStateRow,
)

#: How far in the future an event's ``at`` may be (clock skew between machines), and no further.
SKEW = timedelta(minutes=5)
BATCH = 10_000

_EVENTS: sa.Table = ConsentEventRow.__table__  # type: ignore[assignment]
_LINKS: sa.Table = ConsentEventIdentityRow.__table__  # type: ignore[assignment]
_STATE: sa.Table = ConsentStateRow.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class EventInput:
    """One event to record with :func:`record_events` (the keyword arguments of :func:`record_event`)."""

    identities: IdentityInput
    event: str
    purpose: str | None = None
    channel: str | None = None
    topic: str | None = None
    source: str = "api"
    source_detail: str | None = None
    notice: str | None = None
    basis: str | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class ConsentEvent:
    """One recorded event, as the ledger holds it (identity values stay sealed)."""

    seq: int
    at: datetime
    recorded_at: datetime
    event: str
    scope: Scope
    source: str
    source_detail: str | None
    notice_hash: str | None
    basis: str | None
    actor: str
    identity_kinds: tuple[str, ...]
    prev_hash: str
    hash: str

    @property
    def granted(self) -> bool:
        return self.event == "granted"

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "recorded_at": self.recorded_at.isoformat(),
            "event": self.event,
            "purpose": self.scope.purpose,
            "channel": self.scope.channel,
            "topic": self.scope.topic,
            "source": self.source,
            "source_detail": self.source_detail,
            "notice_hash": self.notice_hash,
            "basis": self.basis,
            "actor": self.actor,
            "identity_kinds": list(self.identity_kinds),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


@dataclass
class PreparedEvent:
    """An event checked and normalised, before it has a place in the chain."""

    identities: dict[str, tuple[str, ...]]
    hashes: list[str]
    event: str
    scope: Scope
    source: str
    source_detail: str | None
    notice: str | None
    notice_hash: str | None
    basis: str | None
    at: datetime
    row: dict[str, Any] = field(default_factory=dict)


def record_event(
    store: Store,
    loaded: LoadedMap,
    identities: IdentityInput,
    *,
    purpose: str | None = None,
    event: str,
    channel: str | None = None,
    topic: str | None = None,
    source: str = "api",
    source_detail: str | None = None,
    notice: str | None = None,
    basis: str | None = None,
    actor: str,
    at: datetime | None = None,
    key: bytes,
) -> ConsentEvent:
    """Record one consent or preference event and return it; see :mod:`datavow.consent`."""
    check_key(store, key)
    item = EventInput(identities, event, purpose, channel, topic, source, source_detail, notice, basis, at)
    keys = identity_keys(key)
    prepared = _prepare_all(loaded, keys, [item], utc_now())
    with store.session() as session:
        (row,) = _append(session, keys, prepared, actor)
    return event_from_mapping(row)


def record_events(
    store: Store, loaded: LoadedMap, events: Iterable[EventInput], *, actor: str, key: bytes, batch_size: int = BATCH
) -> int:
    """Record many events, one transaction per ``batch_size``; returns how many. Every event of a
    batch is checked before its transaction starts, so a bad one leaves that batch unwritten
    (:func:`~datavow.consent.import_csv` checks the whole file first)."""
    check_key(store, key)
    keys = identity_keys(key)
    count = 0
    for batch in _batches(events, batch_size):
        prepared = _prepare_all(loaded, keys, batch, utc_now())
        with store.session() as session:
            count += len(_append(session, keys, prepared, actor))
    return count


def prepare_all(loaded: LoadedMap, key: bytes, events: Iterable[EventInput]) -> list[PreparedEvent]:
    """Check every event; raises on the first one that is wrong."""
    return _prepare_all(loaded, identity_keys(key), events, utc_now())


def append_prepared(
    store: Store, key: bytes, prepared: list[PreparedEvent], actor: str, batch_size: int = BATCH
) -> list[ConsentEvent]:
    """Append events :func:`prepare_all` checked, in one transaction: all of them or none."""
    check_key(store, key)
    with store.session() as session:
        return append_in(session, key, prepared, actor, batch_size)


def append_in(
    session: Session, key: bytes, prepared: list[PreparedEvent], actor: str, batch_size: int = BATCH
) -> list[ConsentEvent]:
    """Append events :func:`prepare_all` checked, in the caller's transaction."""
    keys = identity_keys(key)
    recorded: list[ConsentEvent] = []
    for start in range(0, len(prepared), batch_size):
        rows = _append(session, keys, prepared[start : start + batch_size], actor)
        recorded.extend(event_from_mapping(row) for row in rows)
    return recorded


def lock_head(session: Session) -> ConsentHeadRow:
    """The ledger's head, locked until the transaction ends: appends wait for its holder."""
    head = session.scalars(
        sa.select(ConsentHeadRow).where(ConsentHeadRow.id == CONSENT_HEAD_ID).with_for_update()
    ).one_or_none()
    if head is None:
        raise ConsentError(
            "the consent ledger has no head row: the state store was edited; verify the audit chain to find where",
            kind=ErrorKind.INTEGRITY,
        )
    return head


def notice_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def utc_now() -> datetime:
    return datetime.now(UTC)


def chain_hash(row: Mapping[str, Any], identity_hashes: Iterable[str]) -> str:
    """The hash of one event: what it says, who it names (by keyed hash) and the hash before it."""
    return _chain_hash(row, _iso(row["at"]), _iso(row["recorded_at"]), identity_hashes)


def _chain_hash(row: Mapping[str, Any], at: str, recorded_at: str, identity_hashes: Iterable[str]) -> str:
    # The canonical JSON (datavow.audit.canonical_json) of the event's content, keys in sorted order,
    # written out: the same bytes in a third of json.dumps' time, which made a new encoder per call.
    text = (
        f'{{"actor":{_str(row["actor"])},"at":{_str(at)},"basis":{_json(row["basis"])},'
        f'"event":{_str(row["event"])},"identities":[{",".join(map(_str, sorted(identity_hashes)))}],'
        f'"identity_kinds":{_str(row["identity_kinds"])},"notice_hash":{_json(row["notice_hash"])},'
        f'"prev_hash":{_str(row["prev_hash"])},"recorded_at":{_str(recorded_at)},"scope":{_str(row["scope"])},'
        f'"seq":{row["seq"]:d},"source":{_str(row["source"])},"source_detail":{_json(row["source_detail"])}}}'
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _json(text: str | None) -> str:
    """A JSON string as canonical_json writes it (UTF-8, not escaped to ASCII), or null."""
    return "null" if text is None else _str(text)


_str = encode_basestring


def upsert_state(session: Session, rows: list[dict[str, Any]]) -> None:
    """Make each row the state of its identity hash and scope unless a later event already is."""
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        slot = (row["identity_hash"], row["scope"])
        held = latest.get(slot)
        if held is None or (row["at"], row["seq"]) > (held["at"], held["seq"]):
            latest[slot] = row
    if not latest:
        return
    insert_rows(session.connection(), _STATE, list(latest.values()), _LATER_WINS)


# A state row replaces the one held only when its event is later (by ``at``, then seq). SQLite and
# PostgreSQL both take this clause, the table named ``t``.
_LATER_WINS = (
    "ON CONFLICT (identity_hash, scope) DO UPDATE SET granted = excluded.granted, at = excluded.at, "
    "seq = excluded.seq WHERE excluded.at > t.at OR (excluded.at = t.at AND excluded.seq > t.seq)"
)


# --------------------------------------------------------------------------- internals


def _prepare_all(
    loaded: LoadedMap, keys: IdentityKeys, items: Iterable[EventInput], now: datetime
) -> list[PreparedEvent]:
    return list(map(_Preparer(loaded, keys, now).prepare, items))


_BASES = frozenset(basis.value for basis in LegalBasis)


class _Preparer:
    """Checks and normalises the events of one call. Each scope is checked once per map, and each
    person once per call: an import names most people in several events, one after another."""

    def __init__(self, loaded: LoadedMap, keys: IdentityKeys, now: datetime) -> None:
        self.loaded, self.now = loaded, now
        # (purpose, channel, topic) -> the scope and its purpose's basis, kept per map once checked.
        self.scopes: dict[tuple[str | None, str | None, str | None], tuple[Scope, str | None]] = loaded.derived(
            "consent.scopes", dict
        )
        self.keys = keys
        # (kind, value as given) -> the identities and their hashes, for events naming one value.
        self.people: dict[tuple[str, str], tuple[dict[str, tuple[str, ...]], list[str]]] = {}

    def prepare(self, item: EventInput) -> PreparedEvent:
        event = check_event(item.event)
        scope, purpose_basis = self.scope(item.purpose, item.channel, item.topic)
        source = check_source(item.source)
        identities, hashes = self.person(item.identities)
        at = self.now if item.at is None else item.at
        if at.tzinfo is None:
            raise ConsentError(
                "an event's time must be timezone-aware: pass tzinfo=UTC (or an offset)",
                kind=ErrorKind.INVALID,
                field="given_at",
            )
        try:
            at = at.astimezone(UTC)
        except OverflowError as exc:  # a time near year 1 or 9999 whose offset moves it out of range
            raise ConsentError(
                f"the time {at.isoformat()} is out of range in UTC", kind=ErrorKind.INVALID, field="given_at"
            ) from exc
        if at > self.now + SKEW:
            raise ConsentError(
                f"an event cannot happen in the future ({at:%Y-%m-%d %H:%M} UTC)",
                kind=ErrorKind.INVALID,
                field="given_at",
            )
        basis = item.basis
        if basis is None:
            basis = purpose_basis
        elif basis not in _BASES:
            raise ConsentError(
                f"unknown legal basis {basis!r}: use one of {', '.join(b.value for b in LegalBasis)}",
                kind=ErrorKind.INVALID,
                field="basis",
            )
        notice = item.notice if item.notice and item.notice.strip() else None
        detail = item.source_detail.strip()[:200] if item.source_detail and item.source_detail.strip() else None
        return PreparedEvent(
            identities,
            hashes,
            event,
            scope,
            source,
            detail,
            notice,
            notice_hash(notice) if notice else None,
            basis,
            at,
        )

    def scope(self, purpose: str | None, channel: str | None, topic: str | None) -> tuple[Scope, str | None]:
        """The event's scope and its purpose's basis; only scopes that pass the checks are kept."""
        slot = (purpose, channel, topic)
        found = self.scopes.get(slot)
        if found is None:
            scope = event_scope(self.loaded, purpose, channel, topic)
            basis = purpose_spec(self.loaded, scope.purpose).basis.value if scope.purpose is not None else None
            found = self.scopes[slot] = (scope, basis)
        return found

    def person(self, given: IdentityInput) -> tuple[dict[str, tuple[str, ...]], list[str]]:
        """The identities in canonical form and their keyed hashes, sorted."""
        slot: tuple[str, str] | None = None
        if len(given) == 1:
            kind, value = next(iter(given.items()))
            if isinstance(value, str):
                slot = (kind, value)
                if (found := self.people.get(slot)) is not None:
                    return found
        try:
            identities = canonical_identities(self.loaded, given)
        except RequestError as exc:
            raise ConsentError(str(exc), kind=exc.kind, field=exc.field) from exc
        hashes = self.keys.hashes(identities)
        if slot is not None:
            self.people[slot] = (identities, hashes)
        return identities, hashes


def _append(session: Session, keys: IdentityKeys, prepared: list[PreparedEvent], actor: str) -> list[dict[str, Any]]:
    """Append the events; returns their rows (:func:`event_from_mapping` makes events of them)."""
    if not actor or not actor.strip() or len(actor) > 200:
        raise ConsentError(
            f"an event needs its actor (up to 200 characters), got {actor!r}", kind=ErrorKind.INVALID, field="actor"
        )
    if not prepared:
        return []
    head = lock_head(session)
    _store_notices(session, prepared)
    recorded_at = utc_now()
    recorded = _iso(recorded_at)
    seq, prev = head.seq, head.hash
    events: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    states: list[dict[str, Any]] = []
    for item in prepared:
        seq += 1
        scope = item.scope.key
        row: dict[str, Any] = {
            "seq": seq,
            "at": item.at,
            "recorded_at": recorded_at,
            "event": item.event,
            "purpose": item.scope.purpose,
            "channel": item.scope.channel,
            "topic": item.scope.topic,
            "scope": scope,
            "source": item.source,
            "source_detail": item.source_detail,
            "notice_hash": item.notice_hash,
            "basis": item.basis,
            "actor": actor,
            "identity_kinds": kinds_text(item.identities),
            "identities": keys.seal(item.identities, _context(seq)),
            "prev_hash": prev,
        }
        row["hash"] = prev = _chain_hash(row, _iso(item.at), recorded, item.hashes)
        events.append(row)
        granted = item.event == "granted"
        for identity_hash in item.hashes:
            links.append({"identity_hash": identity_hash, "seq": seq})
            states.append(
                {"identity_hash": identity_hash, "scope": scope, "granted": granted, "at": item.at, "seq": seq}
            )
        item.row = row
    # Not the ORM's bulk insert: it regroups rows by their None columns and runs them in hundreds of
    # small statements; insert_rows writes each table in one COPY or executemany.
    connection = session.connection()
    insert_rows(connection, _EVENTS, events)
    insert_rows(connection, _LINKS, links)
    upsert_state(session, states)
    head.seq, head.hash = seq, prev
    _audit(session, actor, prepared)
    return events


def _store_notices(session: Session, prepared: list[PreparedEvent]) -> None:
    texts = {item.notice_hash: item.notice for item in prepared if item.notice_hash and item.notice}
    if not texts:
        return
    known = set(session.scalars(sa.select(ConsentNoticeRow.hash).where(ConsentNoticeRow.hash.in_(list(texts)))))
    new = [{"hash": h, "text": text, "first_seen_at": utc_now()} for h, text in texts.items() if h not in known]
    if new:
        session.execute(sa.insert(ConsentNoticeRow), new)


def _audit(session: Session, actor: str, prepared: list[PreparedEvent]) -> None:
    first, last = prepared[0].row, prepared[-1].row
    if len(prepared) == 1:
        details: dict[str, object] = {
            "scope": first["scope"],
            "source": first["source"],
            "basis": first["basis"],
            "notice": first["notice_hash"],
            "identity_kinds": first["identity_kinds"],
            "hash": first["hash"],
        }
        append(session, actor, f"consent.{first['event']}", "consent", str(first["seq"]), details=details)
        return
    details = {
        "events": len(prepared),
        "granted": sum(item.event == "granted" for item in prepared),
        "withdrawn": sum(item.event == "withdrawn" for item in prepared),
        "first_seq": first["seq"],
        "last_seq": last["seq"],
        "hash": last["hash"],
    }
    append(session, actor, "consent.recorded", "consent", f"{first['seq']}-{last['seq']}", details=details)


def event_from_mapping(row: Mapping[str, Any]) -> ConsentEvent:
    """An event from its row's columns (``consent_events`` read with Core, or a row just written)."""
    kinds = row["identity_kinds"]
    return ConsentEvent(
        seq=row["seq"],
        at=row["at"],
        recorded_at=row["recorded_at"],
        event=row["event"],
        scope=Scope.parse(row["scope"]),
        source=row["source"],
        source_detail=row["source_detail"],
        notice_hash=row["notice_hash"],
        basis=row["basis"],
        actor=row["actor"],
        identity_kinds=tuple(kinds.split(",")) if kinds else (),
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )


def _context(seq: int) -> str:
    return f"consent:{seq}"


def unseal_identities(keys: IdentityKeys, seq: int, blob: bytes) -> dict[str, tuple[str, ...]]:
    return keys.unseal(blob, _context(seq))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _batches(events: Iterable[EventInput], size: int) -> Iterator[list[EventInput]]:
    if size < 1:
        raise ConsentError(f"batch_size must be at least 1, not {size}", kind=ErrorKind.INVALID, field="batch_size")
    iterator = iter(events)
    while batch := list(islice(iterator, size)):
        yield batch
