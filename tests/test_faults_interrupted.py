"""A batch erasure killed (SIGKILL) at varied points, then run again, records what a clean run
records: each request's ``request.completed`` entry and result count the same rows, per step and
in all. The run that takes the batch up writes ``request.interrupted`` for the run it found (with
the step it stopped at) and ``request.resumed``. The state store and the two application
databases on SQLite, then on PostgreSQL.

The killed run tells where it is by the progress it reports (one line per statement), so the kills
land at chosen places: before any change, inside a system's open transaction, between one system's
commit and the next, and after the last commit, each plus a random millisecond or two.
"""

from __future__ import annotations

import base64
import os
import random
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from datavow import load_map
from datavow.audit import list_entries
from datavow.connectors.databases import Databases
from datavow.datamap import LoadedMap
from datavow.errors import ErrorKind, RequestError
from datavow.requests.lifecycle import Status, get, receive, verify
from datavow.requests.service import RunOptions, run_batch, run_request
from datavow.secrets import KEY_ENV
from datavow.store import Store, open_store
from datavow.store.models import RequestRow
from tests import faults
from tests.test_erasure import database_url

KEY = bytes(range(32))
PEOPLE = 12
ROWS_EACH = 200  # accounts (each with an order) and messages per person
TRIALS = 9

MAP = """\
organization: {{name: Shop bv, country: BE, contact: {{email: privacy@shop.example}}}}
subjects: {{customer: Customers}}
purposes:
  service: {{name: Selling, basis: contract, subjects: [customer], categories: [user], retention: 2 years}}
systems:
  crm:
    url: "{crm}"
    tables:
      customers:
        subject: customer
        identity: {{email: email}}
        primary_key: id
        erase: anonymize
        fields:
          id: {{category: user.unique_id, erase: keep}}
          email: {{category: user.contact.email, erase: hash}}
          name: {{category: user.name, erase: nullify}}
      orders:
        subject: customer
        primary_key: id
        references: {{customer_id: customers.id}}
        erase: delete
        fields: {{id: ~, customer_id: ~, note: {{category: user, erase: nullify}}}}
  mail:
    url: "{mail}"
    tables:
      messages:
        subject: customer
        identity: {{email: email}}
        primary_key: id
        erase: delete
        fields: {{id: ~, email: {{category: user.contact.email}}, body: {{category: user, erase: nullify}}}}
"""

CRM = sa.MetaData()
CUSTOMERS = sa.Table(
    "customers",
    CRM,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("email", sa.Text),
    sa.Column("name", sa.Text),
)
ORDERS = sa.Table(
    "orders",
    CRM,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.id")),
    sa.Column("note", sa.Text),
)
MAIL = sa.MetaData()
MESSAGES = sa.Table(
    "messages",
    MAIL,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("email", sa.Text),
    sa.Column("body", sa.Text),
)


def _fill(crm: sa.Engine, mail: sa.Engine) -> None:
    """The same rows every time: the batch's people, and one more who is not asking."""
    for metadata, engine in ((CRM, crm), (MAIL, mail)):
        metadata.drop_all(engine)
        metadata.create_all(engine)
    people = range(PEOPLE + 1)
    with crm.begin() as connection:  # each person has many accounts, each account one order
        accounts = [
            {"id": p * 1000 + n, "email": _email(p), "name": f"Person {p}"} for p in people for n in range(ROWS_EACH)
        ]
        connection.execute(CUSTOMERS.insert(), accounts)
        connection.execute(
            ORDERS.insert(), [{"id": a["id"], "customer_id": a["id"], "note": "order"} for a in accounts]
        )
    with mail.begin() as connection:
        messages = [{"id": p * 1000 + n, "email": _email(p), "body": "hello"} for p in people for n in range(ROWS_EACH)]
        connection.execute(MESSAGES.insert(), messages)


def _email(person: int) -> str:
    return f"person{person}@example.com"


def _requests(store: Store, loaded: LoadedMap) -> list[int]:
    """A verified erasure request for each person but the last."""
    ids = []
    for person in range(PEOPLE):
        record = receive(store, loaded, "erasure", {"email": _email(person)}, source="controller", actor="drill")
        ids.append(verify(store, record.id, "drill", method="controller's instruction").id)
    return ids


