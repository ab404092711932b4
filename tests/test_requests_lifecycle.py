"""The request lifecycle: transitions and the audit entry of each, the Art. 12(3) clocks,
identities sealed at rest, processor-mode forwarding, and the `datavow requests` commands.

Real state stores: a SQLite file under tmp_path, and PostgreSQL from the suite's own server where
a test takes ``any_store``. The tenant table the forwarding tests read is a real SQLite database.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from datavow.audit import list_entries, verify_chain
from datavow.cli import main
from datavow.datamap import LoadedMap, load_map
from datavow.errors import PlanError, RequestError
from datavow.requests import (
    Status,
    complete,
    denial_letter,
    deny,
    due_date,
    execute,
    extend,
    find_requests,
    get,
    list_requests,
    receive,
    request_identities,
    start,
    verify,
)
from datavow.secrets import KEY_ENV, create_key, state_directory
from datavow.store import Store, open_store

SHOP_MAP = """\
organization:
  name: Shop bv
  country: BE
  roles: {roles}
  contact: {{email: privacy@shop.example}}
  supervisory_authority: {{name: Data Protection Authority (BE), url: https://www.dataprotectionauthority.be}}
identities:
  customer_no: {{format: integer}}
subjects:
  customer: Customers
  platform_user: Users of the platform
purposes:
  service: {{name: Selling and delivering, basis: contract, subjects: [customer],
            categories: [user.contact.email], retention: 2 years}}
  newsletter: {{name: Newsletter, basis: consent, use: marketing.communications.email, subjects: [customer],
               categories: [user.contact.email], retention: 2 years}}
  fraud: {{name: Fraud prevention, basis: legitimate_interest, interest: Stopping card fraud,
          subjects: [customer], categories: [user.contact.email], retention: 1 year}}
  hosting: {{name: Hosting the platform for our clients, basis: contract, role: processor,
            subjects: [platform_user], categories: [user.contact.email]}}
systems:
  shop:
    url: sqlite:///shop.db
    tables:
      customers:
        subject: customer
        identity: {{email: email, customer_no: id}}
        purposes: [service, newsletter, fraud]
        restriction_flag: restricted
        erase: anonymize
        fields:
          id: ~
          email: {{category: user.contact.email, erase: hash}}
          restricted: ~
  platform:
    url: sqlite:///platform.db
    tenant: {{table: clients, key: id, name: name}}
    tables:
      clients:
        purposes: [hosting]
        fields: {{id: ~, name: ~}}
      users:
        subject: platform_user
        identity: {{email: email}}
        tenant_column: client_id
        purposes: [hosting]
        references: {{client_id: clients.id}}
        erase: delete
        fields:
          id: ~
          client_id: ~
          email: user.contact.email
"""

JANE = {"email": "Jane.Doe@Example.com", "phone": "+32 470 12 34 56"}
T0 = datetime(2024, 3, 15, 10, 0, tzinfo=UTC)


def write_shop(folder: Path, roles: str = "[controller, processor]") -> LoadedMap:
    """The shop's map, its (empty) shop database and the platform's tenant table."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "datavow.yaml").write_text(SHOP_MAP.format(roles=roles))
    with sqlite3.connect(folder / "shop.db") as db:
        db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, restricted BOOLEAN)")
    with sqlite3.connect(folder / "platform.db") as db:
        db.execute("CREATE TABLE clients (id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, client_id INTEGER, email TEXT)")
        db.executemany("INSERT INTO clients VALUES (?, ?)", [(1, "Université de Liège"), (2, "KU Leuven")])
    return load_map(folder / "datavow.yaml")


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LoadedMap:
    """The shop's map, with its secret key in .datavow/ beside it (made as ``datavow key create`` makes it)."""
    monkeypatch.delenv(KEY_ENV, raising=False)
    loaded = write_shop(tmp_path / "shop")
    create_key(state_directory(loaded.path))
    return loaded


@pytest.fixture
def store(shop: LoadedMap) -> Iterator[Store]:
    """A SQLite state store where datavow puts it by default: .datavow/state.db beside the map."""
    with open_store(f"sqlite:///{shop.directory / '.datavow' / 'state.db'}") as opened:
        yield opened


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request: pytest.FixtureRequest, shop: LoadedMap) -> Iterator[Store]:
    """The state store on each backend datavow supports."""
    if request.param == "sqlite":
        url = f"sqlite:///{shop.directory / '.datavow' / 'state.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    with open_store(url) as opened:
        yield opened


