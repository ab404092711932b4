"""The consent ledger's edges: CSV import (all rows or none, malformed rows by line number), export
that imports again, a person's ledger for the access export, proof with the notice each event
saw, verification of the chain and the derived state, and Global Privacy Control.

Real SQLite state stores, and PostgreSQL where a test takes ``any_store``.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from datavow.consent import (
    ConsentError,
    consent_allows,
    consent_key,
    export_events,
    gpc_purposes,
    import_csv,
    ledger_for_export,
    may_contact,
    prove,
    rebuild_state,
    record_event,
    record_gpc,
    verify_ledger,
)
from datavow.datamap import LoadedMap, load_map
from datavow.secrets import KEY_ENV, create_key, load_key, state_directory
from datavow.store import Store, open_store
from datavow.store.models import ConsentEventRow, ConsentStateRow
from tests import test_requests_lifecycle as lifecycle

shop = lifecycle.shop
store = lifecycle.store
any_store = lifecycle.any_store

NOTICE_V1 = "Newsletter, monthly. Unsubscribe at any time (v1)."
NOTICE_V2 = "Newsletter, weekly now. Unsubscribe at any time (v2)."

SITE_MAP = """\
organization:
  name: Site bv
  country: BE
  roles: [controller]
  contact: {email: privacy@site.example}
  supervisory_authority: {name: Data Protection Authority (BE), url: https://www.dataprotectionauthority.be}
purposes:
  ads: {name: Targeted advertising, basis: consent, use: marketing.advertising.third_party.targeted}
  partners: {name: Sharing with partners, basis: legitimate_interest, interest: Partners, use: third_party_sharing}
  tax: {name: Reporting to the tax office, basis: legal_obligation, law: Tax law,
        use: third_party_sharing.legal_obligation}
  mail: {name: Newsletter, basis: consent, use: marketing.communications.email}
  service: {name: The service, basis: contract, use: essential.service}
communication:
  topics:
    weekly: {name: The weekly newsletter, purpose: mail}
"""


@pytest.fixture
def key(shop: LoadedMap) -> bytes:
    """The shop's key file (the consent functions check it against the store they are given)."""
    return load_key(state_directory(shop.path))


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LoadedMap:
    monkeypatch.delenv(KEY_ENV, raising=False)
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "datavow.yaml").write_text(SITE_MAP)
    create_key(tmp_path / "site" / ".datavow")
    return load_map(tmp_path / "site" / "datavow.yaml")


@pytest.fixture
def site_store(site: LoadedMap) -> Iterator[Store]:
    with open_store(f"sqlite:///{site.directory / '.datavow' / 'state.db'}") as opened:
        yield opened


def _count(store: Store) -> int:
    with store.session(write=False) as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(ConsentEventRow)) or 0)


