"""The consent ledger: recording, the two answers and the rules they combine, the cache that sees a
withdrawal at once, and filtering a mailing list.

Real state stores: SQLite files, and PostgreSQL where a test takes ``any_store``. The map is the
shop of the requests tests: ``newsletter`` on consent (``use: marketing.*``), ``fraud`` on
legitimate interests, ``service`` on contract.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from datavow.audit import list_entries, verify_chain
from datavow.consent import (
    ConsentCache,
    ConsentError,
    EventInput,
    consent_allows,
    filter_contactable,
    may_contact,
    rebuild_state,
    record_event,
    record_events,
    verify_ledger,
)
from datavow.datamap import LoadedMap
from datavow.requests import lift, object_to, restrict
from datavow.secrets import load_key, state_directory
from datavow.store import Store
from datavow.store.models import ConsentEventRow, ConsentStateRow
from tests import test_requests_lifecycle as lifecycle

shop = lifecycle.shop
store = lifecycle.store
any_store = lifecycle.any_store

JANE = {"email": ["Jane.Doe@Example.com"], "phone": ["+32 470 12 34 56"]}
BY_MAIL = ("email", "jane.doe@example.com")
BY_PHONE = ("phone", "+32470123456")
JOHN = ("email", "john@example.com")
T0 = datetime(2024, 3, 15, 10, 0, tzinfo=UTC)
NOTICE = "Yes, send me the monthly newsletter. You can unsubscribe at any time."


@pytest.fixture
def key(shop: LoadedMap) -> bytes:
    """The shop's key file (the consent functions check it against the store they are given)."""
    return load_key(state_directory(shop.path))


def test_consent_to_a_purpose_is_needed_granted_and_withdrawn_and_the_withdrawal_counts_at_once(
    any_store: Store, shop: LoadedMap, key: bytes
) -> None:
    answer = consent_allows(any_store, shop, BY_MAIL, "newsletter", key=key)
    assert not answer.allowed and "based on consent and none is recorded" in answer.reasons[0]

    given = record_event(
        any_store, shop, JANE, purpose="newsletter", event="granted", source="form", notice=NOTICE, actor="web", key=key
    )
    assert given.seq == 1 and given.basis == "consent" and given.notice_hash is not None
    assert consent_allows(any_store, shop, BY_MAIL, "newsletter", key=key).allowed
    answer = consent_allows(any_store, shop, BY_PHONE, "newsletter", key=key)  # the same person, by phone
    assert answer.allowed and answer.events == (given.seq,)
    assert not consent_allows(any_store, shop, JOHN, "newsletter", key=key).allowed

    withdrawn = record_event(any_store, shop, {"email": "jane.doe@example.com"}, purpose="newsletter",
                             event="withdrawn", source="api", actor="web", key=key)  # fmt: skip
    answer = consent_allows(any_store, shop, BY_MAIL, "newsletter", key=key)
    assert not answer.allowed and "withdrawn" in answer.reasons[0] and answer.events == (withdrawn.seq,)
    assert withdrawn.prev_hash == given.hash

    # Purposes that do not rest on consent are allowed until the person opts out.
    assert consent_allows(any_store, shop, BY_MAIL, "fraud", key=key).allowed
    entries = list_entries(any_store, object_type="consent")
    assert [(e.action, e.object_id) for e in entries] == [("consent.granted", "1"), ("consent.withdrawn", "2")]
    assert entries[1].details["hash"] == withdrawn.hash
    assert verify_chain(any_store).ok


