"""The library operations the front ends call, one call each: restricting a person and lifting it
(the ledger and the map's restriction flags together), the restriction status, submitting a
request (received, forwarded, or verified and run) and a dry run; the same through ``Datavow``.

Real things: the shop's SQLite databases, and state stores on SQLite and PostgreSQL
(``any_store``) where the operation writes to the store.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy.orm import Session

from datavow.app import Datavow
from datavow.connectors.databases import Databases
from datavow.datamap import LoadedMap
from datavow.errors import RequestError
from datavow.requests import (
    Outcome,
    Status,
    lift_restriction,
    list_requests,
    preview_request,
    restrict_person,
    restriction_status,
    service,
    submit_request,
)
from datavow.requests.service import RunOptions
from datavow.secrets import load_key, state_directory
from datavow.store import Store
from datavow.store.key import check_key
from tests import test_requests_lifecycle as lifecycle

shop = lifecycle.shop
store = lifecycle.store
any_store = lifecycle.any_store

JANE = {"email": "Jane.Doe@Example.com"}


@pytest.fixture
def databases() -> Iterator[Databases]:
    with Databases() as opened:
        yield opened


def _add_customers(shop: LoadedMap) -> None:
    with sqlite3.connect(shop.directory / "shop.db") as db:
        db.executemany(
            "INSERT INTO customers VALUES (?, ?, ?)", [(1, "jane.doe@example.com", 0), (2, "john@example.com", 0)]
        )


def _flags(shop: LoadedMap) -> dict[int, int]:
    with sqlite3.connect(shop.directory / "shop.db") as db:
        return {row[0]: row[1] for row in db.execute("SELECT id, restricted FROM customers")}


def _emails(shop: LoadedMap) -> dict[int, str]:
    with sqlite3.connect(shop.directory / "shop.db") as db:
        return dict(db.execute("SELECT id, email FROM customers").fetchall())


def test_restricting_a_person_records_the_entry_and_sets_the_flag_on_their_rows_only(
    any_store: Store, shop: LoadedMap, databases: Databases
) -> None:
    _add_customers(shop)
    done = restrict_person(any_store, shop, JANE, reason="accuracy contested", actor="dpo", databases=databases)
    assert [entry.purpose for entry in done.entries] == [None] and done.entries[0].active
    assert done.flagged == {"shop.customers": 1}
    assert _flags(shop) == {1: 1, 2: 0}
    assert done.to_dict()["flagged"] == {"shop.customers": 1}
    assert done.to_dict()["entries"][0]["id"] == done.entries[0].id

    status = restriction_status(any_store, shop, JANE)
    assert not status.allowed and "restricted" in status.why and status.active == done.entries
    assert status.to_dict()["active"][0]["id"] == done.entries[0].id
    by_purpose = restriction_status(any_store, shop, JANE, "service")
    assert not by_purpose.allowed and by_purpose.purpose == "service"
    assert restriction_status(any_store, shop, {"email": "john@example.com"}).allowed


def test_lifting_one_of_two_restrictions_keeps_the_flag_and_lifting_the_last_clears_it(
    any_store: Store, shop: LoadedMap, databases: Databases
) -> None:
    _add_customers(shop)
    first = restrict_person(any_store, shop, JANE, reason="accuracy contested", actor="dpo", databases=databases)
    second = restrict_person(any_store, shop, JANE, ["fraud"], reason="legal claims", actor="dpo", databases=databases)
    assert second.flagged == {"shop.customers": 0}  # set already by the first

    kept = lift_restriction(any_store, shop, first.entries[0].id, "the address was checked", "dpo", databases=databases)
    assert kept.still_restricted and kept.cleared == {} and not kept.lifted.restriction.active
    assert "Art. 18(3)" in kept.lifted.reminder
    assert _flags(shop) == {1: 1, 2: 0}

    last = second.entries[0].id
    cleared = lift_restriction(any_store, shop, last, "the claim was settled", "dpo", databases=databases)
    assert not cleared.still_restricted and cleared.cleared == {"shop.customers": 1}
    assert _flags(shop) == {1: 0, 2: 0}
    data = cleared.to_dict()
    assert data["lifted"]["id"] == last and data["still_restricted"] is False and data["reminder"]
    with pytest.raises(RequestError, match="lifted already"):
        lift_restriction(any_store, shop, last, "again", "dpo", databases=databases)


def test_a_request_submitted_without_verification_is_only_received(
    any_store: Store, shop: LoadedMap, databases: Databases
) -> None:
    submitted = submit_request(
        any_store, shop, "erasure", JANE, source="data_subject", actor="agent", databases=databases
    )
    assert submitted.outcome is Outcome.received and submitted.record.status is Status.received
    data = submitted.to_dict()
    assert data["outcome"] == "received" and data["status"] == "received" and data["result"] is None
    assert data["id"] == submitted.record.id and data["due_at"] == submitted.record.due_at.isoformat()


def test_a_request_from_a_data_subject_about_a_tenant_is_forwarded(
    store: Store, shop: LoadedMap, databases: Databases
) -> None:
    submitted = submit_request(
        store,
        shop,
        "access",
        {"email": "ann@uliege.be"},
        source="data_subject",
        tenant="1",
        actor="agent",
        databases=databases,
        verified_by="passport",  # forwarded all the same: not ours to verify or answer
        options=RunOptions(key=load_key(state_directory(shop.path))),
    )
    assert submitted.outcome is Outcome.forwarded and submitted.record.status is Status.forwarded
    assert submitted.to_dict()["forwarded_to"] == "Université de Liège"


def test_a_request_verified_on_receipt_runs_at_once(any_store: Store, shop: LoadedMap, databases: Databases) -> None:
    _add_customers(shop)
    with pytest.raises(RequestError, match="runs at once"):
        submit_request(
            any_store, shop, "erasure", JANE, source="agent", actor="agent", verified_by="passport", databases=databases
        )
    assert list_requests(any_store) == []  # refused before anything was recorded

    options = RunOptions(key=load_key(state_directory(shop.path)))
    submitted = submit_request(
        any_store,
        shop,
        "erasure",
        JANE,
        source="agent",
        actor="agent",
        verified_by="passport",
        options=options,
        databases=databases,
    )
    assert submitted.outcome is Outcome.run and submitted.record.status is Status.completed
    assert submitted.record.verified_at is not None
    assert submitted.to_dict()["result"] == submitted.record.result
    emails = _emails(shop)
    assert emails[1] != "jane.doe@example.com" and emails[2] == "john@example.com"


def _count_write_transactions(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Each write session the store opens from now on appends to the list returned."""
    writes: list[bool] = []
    opened = store.session

    @contextmanager
    def counted(*, write: bool = True) -> Iterator[Session]:
        if write:
            writes.append(True)
        with opened(write=write) as session:
            yield session

    monkeypatch.setattr(store, "session", counted)
    return writes