def test_a_preference_list_imports_and_a_malformed_row_is_reported_by_line_and_nothing_is_written(
    any_store: Store, shop: LoadedMap, key: bytes, tmp_path: Path
) -> None:
    bad = tmp_path / "prefs.csv"
    bad.write_text(
        "email,phone,channel,allowed,at,source\n"
        "ann@example.com,,email,false,2023-05-01T10:00:00,unsubscribe link\n"
        "bob@,,email,false,2023-05-01,web form\n"
        ",,email,true,,web form\n"
        "cid@example.com,,fax,true,,phone call\n"
        "dan@example.com,,email,maybe,,phone call\n"
        "eve@example.com,,all,false,yesterday,phone call\n"
    )
    with pytest.raises(ConsentError) as raised:
        import_csv(any_store, shop, bad, actor="import", key=key)
    message = str(raised.value)
    assert "5 malformed row(s), nothing imported" in message
    for line, why in ((3, "not an e-mail address"), (4, "no identity"), (5, "unknown channel 'fax'"),
                      (6, "allowed is 'maybe'"), (7, "at is 'yesterday'")):  # fmt: skip
        assert f"line {line}: " in message and why in message.split(f"line {line}: ")[1].splitlines()[0]
    assert "line 2:" not in message
    assert _count(any_store) == 0

    good = tmp_path / "good.csv"
    good.write_text(
        "email,phone,channel,topic,allowed,at,source\n"
        'ann@example.com,,email,,false,2023-05-01T10:00:00,"unsubscribe link, footer"\n'
        "bob@example.com;Bob@Work.example,+46 70 123 45 67,all,,false,2023-06-01T10:00:00+02:00,phone call\n"
        "cid@example.com,,email,newsletter,true,2023-07-01T10:00:00Z,web form\n"
    )
    result = import_csv(any_store, shop, good, actor="agent:ann", key=key)
    assert (result.events, result.first_seq, result.last_seq) == (3, 1, 3)
    assert not may_contact(any_store, shop, ("email", "ann@example.com"), "email", None, key=key).allowed
    assert not may_contact(any_store, shop, ("email", "bob@work.example"), "post", None, key=key).allowed
    assert not may_contact(any_store, shop, ("phone", "+46701234567"), "sms", None, key=key).allowed
    assert may_contact(any_store, shop, ("email", "cid@example.com"), "email", "newsletter", key=key).allowed
    (ann,) = ledger_for_export(any_store, shop, {"email": ["ANN@example.com"]}, key)
    assert ann["source"] == "import" and ann["source_detail"] == "unsubscribe link, footer (good.csv, line 2)"
    assert ann["at"] == "2023-05-01T10:00:00+00:00" and ann["identities"] == {"email": ["ann@example.com"]}

    with pytest.raises(ConsentError, match="line 1: unknown column"):
        bad.write_text("mail,allowed,channel\nann@example.com,false,email\n")
        import_csv(any_store, shop, bad, actor="import", key=key)
    assert _count(any_store) == 3


def test_the_ledger_exports_and_imports_again_into_another_store_with_the_same_answers(
    store: Store, shop: LoadedMap, key: bytes, tmp_path: Path
) -> None:
    record_event(store, shop, {"email": "jane@example.com", "phone": "+32 470 12 34 56"}, purpose="newsletter",
                 event="granted", notice=NOTICE_V1, source="form", actor="web", key=key)  # fmt: skip
    record_event(store, shop, {"email": "jane@example.com"}, channel="email", event="withdrawn", actor="web", key=key)
    out = io.StringIO()
    assert export_events(store, shop, out, key=key) == 2
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("customer_no,email,phone,event,purpose,channel,topic,at,source,notice,basis,seq")
    assert "jane@example.com,+32470123456,granted,newsletter" in lines[1] and NOTICE_V1 in lines[1]
    (tmp_path / "ledger.csv").write_text(out.getvalue())

    with open_store(f"sqlite:///{tmp_path / 'other.db'}") as other:
        assert import_csv(other, shop, tmp_path / "ledger.csv", actor="migration", key=key).events == 2
        for ask in (("email", "jane@example.com"), ("phone", "+32470123456")):
            for channel in ("email", "phone"):
                assert (
                    may_contact(other, shop, ask, channel, "newsletter", key=key).allowed
                    == may_contact(store, shop, ask, channel, "newsletter", key=key).allowed
                )
        assert verify_ledger(other).ok
    as_json = io.StringIO()
    export_events(store, shop, as_json, key=key, as_json=True)
    assert '"notice": "Newsletter, monthly.' in as_json.getvalue()


def test_proof_shows_each_event_with_the_notice_it_saw_and_the_chain_verdict(
    any_store: Store, shop: LoadedMap, key: bytes
) -> None:
    jane = {"email": "jane@example.com"}
    at = [datetime(2024, month, 1, tzinfo=UTC) for month in (1, 2, 3)]
    record_event(any_store, shop, jane, purpose="newsletter", event="granted", notice=NOTICE_V1, source="form",
                 actor="web", at=at[0], key=key)  # fmt: skip
    record_event(any_store, shop, jane, purpose="newsletter", event="granted", notice=NOTICE_V2, source="form",
                 actor="web", at=at[1], key=key)  # fmt: skip
    record_event(any_store, shop, jane, purpose="fraud", event="withdrawn", actor="web", key=key)  # another purpose
    record_event(any_store, shop, {"email": "john@example.com"}, purpose="newsletter", event="granted", actor="web",
                 key=key)  # fmt: skip
    proof = prove(any_store, shop, ("email", "jane@example.com"), "newsletter", key=key, channel="email")
    assert proof.answer.allowed and proof.contact is not None and proof.contact.allowed
    assert [(e["seq"], e["notice"]) for e in proof.events] == [(1, NOTICE_V1), (2, NOTICE_V2)]
    assert proof.events[1]["prev_hash"] == proof.events[0]["hash"] and proof.chain.ok
    assert proof.answer.events == (2,)

    record_event(any_store, shop, jane, purpose="newsletter", event="withdrawn", source="api", actor="web", key=key)
    proof = prove(any_store, shop, ("email", "jane@example.com"), "newsletter", key=key)
    assert not proof.answer.allowed and [e["event"] for e in proof.events] == ["granted", "granted", "withdrawn"]
    assert proof.events[-1]["notice"] is None and proof.to_dict()["chain"]["ok"]


