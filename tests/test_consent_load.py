"""Appending many consent events at once: what the fast path writes is what the ledger's formats say.

Each stored row is checked against the formats written out here, independently of the code that
wrote it: the chain hash is SHA-256 of the canonical JSON of the event's content, the identities
unseal to their canonical form, the identity hashes are the HMACs the requests ledger computes, and
the state is the latest event per identity hash and scope. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from datavow.audit import canonical_json
from datavow.consent import ConsentError, EventInput, record_events, verify_ledger
from datavow.consent.ledger import append_prepared, prepare_all, unseal_identities
from datavow.datamap import LoadedMap
from datavow.plan.identity_keys import IdentityKeys, canonical_identities
from datavow.store import Store
from datavow.store.models import ConsentEventIdentityRow, ConsentEventRow, ConsentStateRow
from tests import test_consent

shop = test_consent.shop
store = test_consent.store
any_store = test_consent.any_store
key = test_consent.key

T0 = datetime(2024, 3, 15, 10, 0, tzinfo=UTC)


def awkward_events() -> list[EventInput]:
    """Text JSON must escape or keep as it is, several identities, a person named twice in other
    spellings, events out of time order, scopes with and without a purpose."""
    jane = {"email": ["Jane.Doe@Example.com", "jane.doe@example.com"], "phone": "+32 470 12 34 56"}
    return [
        EventInput(jane, "granted", "newsletter", notice='Oui, « la lettre » — "mensuelle" \\ ✉', at=T0),
        EventInput({"email": "JANE.DOE@example.com"}, "withdrawn", channel="email", at=T0 - timedelta(days=1)),
        EventInput({"email": "bob@example.com"}, "granted", channel="email", topic="newsletter", at=T0),
        EventInput({"email": "bob@example.com"}, "withdrawn", channel="all", source_detail="line 7\tof\n“prefs”.csv"),
        EventInput({"phone": ("0032 470 12 34 56",)}, "granted", "fraud", basis="legal_obligation", at=T0),
        EventInput(jane, "withdrawn", "newsletter", source="form", at=T0 + timedelta(seconds=1, microseconds=7)),
        EventInput({"email": "bob@example.com"}, "granted", channel="email", topic="newsletter", at=T0),
    ]


def stored_rows(store: Store) -> Iterator[tuple[dict[str, Any], list[str]]]:
    with store.session(write=False) as session:
        links: dict[int, list[str]] = {}
        for link in session.execute(sa.select(ConsentEventIdentityRow.seq, ConsentEventIdentityRow.identity_hash)):
            links.setdefault(link.seq, []).append(link.identity_hash)
        for row in session.execute(sa.select(ConsentEventRow).order_by(ConsentEventRow.seq)).scalars():
            yield {column: getattr(row, column) for column in ConsentEventRow.__table__.columns.keys()}, links[row.seq]


def expected_hash(row: dict[str, Any], identity_hashes: list[str]) -> str:
    names = ["seq", "event", "scope", "source", "source_detail", "notice_hash", "basis", "actor", "identity_kinds"]
    content = {name: row[name] for name in [*names, "prev_hash"]}
    content |= {"at": row["at"].isoformat(), "recorded_at": row["recorded_at"].isoformat()}
    content["identities"] = sorted(identity_hashes)
    return hashlib.sha256(canonical_json(content).encode()).hexdigest()


def check_ledger(store: Store, shop: LoadedMap, key: bytes, events: list[EventInput]) -> None:
    keys = IdentityKeys.from_key(key)
    latest: dict[tuple[str, str], tuple[datetime, int, bool]] = {}
    rows = list(stored_rows(store))
    assert len(rows) == len(events)
    for (row, identity_hashes), given in zip(rows, events, strict=True):
        identities = canonical_identities(shop, given.identities)
        assert unseal_identities(keys, row["seq"], row["identities"]) == identities
        assert sorted(identity_hashes) == keys.hashes(identities)
        assert row["hash"] == expected_hash(row, identity_hashes)
        if given.at is not None:
            assert row["at"] == given.at
        for identity_hash in identity_hashes:
            held = latest.get((identity_hash, row["scope"]))
            if held is None or (row["at"], row["seq"]) > held[:2]:
                latest[(identity_hash, row["scope"])] = (row["at"], row["seq"], row["event"] == "granted")
    with store.session(write=False) as session:
        states = session.execute(sa.select(ConsentStateRow)).scalars().all()
        assert {(s.identity_hash, s.scope): (s.at, s.seq, s.granted) for s in states} == latest
    check = verify_ledger(store)
    assert check.ok, check.problems


def test_a_batch_written_at_once_stores_the_ledgers_formats(any_store: Store, shop: LoadedMap, key: bytes) -> None:
    events = awkward_events()
    # Batches of 3 and a last one of 1: every batch starts from the head the one before left.
    assert record_events(any_store, shop, events, actor="import «bulk»", key=key, batch_size=3) == len(events)
    check_ledger(any_store, shop, key, events)


def test_batches_appended_in_one_transaction_store_the_same(any_store: Store, shop: LoadedMap, key: bytes) -> None:
    events = awkward_events()
    recorded = append_prepared(any_store, key, prepare_all(shop, key, events), "import", batch_size=2)
    assert [event.seq for event in recorded] == list(range(1, len(events) + 1))
    check_ledger(any_store, shop, key, events)
    assert [event.hash for event in recorded] == [row["hash"] for row, _ in stored_rows(any_store)]


def test_sqlite_stores_times_as_the_column_type_writes_them(store: Store, shop: LoadedMap, key: bytes) -> None:
    at = datetime(2024, 3, 15, 11, 30, 5, 120, tzinfo=UTC)
    record_events(
        store, shop, [EventInput({"email": "bob@example.com"}, "granted", "newsletter", at=at)], actor="a", key=key
    )
    with store.session(write=False) as session:
        connection = session.connection()
        (event,) = connection.exec_driver_sql("SELECT at FROM consent_events").scalars()
        (state,) = connection.exec_driver_sql("SELECT at FROM consent_state").scalars()
    # The ledger as SQLAlchemy writes DATETIME; the state in microseconds since 1970 (migration 0010).
    assert event == "2024-03-15 11:30:05.000120"
    assert state == 1_710_502_205_000_120


def test_an_event_that_is_wrong_is_refused_with_the_reason_and_its_batch_is_not_written(
    store: Store, shop: LoadedMap, key: bytes
) -> None:
    cases: list[tuple[dict[str, str | list[str]], str]] = [
        ({"email": "jane@"}, "'jane@' is not an e-mail address"),
        ({"fax": "123"}, "'fax' is not a kind of identity this map knows"),
        ({"email": []}, "no value given for the identity 'email'"),
        ({}, "name the person by at least one identity"),
        ({"email": ["bob@example.com", "jane@"]}, "'jane@' is not an e-mail address"),
    ]
    good = EventInput({"email": "bob@example.com"}, "granted", "newsletter", at=T0)
    for identities, message in cases:
        bad = EventInput(identities, "granted", "newsletter", at=T0)
        with pytest.raises(ConsentError, match=message):
            record_events(store, shop, [good, good, bad], actor="import", key=key, batch_size=2)
    # A generator of values is read as canonical_identities reads it.
    values = (value for value in ["Bob@Example.com"])
    record_events(store, shop, [EventInput({"email": values}, "withdrawn", "newsletter", at=T0)], actor="a", key=key)
    check_ledger(store, shop, key, [good, good] * len(cases) + [EventInput({"email": "bob@example.com"}, "withdrawn")])