def test_a_request_verified_on_receipt_is_recorded_in_two_write_transactions(
    any_store: Store, shop: LoadedMap, databases: Databases, monkeypatch: pytest.MonkeyPatch
) -> None:
    _add_customers(shop)
    options = RunOptions(key=load_key(state_directory(shop.path)))
    check_key(any_store, options.key)  # the store knows its key already, as once a key is created
    writes = _count_write_transactions(any_store, monkeypatch)
    submitted = submit_request(
        any_store,
        shop,
        "erasure",
        JANE,
        source="agent",
        actor="agent",
        verified_by="passport",
        options=options,
        databases=databases,
    )
    # received, verified, started and discovered together; what the system's transaction changed,
    # kept before it commits (so a resumed run counts it); then completed
    assert len(writes) == 3
    assert submitted.outcome is Outcome.run and submitted.record.status is Status.completed
    assert lifecycle.actions(any_store, submitted.record.id) == [
        "request.received",
        "request.verified",
        "request.started",
        "request.discovered",
        "request.completed",
    ]
    assert _emails(shop)[1] != "jane.doe@example.com"


@pytest.mark.parametrize(
    ("error", "entries"),
    [
        (
            RequestError("a system is unreachable"),
            ["request.received", "request.verified", "request.started", "request.interrupted"],
        ),
        (RuntimeError("a bug"), ["request.received", "request.verified"]),
    ],
)
def test_a_request_verified_on_receipt_whose_discovery_fails_is_recorded_all_the_same(
    store: Store,
    shop: LoadedMap,
    databases: Databases,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    entries: list[str],
) -> None:
    _add_customers(shop)
    options = RunOptions(key=load_key(state_directory(shop.path)))

    def failing(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(service, "find_person", failing)
    with pytest.raises(type(error), match=str(error)):
        submit_request(
            store,
            shop,
            "erasure",
            JANE,
            source="agent",
            actor="agent",
            verified_by="passport",
            options=options,
            databases=databases,
        )
    (record,) = list_requests(store)
    assert record.verified_at is not None and record.received_at is not None
    assert lifecycle.actions(store, record.id) == entries
    assert _emails(shop)[1] == "jane.doe@example.com"


def test_a_dry_run_shows_the_rows_and_records_nothing(shop: LoadedMap, databases: Databases) -> None:
    _add_customers(shop)
    preview = preview_request(shop, JANE, databases=databases)
    (step,) = [row for row in preview.steps() if row["table"] == "shop.customers"]
    assert step["rows"] == 1 and preview.refusal is None
    assert not (shop.directory / ".datavow" / "state.db").exists()
    assert _emails(shop)[1] == "jane.doe@example.com"


def test_the_application_object_submits_restricts_answers_and_lifts_in_one_call_each(shop: LoadedMap) -> None:
    _add_customers(shop)
    with Datavow.open(shop.path, create=True) as app:
        received = app.submit_request("access", JANE, source="data_subject", actor="agent")
        assert received.outcome is Outcome.received and received.record.kind.value == "access"
        done = app.submit_request(
            "erasure", {"email": "john@example.com"}, source="agent", actor="agent", verified_by="id card"
        )
        assert done.outcome is Outcome.run and done.record.status is Status.completed
        assert _emails(shop)[2] != "john@example.com"

        restricted = app.restrict_person(JANE, reason="accuracy contested", actor="dpo")
        assert _flags(shop)[1] == 1
        status = app.restriction_status(JANE)
        assert not status.allowed and [entry.id for entry in status.active] == [restricted.entries[0].id]
        lifted = app.lift_restriction(restricted.entries[0].id, "checked", "dpo")
        assert lifted.cleared == {"shop.customers": 1} and _flags(shop)[1] == 0
        assert app.restriction_status(JANE).allowed and not app.restriction_status(JANE).active

        preview = app.preview_request({"email": ["jane.doe@example.com"]})
        assert [row["rows"] for row in preview.steps() if row["table"] == "shop.customers"] == [1]