def test_verify_finds_a_changed_event_and_a_state_that_disagrees_and_rebuild_derives_it_again(
    any_store: Store, shop: LoadedMap, key: bytes
) -> None:
    for event in ("granted", "withdrawn"):
        record_event(any_store, shop, {"email": "jane@example.com"}, purpose="newsletter", event=event, actor="w",
                     key=key)  # fmt: skip
    assert verify_ledger(any_store).ok
    with any_store.session() as session:
        session.execute(sa.update(ConsentStateRow).values(granted=True, seq=1))
    check = verify_ledger(any_store)
    assert not check.ok and "consent_state disagrees with the ledger" in check.message
    assert consent_allows(any_store, shop, ("email", "jane@example.com"), "newsletter", key=key).allowed  # the tamper
    assert rebuild_state(any_store) == 1 and verify_ledger(any_store).ok
    assert not consent_allows(any_store, shop, ("email", "jane@example.com"), "newsletter", key=key).allowed

    with any_store.session() as session:  # a state's time moved by one microsecond
        (at,) = session.execute(sa.select(ConsentStateRow.at)).one()
        session.execute(sa.update(ConsentStateRow).values(at=at + timedelta(microseconds=1)))
    assert "consent_state disagrees with the ledger" in verify_ledger(any_store).message
    assert rebuild_state(any_store) == 1 and verify_ledger(any_store).ok

    with any_store.session() as session:
        session.execute(sa.update(ConsentEventRow).where(ConsentEventRow.seq == 1).values(event="withdrawn"))
    check = verify_ledger(any_store)
    assert not check.ok and check.message == "event #1: its content does not match its hash (changed)"


def test_gpc_opts_out_of_advertising_and_sharing_purposes_by_their_use_and_nothing_else(
    site_store: Store, site: LoadedMap
) -> None:
    key = consent_key(site_store, site)
    assert gpc_purposes(site) == ["ads", "partners"]
    jane = ("email", "jane@example.com")
    for purpose in ("ads", "mail"):
        record_event(site_store, site, {"email": jane[1]}, purpose=purpose, event="granted", actor="web", key=key)
    assert consent_allows(site_store, site, jane, "ads", key=key).allowed
    assert consent_allows(site_store, site, jane, "partners", key=key).allowed

    events = record_gpc(site_store, site, {"email": jane[1]}, actor="web:gpc", key=key)
    assert [(e.scope.purpose, e.event, e.source, e.source_detail) for e in events] == [
        ("ads", "withdrawn", "gpc", "Sec-GPC: 1"),
        ("partners", "withdrawn", "gpc", "Sec-GPC: 1"),
    ]
    answer = consent_allows(site_store, site, jane, "partners", key=key)
    assert not answer.allowed and "opted out" in answer.reasons[0]
    assert not consent_allows(site_store, site, jane, "ads", key=key).allowed
    for untouched in ("tax", "mail", "service"):
        assert consent_allows(site_store, site, jane, untouched, key=key).allowed
    assert may_contact(site_store, site, jane, "email", "weekly", key=key).allowed


def test_a_topic_declared_in_the_map_must_name_a_declared_purpose(tmp_path: Path) -> None:
    from datavow.errors import MapError

    (tmp_path / "datavow.yaml").write_text(SITE_MAP.replace("purpose: mail}", "purpose: mial}"))
    with pytest.raises(MapError, match="unknown purpose 'mial'.*did you mean 'mail'"):
        load_map(tmp_path / "datavow.yaml")