def test_a_withdrawal_is_seen_at_once_by_a_warm_cache_in_this_process_and_by_another_store_handle(
    any_store: Store, shop: LoadedMap, key: bytes, request: pytest.FixtureRequest
) -> None:
    record_event(any_store, shop, JANE, channel="email", topic="newsletter", event="granted", actor="web", key=key,
                 purpose=None)  # fmt: skip
    record_event(any_store, shop, JANE, purpose="newsletter", event="granted", actor="web", key=key)
    cache = ConsentCache(any_store, shop, key=key)
    request.addfinalizer(cache.close)
    for _ in range(3):
        assert cache.may_contact(BY_MAIL, "email", "newsletter").allowed
    assert cache.hits == 2 and cache.misses == 1

    record_event(any_store, shop, {"email": "jane.doe@example.com"}, channel="email", event="withdrawn",
                 source="form", actor="unsubscribe-link", key=key)  # fmt: skip
    answer = cache.may_contact(BY_MAIL, "email", "newsletter")
    assert not answer.allowed and any("no to channel email" in reason for reason in answer.reasons)
    assert cache.may_contact(BY_PHONE, "phone", "newsletter").allowed  # only e-mail was refused

    # A second handle on the same store (another process, in effect) moves the version too.
    from datavow.store import open_store

    with open_store(any_store.engine.url.render_as_string(hide_password=False)) as other:
        record_event(other, shop, JANE, channel="all", event="withdrawn", actor="agent:ann", source="agent", key=key)
    assert not cache.may_contact(BY_PHONE, "phone", "newsletter").allowed
    # A restriction recorded through the requests ledger is seen at once as well.
    assert cache.consent_allows(BY_MAIL, "fraud").allowed
    restrict(any_store, shop, {"email": "jane.doe@example.com"}, ["fraud"], reason="accuracy contested", actor="dpo")
    answer = cache.consent_allows(BY_MAIL, "fraud")
    assert not answer.allowed and "Art. 18(2)" in answer.reasons[0] and answer.restrictions