def actions(store: Store, request_id: int) -> list[str]:
    return [entry.action for entry in list_entries(store, object_type="request", object_id=str(request_id))]


# --------------------------------------------------------------------------- transitions


def test_a_request_goes_from_received_to_completed_and_each_step_is_audited(any_store: Store, shop: LoadedMap) -> None:
    record = receive(any_store, shop, "erasure", JANE, source="data_subject", actor="agent:ann")
    assert record.status is Status.received and record.identity_kinds == ("email", "phone")
    assert verify(any_store, record.id, "agent:ann", method="id card at the desk").status is Status.verified
    assert start(any_store, record.id, "system").status is Status.in_progress
    done = complete(any_store, record.id, {"tables": 3, "rows": 12}, "system")

    assert done.status is Status.completed and done.result == {"tables": 3, "rows": 12}
    assert done.verified_at and done.started_at and done.completed_at
    assert get(any_store, record.id) == done
    entries = list_entries(any_store, object_type="request", object_id=str(record.id))
    assert [e.action for e in entries] == [
        "request.received",
        "request.verified",
        "request.started",
        "request.completed",
    ]
    assert [e.actor for e in entries] == ["agent:ann", "agent:ann", "system", "system"]
    assert entries[0].reason == "Art. 17" and entries[0].details["kind"] == "erasure"
    assert entries[1].details == {"method": "id card at the desk"}
    assert entries[3].details == {"result": {"tables": 3, "rows": 12}}
    assert verify_chain(any_store).ok


def test_a_request_verified_as_it_arrives_is_received_and_verified_in_one_transaction(
    any_store: Store, shop: LoadedMap
) -> None:
    record = receive(any_store, shop, "erasure", JANE, source="agent", actor="agent:ann", verified_by="signed letter")
    assert record.status is Status.verified and record.verified_at is not None
    assert get(any_store, record.id) == record
    entries = list_entries(any_store, object_type="request", object_id=str(record.id))
    assert [e.action for e in entries] == ["request.received", "request.verified"]
    assert entries[1].details == {"method": "signed letter"}
    assert verify_chain(any_store).ok
    # A request that is not ours to answer is forwarded, not verified.
    forwarded = receive(
        any_store,
        shop,
        "erasure",
        {"email": "student@uliege.be"},
        source="data_subject",
        tenant="1",
        actor="a",
        verified_by="signed letter",
    )
    assert forwarded.status is Status.forwarded and forwarded.verified_at is None
    assert actions(any_store, forwarded.id) == ["request.received", "request.forwarded"]


def test_an_illegal_transition_says_what_is_allowed_and_changes_nothing(store: Store, shop: LoadedMap) -> None:
    record = receive(store, shop, "access", {"email": "jane@example.com"}, source="agent", actor="agent:ann")
    with pytest.raises(RequestError, match=r"received, so it cannot be started: allowed now: deny, forward, verify"):
        start(store, record.id, "agent:ann")
    with pytest.raises(RequestError, match="cannot be completed"):
        complete(store, record.id, {}, "agent:ann")
    deny(store, record.id, "manifestly unfounded: the fifth identical request this month", "dpo@shop.example")
    with pytest.raises(RequestError, match="cannot be verified: a denied request is final"):
        verify(store, record.id, "agent:ann")
    with pytest.raises(RequestError, match="there is no request 999"):
        verify(store, 999, "agent:ann")
    assert get(store, record.id).status is Status.denied
    assert actions(store, record.id) == ["request.received", "request.denied"]