def batch_child(map_path: str, url: str, ids: str) -> None:
    """Run in a child process: run the batch, printing each statement as it ends, and wait to be killed."""
    loaded = load_map(map_path)

    def progress(system: str, step: str, done: int, total: int) -> None:
        print(f"statement {done} of {total} in {system}", flush=True)

    with open_store(url) as store, Databases() as databases:
        print("running", flush=True)
        options = RunOptions(key=KEY, progress=progress)
        run_batch(store, loaded, [int(i) for i in ids.split(",")], options, "drill", databases=databases)
    print("done", flush=True)
    time.sleep(600)


def _without_batch(result: dict[str, Any] | None) -> dict[str, Any]:
    """A request's result less the batch's id, which differs from one batch to the next."""
    assert result is not None
    return {name: value for name, value in result.items() if name != "batch"}


def _details(store: Store, action: str, request_id: int) -> list[dict[str, Any]]:
    entries = list_entries(store, action=action, object_type="request", object_id=str(request_id))
    return [dict(entry.details) for entry in entries]


def _completed(store: Store, request_id: int) -> list[dict[str, Any]]:
    return [_without_batch(details["result"]) for details in _details(store, "request.completed", request_id)]


@dataclass(frozen=True)
class Drill:
    """The state store, the map and its two databases (emptied and filled again by :meth:`fill`)."""

    store: Store
    state_url: str
    loaded: LoadedMap
    crm: sa.Engine
    mail: sa.Engine
    databases: Databases

    def fill(self) -> None:
        _fill(self.crm, self.mail)