def test_a_warm_cache_answers_on_a_new_connection_when_the_server_dropped_its_own(
    postgres_url: str, shop: LoadedMap, key: bytes
) -> None:
    from datavow.store import open_store

    with open_store(postgres_url) as store, ConsentCache(store, shop, key=key) as cache:
        record_event(store, shop, JANE, purpose="newsletter", event="granted", actor="web", key=key)
        assert cache.consent_allows(BY_MAIL, "newsletter").allowed
        with store.engine.connect() as admin:  # as a restart or a failover would
            ended = admin.scalar(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        assert ended
        record_event(store, shop, JANE, purpose="newsletter", event="withdrawn", actor="web", key=key)
        assert not cache.consent_allows(BY_MAIL, "newsletter").allowed


def test_the_latest_preference_on_the_channel_decides_and_no_communication_at_all_covers_every_channel(
    store: Store, shop: LoadedMap, key: bytes
) -> None:
    def at(days: int) -> datetime:
        return T0 + timedelta(days=days)

    assert may_contact(store, shop, BY_MAIL, "email", None, key=key).allowed  # nothing recorded, no topic
    record_event(store, shop, JANE, channel="all", event="withdrawn", actor="agent", source="agent", at=at(1), key=key)
    for channel in ("email", "phone", "sms", "post"):
        answer = may_contact(store, shop, BY_MAIL, channel, None, key=key)
        assert not answer.allowed and "no to every channel" in answer.reasons[-1]
    # A later "yes" to e-mail lifts the ban for e-mail only.
    record_event(store, shop, JANE, channel="email", event="granted", actor="agent", source="agent", at=at(2), key=key)
    assert may_contact(store, shop, BY_MAIL, "email", None, key=key).allowed
    assert not may_contact(store, shop, BY_MAIL, "phone", None, key=key).allowed
    # An older event imported later does not undo a newer one.
    record_event(store, shop, JANE, channel="email", event="withdrawn", actor="import", source="import", at=at(0),
                 key=key)  # fmt: skip
    assert may_contact(store, shop, BY_MAIL, "email", None, key=key).allowed

    # A topic on consent needs the consent; a "yes" to the topic on the channel gives it.
    answer = may_contact(store, shop, BY_MAIL, "email", "newsletter", key=key)
    assert not answer.allowed and "based on consent" in answer.reasons[0]
    record_event(store, shop, JANE, channel="email", topic="newsletter", event="granted", notice=NOTICE, actor="web",
                 source="form", at=at(3), key=key)  # fmt: skip
    assert may_contact(store, shop, BY_MAIL, "email", "newsletter", key=key).allowed
    # Consent to the purpose is not a "yes" to a channel the person said no to.
    record_event(store, shop, JANE, purpose="newsletter", event="granted", actor="web", at=at(4), key=key)
    assert not may_contact(store, shop, BY_MAIL, "phone", "newsletter", key=key).allowed
    # Withdrawing consent to the purpose stops every topic of it on every channel.
    record_event(store, shop, JANE, purpose="newsletter", event="withdrawn", actor="web", at=at(5), key=key)
    answer = may_contact(store, shop, BY_MAIL, "email", "newsletter", key=key)
    assert not answer.allowed and "consent withdrawn for purpose newsletter" in answer.reasons[0]


def test_an_objection_to_direct_marketing_and_a_restriction_stop_contact_whatever_the_consent(
    any_store: Store, shop: LoadedMap, key: bytes
) -> None:
    record_event(any_store, shop, JANE, purpose="newsletter", event="granted", actor="web", key=key)
    assert may_contact(any_store, shop, BY_MAIL, "email", "newsletter", key=key).allowed
    objection = object_to(any_store, shop, {"phone": "+32470123456"}, "newsletter", None, "agent")
    answer = may_contact(any_store, shop, BY_PHONE, "email", "newsletter", key=key)
    assert not answer.allowed and "absolute (Art. 21(3))" in answer.reasons[0]
    assert answer.restrictions == (objection.id,)
    assert may_contact(any_store, shop, BY_PHONE, "email", None, key=key).allowed  # not about marketing
    lift(any_store, objection.id, "the person subscribed again", "agent")
    assert may_contact(any_store, shop, BY_PHONE, "email", "newsletter", key=key).allowed

    (everything,) = restrict(any_store, shop, {"email": "jane.doe@example.com"}, reason="legal claims", actor="dpo")
    assert not may_contact(any_store, shop, BY_MAIL, "email", None, key=key).allowed
    assert not consent_allows(any_store, shop, BY_MAIL, "service", key=key).allowed
    assert filter_contactable(any_store, shop, ["jane.doe@example.com", "john@example.com"], key=key) == [
        "john@example.com"
    ]
    lift(any_store, everything.id, "claims settled", "dpo")
    assert may_contact(any_store, shop, BY_MAIL, "email", None, key=key).allowed


def test_filtering_a_mailing_list_agrees_with_asking_one_by_one(
    any_store: Store, shop: LoadedMap, key: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = [f"person{i}@example.com" for i in range(60)]
    events = []
    for i, address in enumerate(people):
        who = {"email": [address]}
        if i % 5 == 0:
            events.append(EventInput(who, "withdrawn", channel="all", at=T0))
        if i % 5 == 1:
            events.append(EventInput(who, "withdrawn", channel="email", at=T0))
        if i % 3 == 0:
            events.append(EventInput(who, "granted", purpose="newsletter", at=T0 + timedelta(hours=i)))
        if i % 7 == 0:
            events.append(EventInput(who, "granted", channel="email", at=T0 + timedelta(days=1)))
        if i % 11 == 0:
            events.append(EventInput(who, "withdrawn", channel="email", topic="newsletter", at=T0 + timedelta(days=2)))
        if i % 13 in (4, 5):
            # One form, one moment: a grant and a withdrawal in the same gate, so the order recorded (seq) decides.
            said = [
                EventInput(who, "granted", channel="email", topic="newsletter", at=T0 + timedelta(days=3)),
                EventInput(who, "withdrawn", channel="email", at=T0 + timedelta(days=3)),
            ]
            events.extend(said if i % 13 == 4 else said[::-1])  # fmt: skip
    assert record_events(any_store, shop, events, actor="import", key=key, batch_size=17) == len(events)
    restrict(any_store, shop, {"email": people[2]}, reason="accuracy contested", actor="dpo")
    object_to(any_store, shop, {"email": people[3]}, "newsletter", None, "dpo")
    mailing = [p.upper() if i % 2 else p for i, p in enumerate(people)] + ["not an address", "nobody@example.com"]

    from datavow.consent import filtering

    for topic in (None, "newsletter"):
        expected = [a for a in mailing if a != "not an address" and may_contact(
            any_store, shop, ("email", a), "email", topic, key=key).allowed]  # fmt: skip
        assert filter_contactable(any_store, shop, mailing, "email", topic, key=key) == expected
        monkeypatch.setattr(filtering, "LOOKUP_LIMIT", 10)  # the long-list path: read the scopes whole
        assert filter_contactable(any_store, shop, mailing, "email", topic, key=key) == expected
        monkeypatch.setattr(filtering, "LOOKUP_LIMIT", 50_000)
        assert 0 < len(expected) < len(mailing) - 1
    tied = [p for i, p in enumerate(people) if i % 13 in (4, 5)]
    assert filter_contactable(any_store, shop, tied, "email", "newsletter", key=key) == [
        p
        for p in tied
        if people.index(p) % 13 == 5  # the withdrawal came first, the grant last
    ]
    assert "nobody@example.com" not in filter_contactable(any_store, shop, mailing, "email", "newsletter", key=key)
    assert people[1] not in filter_contactable(any_store, shop, mailing, key=key)


def test_the_state_is_derived_from_the_ledger_and_never_overwrites_it(
    store: Store, shop: LoadedMap, key: bytes
) -> None:
    for event in ("granted", "withdrawn", "granted"):
        record_event(store, shop, JANE, purpose="newsletter", event=event, actor="web", key=key)
    with store.session(write=False) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ConsentEventRow)) == 3
        states = session.execute(sa.select(ConsentStateRow.scope, ConsentStateRow.seq, ConsentStateRow.granted)).all()
        blobs = session.scalars(sa.select(ConsentEventRow.identities)).all()
    assert sorted(states) == [("newsletter||", 3, True), ("newsletter||", 3, True)]  # one per identity
    assert all(b"jane" not in blob.lower() for blob in blobs)  # identities are sealed