def test_a_refusal_keeps_its_reason_and_its_letter_names_the_right_to_complain(store: Store, shop: LoadedMap) -> None:
    record = receive(store, shop, "erasure", {"email": "jane@example.com"}, source="data_subject", actor="a")
    with pytest.raises(RequestError, match=r"reason \(Art. 12\(4\)\)"):
        deny(store, record.id, "  ", "dpo")
    denied = deny(store, record.id, "the invoices must be kept for 7 years", "dpo")
    letter = denial_letter(shop, denied)
    assert denied.denied_reason == "the invoices must be kept for 7 years"
    assert "the invoices must be kept for 7 years" in letter and f"request {record.id}" in letter
    assert "lodge a complaint with the supervisory authority, Data Protection Authority (BE)" in letter
    assert "https://www.dataprotectionauthority.be" in letter and "Art. 77" in letter and "Art. 79" in letter
    entry = list_entries(store, action="request.denied")[0]
    assert entry.reason == "the invoices must be kept for 7 years" and entry.actor == "dpo"


def test_unknown_kinds_sources_and_bad_identities_are_refused_before_anything_is_written(
    store: Store, shop: LoadedMap
) -> None:
    cases = [
        ("deletion", {"email": "jane@example.com"}, "data_subject", "unknown request kind 'deletion'"),
        ("access", {"email": "jane@example.com"}, "neighbour", "unknown source 'neighbour'"),
        ("access", {"email": "not-an-address"}, "data_subject", "is not an e-mail address"),
        ("access", {"phone": "call me"}, "data_subject", "is not a phone number"),
        ("access", {"customer_no": "12a"}, "data_subject", "is not a whole number"),
        ("access", {"passport": "X1"}, "data_subject", "'passport' is not a kind of identity this map knows"),
        ("access", {}, "data_subject", "at least one identity"),
    ]
    for kind, identities, source, message in cases:
        with pytest.raises(RequestError, match=message):
            receive(store, shop, kind, identities, source=source, actor="a")
    assert list_requests(store) == [] and list_entries(store) == []


def test_execute_runs_a_verified_request_and_resumes_one_that_failed(store: Store, shop: LoadedMap) -> None:
    record = receive(store, shop, "erasure", JANE, source="data_subject", actor="agent:ann")
    calls: list[tuple[Status, dict[str, tuple[str, ...]]]] = []

    def failing(current: Any, identities: dict[str, tuple[str, ...]]) -> dict[str, int]:
        calls.append((current.status, identities))
        raise PlanError("the crm database went away")

    def working(current: Any, identities: dict[str, tuple[str, ...]]) -> dict[str, int]:
        calls.append((current.status, identities))
        return {"rows": 3}

    with pytest.raises(RequestError, match="cannot be started: allowed now"):
        execute(store, shop, record.id, working, "system")
    assert calls == []
    verify(store, record.id, "agent:ann")
    with pytest.raises(PlanError):
        execute(store, shop, record.id, failing, "system")
    assert get(store, record.id).status is Status.in_progress
    done = execute(store, shop, record.id, working, "system")
    assert done.status is Status.completed and done.result == {"rows": 3}
    assert calls == [(Status.in_progress, {"email": ("jane.doe@example.com",), "phone": ("+32470123456",)})] * 2
    assert actions(store, record.id) == [
        "request.received",
        "request.verified",
        "request.started",
        "request.interrupted",
        "request.resumed",
        "request.completed",
    ]
    assert list_entries(store, action="request.interrupted")[0].details == {"error": "PlanError"}


# --------------------------------------------------------------------------- identities at rest


def test_identities_are_sealed_at_rest_and_found_by_keyed_hash(store: Store, shop: LoadedMap) -> None:
    record = receive(store, shop, "access", JANE, source="data_subject", actor="a")
    other = receive(store, shop, "access", {"email": "john@example.com"}, source="data_subject", actor="a")

    with store.engine.connect() as connection:
        rows = [
            *connection.execute(sa.text("SELECT * FROM requests")).all(),
            *connection.execute(sa.text("SELECT * FROM request_identities")).all(),
            *connection.execute(sa.text("SELECT * FROM audit_entries")).all(),
        ]
    raw = b"".join(v if isinstance(v, bytes) else str(v).encode() for row in rows for v in row)
    for secret in (b"jane.doe@example.com", b"Jane.Doe", b"470123456", b"john@example.com"):
        assert secret not in raw.lower()
    store.close()  # checkpoints the WAL, so the file holds everything written
    state_file = (shop.directory / ".datavow" / "state.db").read_bytes()
    assert b"jane.doe@example.com" not in state_file.lower() and b"example.com" not in state_file

    assert request_identities(store, shop, record.id) == {
        "email": ("jane.doe@example.com",),
        "phone": ("+32470123456",),
    }
    assert [r.id for r in find_requests(store, shop, {"email": " JANE.DOE@example.com "})] == [record.id]
    assert [r.id for r in find_requests(store, shop, {"phone": "+32-470-123456"})] == [record.id]
    assert [r.id for r in find_requests(store, shop, {"email": "john@example.com"})] == [other.id]