def _drill(backend: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Drill:
    monkeypatch.setenv(KEY_ENV, base64.urlsafe_b64encode(KEY).decode())
    crm_url, mail_url = (database_url(backend, tmp_path, request, name=name) for name in ("crm", "mail"))
    state_url = (
        str(request.getfixturevalue("postgres_url")) if backend != "sqlite" else f"sqlite:///{tmp_path}/state.db"
    )
    crm, mail = (sa.create_engine(url, poolclass=NullPool) for url in (crm_url, mail_url))
    for engine in (crm, mail):
        request.addfinalizer(engine.dispose)
    (tmp_path / "datavow.yaml").write_text(MAP.format(crm=crm_url, mail=mail_url))
    loaded = load_map(tmp_path / "datavow.yaml")
    store = open_store(state_url)
    request.addfinalizer(store.close)
    databases = Databases()
    request.addfinalizer(databases.close)

    return Drill(store, state_url, loaded, crm, mail, databases)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_batch_erasure_killed_and_resumed_records_what_a_clean_run_records(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    drill = _drill(backend, tmp_path, request, monkeypatch)
    store, loaded, databases, state_url = drill.store, drill.loaded, drill.databases, drill.state_url
    drill.fill()
    done = run_batch(store, loaded, _requests(store, loaded), RunOptions(key=KEY), "drill", databases=databases)
    clean = [_without_batch(record.result) for record in done]
    assert clean[0]["changed"] == PEOPLE * ROWS_EACH * 3 and clean[0]["complete"]
    assert all(result == clean[0] for result in clean)

    chance = random.Random(16)
    total = 0  # statements in a run, learnt from the first one
    resumed_at: list[str] = []
    for trial in range(TRIALS):
        drill.fill()
        ids = _requests(store, loaded)
        args = [str(loaded.path), state_url, ",".join(map(str, ids))]
        # after the k-th statement (0: as the run starts; past the last: once the batch is completed)
        after = total + 1 if not total else trial % (total + 2)
        with faults.child("tests.test_faults_interrupted:batch_child", args, tmp_path / "child.err") as running:
            assert running.stdout is not None
            seen = 0
            wanted = "done\n" if after > total else ("running\n" if after == 0 else None)
            for line in running.stdout:
                assert line.startswith(("running", "statement", "done")), (tmp_path / "child.err").read_text()
                if line.startswith("statement"):
                    seen += 1
                    total = max(total, int(line.split()[3]))
                if line == wanted or (wanted is None and seen == after):
                    break
            else:
                pytest.fail((tmp_path / "child.err").read_text())
            time.sleep(chance.uniform(0, 0.003))
            faults.kill_hard(running)

        left = [get(store, request_id) for request_id in ids]
        if {record.status for record in left} != {Status.completed}:
            run_batch(store, loaded, ids, RunOptions(key=KEY), "drill", databases=databases)  # run again
        for request_id in ids:
            assert _without_batch(get(store, request_id).result) == clean[0], f"trial {trial}, killed after {after}"
            assert _completed(store, request_id) == [clean[0]]
        if Status.in_progress in {record.status for record in left}:  # taken up by the second run
            for request_id in ids:
                (stopped,) = _details(store, "request.interrupted", request_id)
                (taken,) = _details(store, "request.resumed", request_id)
                assert stopped["run"] == taken["after"] and stopped["found_by"] == taken["run"] != stopped["run"]
            resumed_at.append(str(stopped["step"]))
    # the kills met the batch with its discovery kept and nothing committed, and with a system committed
    assert "discovered" in resumed_at and any(step.startswith("changing ") for step in resumed_at), resumed_at


def test_a_request_stopped_between_its_systems_counts_both_when_taken_up_and_says_where_it_stopped(
    tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    drill = _drill("sqlite", tmp_path, request, monkeypatch)
    drill.fill()
    record = receive(drill.store, drill.loaded, "erasure", {"email": _email(0)}, source="controller", actor="drill")
    verify(drill.store, record.id, "drill")

    def stop_in_mail(system: str, step: str, done: int, total: int) -> None:
        if system == "mail":  # the crm committed; the mail's transaction is open
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_request(drill.store, drill.loaded, record.id, RunOptions(key=KEY, progress=stop_in_mail), "drill",
                    databases=drill.databases)  # fmt: skip
    assert get(drill.store, record.id).status is Status.in_progress and not _details(
        drill.store, "request.interrupted", record.id
    )
    done = run_request(drill.store, drill.loaded, record.id, RunOptions(key=KEY), "drill", databases=drill.databases)

    assert done.result is not None and done.result["changed"] == 3 * ROWS_EACH
    steps = {step["step"]: step for step in done.result["steps"]}
    assert (steps["crm.orders"]["deleted"], steps["crm.customers"]["anonymised"]) == (ROWS_EACH, ROWS_EACH)
    assert steps["mail.messages"]["deleted"] == ROWS_EACH
    (stopped,) = _details(drill.store, "request.interrupted", record.id)
    (taken,) = _details(drill.store, "request.resumed", record.id)
    assert stopped["step"] == "changing crm" and stopped["run"] == taken["after"] != taken["run"] == stopped["found_by"]
    with drill.store.session(write=False) as session:  # an ended request is held by no run
        row = session.get(RequestRow, record.id)
        assert row is not None and (row.run_id, row.run_step) == (None, None)


def test_a_request_held_by_a_live_process_on_this_host_is_not_taken_up(
    tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    drill = _drill("sqlite", tmp_path, request, monkeypatch)
    drill.fill()
    record = receive(drill.store, drill.loaded, "erasure", {"email": _email(0)}, source="controller", actor="drill")
    verify(drill.store, record.id, "drill")
    with drill.store.session() as session:  # as a run in the process that started this one leaves it
        session.execute(
            sa.update(RequestRow)
            .where(RequestRow.id == record.id)
            .values(status="in_progress", run_id=f"{socket.gethostname()}:{os.getppid()}:0000", run_step="discovered")
        )

    with pytest.raises(RequestError, match=f"being run by process {os.getppid()} on this host") as raised:
        run_request(drill.store, drill.loaded, record.id, RunOptions(key=KEY), "drill", databases=drill.databases)
    assert raised.value.kind is ErrorKind.CONFLICT
    assert get(drill.store, record.id).status is Status.in_progress and not _details(
        drill.store, "request.resumed", record.id
    )