def test_a_bulk_import_out_of_time_order_keeps_the_latest_state_and_a_chain_that_verifies(
    any_store: Store, shop: LoadedMap, key: bytes
) -> None:
    # Batches of 3: later events arrive first, within a batch and across batches, and one person
    # has two events at the same moment (the higher seq wins), so every branch of the upsert runs.
    people = [f"p{i}@example.com" for i in range(4)]
    days = [5, 1, 3, 2, 5, 4, 1, 6, 6]
    events = [
        EventInput(
            {"email": people[n % 4]},
            "granted" if n % 3 else "withdrawn",
            "newsletter",
            at=T0 + timedelta(days=d, microseconds=999_999 - n),  # kept to the microsecond
        )
        for n, d in enumerate(days)
    ]
    assert record_events(any_store, shop, events, actor="import", key=key, batch_size=3) == len(events)
    check = verify_ledger(any_store)
    assert check.ok and check.events == len(events), check.problems
    kept = sa.select(ConsentStateRow.seq, ConsentStateRow.granted, ConsentStateRow.at)
    with any_store.session(write=False) as session:
        stored = sorted(session.execute(kept).all())
    expected: dict[str, tuple[datetime, int, bool]] = {}
    for seq, item in enumerate(events, 1):
        at = item.at
        assert at is not None
        held = expected.get(people[(seq - 1) % 4])
        if held is None or (at, seq) > held[:2]:
            expected[people[(seq - 1) % 4]] = (at, seq, item.event == "granted")
    assert stored == sorted((seq, granted, at) for at, seq, granted in expected.values())
    assert rebuild_state(any_store) == len(stored)  # the same rows, derived again from the ledger
    with any_store.session(write=False) as session:
        assert sorted(session.execute(kept).all()) == stored
    assert verify_ledger(any_store).ok
    rebuilt = verify_ledger(any_store, rebuild=True)  # one call: derive the state again, then verify
    assert rebuilt.ok and rebuilt.rebuilt == len(stored) and verify_ledger(any_store).rebuilt is None