def test_sealed_identities_are_bound_to_their_request(store: Store, shop: LoadedMap) -> None:
    first = receive(store, shop, "access", {"email": "jane@example.com"}, source="agent", actor="a")
    second = receive(store, shop, "access", {"email": "john@example.com"}, source="agent", actor="a")
    with store.engine.begin() as connection:  # someone with write access swaps the blobs
        blob = connection.execute(sa.text("SELECT identities FROM requests WHERE id = :i"), {"i": first.id}).scalar()
        connection.execute(sa.text("UPDATE requests SET identities = :b WHERE id = :i"), {"b": blob, "i": second.id})
    with pytest.raises(Exception, match="does not open with this key"):
        request_identities(store, shop, second.id)


# --------------------------------------------------------------------------- clocks


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (datetime(2024, 3, 15, 10, 0, tzinfo=UTC), datetime(2024, 4, 15, tzinfo=UTC)),
        (datetime(2024, 1, 31, 23, 0, tzinfo=UTC), datetime(2024, 2, 29, tzinfo=UTC)),  # leap year
        (datetime(2023, 1, 31, 8, 0, tzinfo=UTC), datetime(2023, 2, 28, tzinfo=UTC)),
        (datetime(2024, 3, 31, 8, 0, tzinfo=UTC), datetime(2024, 4, 30, tzinfo=UTC)),
        (datetime(2024, 12, 31, 8, 0, tzinfo=UTC), datetime(2025, 1, 31, tzinfo=UTC)),
        (datetime(2024, 2, 29, 8, 0, tzinfo=UTC), datetime(2024, 3, 29, tzinfo=UTC)),
    ],
)
def test_a_request_is_due_at_the_end_of_the_same_day_next_month(received: datetime, due: datetime) -> None:
    assert due_date(received) == due + timedelta(days=1) - timedelta(microseconds=1)


def test_the_deadline_is_set_on_receipt_in_utc(store: Store, shop: LoadedMap) -> None:
    brussels_evening = datetime.fromisoformat("2024-01-31T23:30:00+01:00")  # 22:30 UTC
    record = receive(
        store, shop, "access", {"email": "j@example.com"}, source="agent", actor="a", received_at=brussels_evening
    )
    assert record.received_at == datetime(2024, 1, 31, 22, 30, tzinfo=UTC)
    assert record.due_at.date().isoformat() == "2024-02-29" and get(store, record.id).due_at == record.due_at
    with pytest.raises(RequestError, match="in the future"):
        receive(
            store,
            shop,
            "access",
            {"email": "j@example.com"},
            source="agent",
            actor="a",
            received_at=datetime.now(UTC) + timedelta(days=1),
        )
    with pytest.raises(RequestError, match="timezone-aware"):
        receive(
            store,
            shop,
            "access",
            {"email": "j@example.com"},
            source="agent",
            actor="a",
            received_at=datetime(2024, 1, 31),
        )


