"""The restriction (Art. 18) and objection (Art. 21) ledger: recording, asking, lifting, the
audit entries, identities sealed at rest, and `datavow request restrict|object|lift|status`.

Real state stores: SQLite files, and PostgreSQL where a test takes ``any_store``.
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from datavow.audit import list_entries, verify_chain
from datavow.cli import main
from datavow.datamap import LoadedMap
from datavow.errors import RequestError
from datavow.requests import (
    LedgerKind,
    flag_targets,
    is_restricted,
    lift,
    object_to,
    receive,
    restrict,
    restriction_allows,
    restriction_identities,
    restrictions_of,
)
from datavow.store import Store
from tests import test_requests_lifecycle as lifecycle

shop = lifecycle.shop
store = lifecycle.store
any_store = lifecycle.any_store

JANE = lifecycle.JANE
JANE_BY_PHONE = {"phone": "+32470123456"}
JOHN = {"email": "john@example.com"}


def test_a_restriction_of_every_purpose_stops_all_processing_until_it_is_lifted(
    any_store: Store, shop: LoadedMap
) -> None:
    (entry,) = restrict(any_store, shop, JANE, reason="accuracy contested (Art. 18(1)(a))", actor="dpo")
    assert entry.kind is LedgerKind.restriction and entry.purpose is None and entry.active

    assert is_restricted(any_store, shop, JANE) and is_restricted(any_store, shop, JANE_BY_PHONE)
    assert is_restricted(any_store, shop, {"email": "JANE.DOE@example.com"}, purpose="fraud")
    assert not is_restricted(any_store, shop, JOHN)
    decision = restriction_allows(any_store, shop, JANE_BY_PHONE, "service")
    assert not decision.allowed and "Art. 18(2)" in decision.why and decision.blocking == (entry,)
    assert restriction_allows(any_store, shop, JOHN, "service").allowed

    with pytest.raises(RequestError, match="lifting needs a recorded reason"):
        lift(any_store, entry.id, " ", "dpo")
    lifted = lift(any_store, entry.id, "the e-mail address was checked and is right", "dpo")
    assert (
        not lifted.restriction.active
        and lifted.restriction.lifted_reason == "the e-mail address was checked and is right"
    )
    assert "Art. 18(3)" in lifted.reminder and "before" in lifted.reminder
    assert not is_restricted(any_store, shop, JANE) and restriction_allows(any_store, shop, JANE, "service").allowed
    with pytest.raises(RequestError, match="lifted already"):
        lift(any_store, entry.id, "again", "dpo")

    entries = list_entries(any_store, object_type="restriction", object_id=str(entry.id))
    assert [(e.action, e.actor, e.reason) for e in entries] == [
        ("restriction.recorded", "dpo", "accuracy contested (Art. 18(1)(a))"),
        ("restriction.lifted", "dpo", "the e-mail address was checked and is right"),
    ]
    assert verify_chain(any_store).ok
    assert [e.active for e in restrictions_of(any_store, shop, JANE, active_only=False)] == [False]


def test_a_restriction_of_some_purposes_leaves_the_others_free(store: Store, shop: LoadedMap) -> None:
    entries = restrict(store, shop, JANE, ["service", "fraud", "service"], reason="legal claims", actor="dpo")
    assert [e.purpose for e in entries] == ["service", "fraud"]
    assert not restriction_allows(store, shop, JANE, "service").allowed
    assert not restriction_allows(store, shop, JANE, "fraud").allowed
    assert restriction_allows(store, shop, JANE, "newsletter").allowed
    assert is_restricted(store, shop, JANE) and is_restricted(store, shop, JANE, purpose="service")
    assert not is_restricted(store, shop, JANE, purpose="newsletter")
    with pytest.raises(RequestError, match="unknown purpose 'servce': did you mean 'service'"):
        restrict(store, shop, JANE, ["servce"], reason="x", actor="dpo")
    with pytest.raises(RequestError, match=r"ground \(Art. 18\(1\)\)"):
        restrict(store, shop, JANE, reason="", actor="dpo")


def test_an_objection_to_direct_marketing_is_absolute_and_needs_no_grounds(any_store: Store, shop: LoadedMap) -> None:
    entry = object_to(any_store, shop, JANE, "newsletter", None, "agent:ann")
    assert entry.kind is LedgerKind.objection and entry.absolute and entry.article == "Art. 21(3)"
    assert entry.reason == "objection to direct marketing (Art. 21(2))"
    decision = restriction_allows(any_store, shop, JANE_BY_PHONE, "newsletter")
    assert not decision.allowed and "whatever the grounds (Art. 21(3))" in decision.why
    assert restriction_allows(any_store, shop, JANE, "service").allowed
    assert not is_restricted(any_store, shop, JANE)  # an objection is not a restriction of processing
    lifted = lift(any_store, entry.id, "the person subscribed again", "agent:ann")
    assert "only when the person withdrew it" in lifted.reminder
    assert [e.action for e in list_entries(any_store, object_type="restriction")] == [
        "objection.recorded",
        "objection.lifted",
    ]


def test_other_objections_record_the_persons_grounds_and_only_where_art_21_1_applies(
    store: Store, shop: LoadedMap
) -> None:
    with pytest.raises(RequestError, match=r"grounds for objecting to 'fraud' \(Art. 21\(1\)\)"):
        object_to(store, shop, JANE, "fraud", None, "dpo")
    with pytest.raises(RequestError, match=r"based on contract: Art. 21\(1\) gives a right to object only"):
        object_to(store, shop, JANE, "service", "I don't like it", "dpo")
    entry = object_to(store, shop, JANE, "fraud", "I was flagged by mistake twice", "dpo")
    assert not entry.absolute and entry.reason == "I was flagged by mistake twice" and entry.article == "Art. 21(1)"
    decision = restriction_allows(store, shop, JANE, "fraud")
    assert not decision.allowed and "compelling legitimate grounds" in decision.why
    lifted = lift(store, entry.id, "compelling grounds: chargebacks on this card", "dpo")
    assert "compelling legitimate grounds" in lifted.reminder and restriction_allows(store, shop, JANE, "fraud").allowed


def test_ledger_identities_are_sealed_and_open_for_the_flag_hook(store: Store, shop: LoadedMap) -> None:
    (entry,) = restrict(store, shop, JANE, reason="accuracy contested", actor="dpo")
    with store.engine.connect() as connection:
        rows = [
            *connection.execute(sa.text("SELECT * FROM restrictions")).all(),
            *connection.execute(sa.text("SELECT * FROM restriction_identities")).all(),
            *connection.execute(sa.text("SELECT * FROM audit_entries")).all(),
        ]
    raw = b"".join(v if isinstance(v, bytes) else str(v).encode() for row in rows for v in row).lower()
    assert b"jane.doe@example.com" not in raw and b"470123456" not in raw
    assert restriction_identities(store, shop, entry.id) == {
        "email": ("jane.doe@example.com",),
        "phone": ("+32470123456",),
    }
    assert flag_targets(shop) == [("shop", "customers", "restricted")]


def test_an_entry_can_answer_a_request_of_its_own_kind(store: Store, shop: LoadedMap) -> None:
    request = receive(store, shop, "restriction", JANE, source="data_subject", actor="agent:ann")
    access = receive(store, shop, "access", JANE, source="data_subject", actor="agent:ann")
    (entry,) = restrict(store, shop, JANE, reason="accuracy contested", actor="dpo", request_id=request.id)
    assert entry.request_id == request.id
    with pytest.raises(RequestError, match="is an access request, not a restriction request"):
        restrict(store, shop, JANE, reason="accuracy contested", actor="dpo", request_id=access.id)
    with pytest.raises(RequestError, match="there is no request 999"):
        object_to(store, shop, JANE, "newsletter", None, "dpo", request_id=999)
    assert len(restrictions_of(store, shop, JANE)) == 1


# --------------------------------------------------------------------------- CLI


def test_cli_restricts_objects_answers_with_exit_codes_and_lifts(store: Store, shop: LoadedMap) -> None:
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(main, [*args, "--map", str(shop.path)], env={"DATAVOW_ACTOR": "agent:cli"})
        assert "Traceback" not in result.output, result.output
        return result.exit_code, result.output

    assert run("request", "status", "--email", "jane.doe@example.com")[0] == 0
    code, out = run(
        "request",
        "restrict",
        "--email",
        "jane.doe@example.com",
        "--phone",
        "+32 470 12 34 56",
        "--purpose",
        "service",
        "--reason",
        "accuracy contested",
    )
    assert code == 0 and "recorded restriction #1 of service" in out
    code, out = run("request", "status", "--phone", "+32470123456")
    assert code == 1 and "restricted" in out
    code, out = run("request", "status", "--email", "jane.doe@example.com", "--purpose", "fraud", "--json")
    assert code == 0 and json.loads(out)["allowed"] is True and len(json.loads(out)["active"]) == 1
    code, out = run("request", "status", "--email", "jane.doe@example.com", "--purpose", "service")
    assert code == 1 and "may not process" in out

    code, out = run("request", "object", "--identity", "customer_no=42", "--purpose", "newsletter")
    assert code == 0 and "objection #2 to direct marketing, newsletter" in out
    assert run("request", "status", "--identity", "customer_no=0042", "--purpose", "newsletter")[0] == 1
    code, out = run("request", "object", "--email", "john@example.com", "--purpose", "fraud")
    assert code == 8 and "grounds" in out
    code, out = run("request", "status", "--identity", "customer_no")
    assert code == 2 and "KIND=VALUE" in out

    code, out = run("request", "lift", "1", "--reason", "the address was right")
    assert code == 0 and "Art. 18(3)" in out
    assert run("request", "status", "--email", "jane.doe@example.com", "--purpose", "service")[0] == 0
    assert [e.actor for e in list_entries(store, object_type="restriction")] == ["agent:cli"] * 3