def test_events_that_are_wrong_are_refused_with_the_reason(store: Store, shop: LoadedMap, key: bytes) -> None:
    cases = [
        (dict(purpose="newsleter", event="granted"), "unknown purpose 'newsleter': did you mean 'newsletter'"),
        (dict(purpose="newsletter", event="given"), "unknown event 'given'"),
        (dict(channel="fax", event="granted"), "unknown channel 'fax'"),
        (dict(event="granted"), "give purpose or channel"),
        (dict(topic="newsletter", event="granted"), "give the channel for topic"),
        (dict(channel="email", topic="weekly", event="granted"), "unknown topic 'weekly'"),
        (dict(channel="email", topic="newsletter", purpose="fraud", event="granted"), "serves purpose 'newsletter'"),
        (dict(purpose="newsletter", event="granted", source="fax"), "unknown source 'fax'"),
        (dict(purpose="newsletter", event="granted", basis="vibes"), "unknown legal basis 'vibes'"),
        (dict(purpose="newsletter", event="granted", at=datetime.now(UTC) + timedelta(days=1)), "in the future"),
        (dict(purpose="newsletter", event="granted", at=datetime(2024, 1, 1)), "timezone-aware"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ConsentError, match=message):
            record_event(store, shop, JANE, actor="web", key=key, **kwargs)  # type: ignore[arg-type]  # wrong on purpose
    with pytest.raises(ConsentError, match="not an e-mail address"):
        record_event(store, shop, {"email": "jane@"}, purpose="newsletter", event="granted", actor="web", key=key)
    with pytest.raises(ConsentError, match="not an e-mail address"):
        may_contact(store, shop, ("email", "jane@"), "email", None, key=key)
    with pytest.raises(ConsentError, match="'fax' is not a kind of identity"):
        consent_allows(store, shop, ("fax", "123"), "newsletter", key=key)
    with store.session(write=False) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ConsentEventRow)) == 0


def test_a_persons_ledger_is_part_of_their_access_export(
    store: Store, shop: LoadedMap, key: bytes, tmp_path: Path
) -> None:
    import json
    import sqlite3
    import zipfile
    from contextlib import closing

    from datavow.connectors.databases import Databases
    from datavow.requests import receive, verify
    from datavow.requests.export import read_export
    from datavow.requests.service import RunOptions, run_request

    with closing(sqlite3.connect(shop.directory / "shop.db")) as db:
        db.execute("INSERT INTO customers VALUES (1, 'jane.doe@example.com', 0)")
        db.commit()
    record_event(
        store, shop, JANE, purpose="newsletter", event="granted", source="form", notice=NOTICE, actor="web", key=key
    )
    record_event(
        store, shop, {"email": [JOHN[1]]}, purpose="newsletter", event="granted", source="form", actor="web", key=key
    )
    request = receive(store, shop, "access", {"email": ["jane.doe@example.com"]}, source="data_subject", actor="t")
    verify(store, request.id, "t", method="test")
    with Databases() as databases:
        done = run_request(store, shop, request.id, RunOptions(key=key), "t", databases=databases)
    assert done.result is not None and done.result["consent_events"] == 1
    opened = read_export(Path(done.result["package"]), key, tmp_path)
    with zipfile.ZipFile(opened) as package:
        events = json.loads(package.read("datavow/consent.json"))
        letter = package.read("letter.html").decode()
    assert [(e["purpose"], e["event"], e["notice"]) for e in events] == [("newsletter", "granted", NOTICE)]
    assert "datavow/consent.json" in letter and "consents and communication preferences" in letter