def test_an_extension_needs_a_reason_and_comes_once_within_the_first_month(store: Store, shop: LoadedMap) -> None:
    record = receive(store, shop, "access", {"email": "j@example.com"}, source="agent", actor="a", received_at=T0)
    inside = T0 + timedelta(days=20)
    with pytest.raises(RequestError, match="1 or 2 further months"):
        extend(store, record.id, 3, "many systems", "dpo", now=inside)
    with pytest.raises(RequestError, match="needs its reason"):
        extend(store, record.id, 2, "", "dpo", now=inside)
    extended = extend(store, record.id, 2, "the person's data spans 14 systems", "dpo", now=inside)
    assert extended.due_at.date().isoformat() == "2024-04-15"
    assert extended.extended_to is not None and extended.extended_to.date().isoformat() == "2024-06-15"
    assert (
        extended.deadline == extended.extended_to and extended.extension_reason == "the person's data spans 14 systems"
    )
    with pytest.raises(RequestError, match="extended already"):
        extend(store, record.id, 1, "still more", "dpo", now=inside)
    entry = list_entries(store, action="request.extended")[0]
    assert entry.reason == "the person's data spans 14 systems" and entry.details["months"] == 2

    late = receive(store, shop, "access", {"email": "k@example.com"}, source="agent", actor="a", received_at=T0)
    with pytest.raises(RequestError, match="the first month ended on 2024-04-15"):
        extend(store, late.id, 1, "too late", "dpo", now=datetime(2024, 4, 16, 0, 1, tzinfo=UTC))
    assert get(store, late.id).extended_to is None
    completed = receive(store, shop, "access", {"email": "m@example.com"}, source="agent", actor="a", received_at=T0)
    verify(store, completed.id, "a")
    start(store, completed.id, "a")
    complete(store, completed.id, {}, "a")
    with pytest.raises(RequestError, match="only an open request can be extended"):
        extend(store, completed.id, 1, "why", "dpo", now=inside)


def test_overdue_and_due_soon_listings(any_store: Store, shop: LoadedMap) -> None:
    store = any_store
    now = datetime(2024, 6, 10, 12, 0, tzinfo=UTC)

    def received(day: str) -> int:
        at = datetime.fromisoformat(day).replace(hour=9, tzinfo=UTC)
        return receive(
            store, shop, "access", {"email": f"p{day}@example.com"}, source="agent", actor="a", received_at=at
        ).id

    overdue = received("2024-05-01")  # due 2024-06-01
    overdue_later = received("2024-05-09")  # due 2024-06-09
    soon = received("2024-05-14")  # due 2024-06-14
    later = received("2024-06-01")  # due 2024-07-01
    extended = received("2024-05-05")  # due 2024-06-05, extended to 2024-07-05
    extend(store, extended, 1, "complex", "dpo", now=datetime(2024, 5, 20, tzinfo=UTC))
    answered = received("2024-05-02")  # overdue, but answered
    verify(store, answered, "a")
    start(store, answered, "a")
    complete(store, answered, {}, "a")

    assert [r.id for r in list_requests(store, overdue=True, now=now)] == [overdue, overdue_later]
    assert [r.id for r in list_requests(store, due_within=timedelta(days=7), now=now)] == [soon]
    both = list_requests(store, overdue=True, due_within=timedelta(days=7), now=now)
    assert [r.id for r in both] == [overdue, overdue_later, soon]
    assert [r.id for r in list_requests(store, status="completed", now=now)] == [answered]
    assert {r.id for r in list_requests(store, now=now)} == {overdue, overdue_later, soon, later, extended, answered}
    assert get(store, overdue).is_overdue(now) and not get(store, extended).is_overdue(now)
    with pytest.raises(RequestError, match="unknown status 'late'"):
        list_requests(store, status="late")


# --------------------------------------------------------------------------- processor mode


def test_a_data_subjects_request_about_a_tenant_is_forwarded_to_that_controller(
    any_store: Store, shop: LoadedMap
) -> None:
    forwarded = receive(
        any_store, shop, "erasure", {"email": "student@uliege.be"}, source="data_subject", tenant="1", actor="a"
    )
    assert forwarded.status is Status.forwarded and forwarded.forwarded_to == "Université de Liège"
    assert forwarded.tenant == "1" and forwarded.completed_at is not None and not forwarded.is_open
    entries = list_entries(any_store, object_type="request", object_id=str(forwarded.id))
    assert [e.action for e in entries] == ["request.received", "request.forwarded"]
    assert entries[1].reason == "Art. 28(3)(e): forwarded to the controller, Université de Liège"
    assert entries[1].details == {"controller": "Université de Liège", "tenant": "1"}
    with pytest.raises(RequestError, match="a forwarded request is final"):
        verify(any_store, forwarded.id, "a")

    # The controller's own instruction about its tenant is executed, scoped to it.
    instructed = receive(
        any_store, shop, "erasure", {"email": "student@uliege.be"}, source="controller", tenant="2", actor="a"
    )
    assert instructed.status is Status.received and instructed.tenant == "2" and instructed.forwarded_to is None
    # Without a tenant the shop answers as controller of its own data.
    own = receive(any_store, shop, "access", {"email": "student@uliege.be"}, source="data_subject", actor="a")
    assert own.status is Status.received
    with pytest.raises(RequestError, match=r"no tenant '99' in platform.clients"):
        receive(any_store, shop, "erasure", {"email": "x@example.com"}, source="data_subject", tenant="99", actor="a")
    assert verify_chain(any_store).ok


def test_a_processor_only_map_needs_the_tenant_of_a_data_subjects_request(tmp_path: Path) -> None:
    loaded = write_shop(tmp_path / "processor", roles="[processor]")
    with open_store(f"sqlite:///{tmp_path / 'state.db'}") as store:
        with pytest.raises(RequestError, match=r"only a processor: name the controller \(tenant\)"):
            receive(store, loaded, "access", {"email": "x@example.com"}, source="data_subject", actor="a")
        record = receive(
            store, loaded, "access", {"email": "x@example.com"}, source="data_subject", tenant="2", actor="a"
        )
        assert record.status is Status.forwarded and record.forwarded_to == "KU Leuven"


def test_a_tenant_needs_a_tenant_scoped_system(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "datavow.yaml").write_text("organization: {name: X, country: BE, contact: {email: a@x.be}}\n")
    loaded = load_map(folder / "datavow.yaml")
    with open_store(f"sqlite:///{tmp_path / 'state.db'}") as store, pytest.raises(RequestError, match="tenant-scoped"):
        receive(store, loaded, "access", {"email": "x@example.com"}, source="controller", tenant="1", actor="a")


# --------------------------------------------------------------------------- CLI


def cli(shop: LoadedMap, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, "--map", str(shop.path)], env={"DATAVOW_ACTOR": "agent:cli"})
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


def test_cli_lists_shows_extends_and_denies(store: Store, shop: LoadedMap) -> None:
    now = datetime.now(UTC)
    late = receive(
        store,
        shop,
        "access",
        {"email": "late@example.com"},
        source="agent",
        actor="a",
        received_at=now - timedelta(days=40),
    ).id
    fresh = receive(
        store, shop, "erasure", JANE, source="data_subject", actor="a", received_at=now - timedelta(days=2)
    ).id

    code, out = cli(shop, "requests", "list", "--json")
    assert code == 0 and [r["id"] for r in json.loads(out)] == [late, fresh]
    code, out = cli(shop, "requests", "list", "--overdue", "--json")
    assert code == 0 and [r["id"] for r in json.loads(out)] == [late]
    code, out = cli(shop, "requests", "list", "--due-within", "7", "--json")
    assert code == 0 and json.loads(out) == []
    code, out = cli(shop, "requests", "list", "--status", "received")
    assert code == 0 and "erasure" in out and "email, phone" in out
    code, out = cli(shop, "requests", "list", "--status", "denied")
    assert code == 0 and "No requests match." in out

    code, out = cli(shop, "requests", "show", str(fresh))
    assert code == 0 and "erasure" in out and "jane" not in out.lower()
    code, out = cli(shop, "requests", "show", str(fresh), "--reveal", "--json")
    assert code == 0 and json.loads(out)["identities"]["email"] == ["jane.doe@example.com"]

    code, out = cli(shop, "requests", "extend", str(fresh), "--months", "2", "--reason", "14 systems to search")
    assert code == 0 and "14 systems to search" in out and "We need more time" in out
    assert get(store, fresh).extended_to is not None
    code, out = cli(shop, "requests", "extend", str(late), "--months", "1", "--reason", "too late")
    assert code == 8 and "the first month ended" in out

    code, out = cli(shop, "requests", "deny", str(late), "--reason", "we hold no account for this address")
    assert code == 0 and "lodge a complaint" in out and "we hold no account for this address" in out
    code, out = cli(shop, "requests", "deny", str(late), "--reason", "again")
    assert code == 8 and "a denied request is final" in out
    assert [e.actor for e in list_entries(store, action="request.denied")] == ["agent:cli"]

    code, out = cli(shop, "requests", "verify", str(fresh), "--manual", "passport seen at the desk")
    assert code == 0 and get(store, fresh).status is Status.verified
    code, out = cli(shop, "requests", "verify", str(fresh))
    assert code == 2 and "exactly one of" in out
