"""How sweeps behave: killed for real and run again, two workers at once, locks and leases,
datavow's own records, the schedule, and rules the map gets wrong."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time as clock
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from datavow import load_map
from datavow.audit import verify_chain
from datavow.audit.log import list_entries
from datavow.datamap.model import Interval
from datavow.errors import MapError
from datavow.retention import retention_plan, run_sweep
from datavow.retention.locks import LockLost, acquire, release, renew
from datavow.retention.schedule import next_after, schedule
from datavow.store import default_state_url, open_store
from datavow.store.models import RequestRow, SweepRow, VerificationCodeRow

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime.now(UTC).replace(microsecond=0)

MAP = """\
organization: {{name: Helpdesk, country: BE, contact: {{email: privacy@helpdesk.example}}}}
subjects: {{customer: Customers}}
purposes:
  support: {{name: Support, basis: contract, subjects: [customer], categories: [user], retention: 30 days}}
systems:
  app:
    url: "{url}"
    tables:
      tickets:
        subject: customer
        purposes: [support]
        identity: {{email: email}}
        erase: delete
        fields: {{id: ~, email: user.contact.email, closed_at: ~}}
        retention: {{keep: 30 days, after: closed_at}}
      messages:
        subject: customer
        purposes: [support]
        references: {{ticket_id: tickets.id}}
        fields: {{id: ~, ticket_id: ~, body: user.content}}
      events:
        subject: customer
        purposes: [support]
        identity: {{email: email}}
        erase: delete
        fields: {{id: ~, email: user.contact.email, at: ~}}
        retention: {{keep: 30 days, after: at}}
retention: {{chunk_rows: {chunk}}}
"""

METADATA = sa.MetaData()
TICKETS = sa.Table(
    "tickets",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("email", sa.String(200)),
    sa.Column("closed_at", sa.DateTime),
)
MESSAGES = sa.Table(
    "messages",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), nullable=False),
    sa.Column("body", sa.Text),
)
EVENTS = sa.Table(
    "events",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("email", sa.String(200)),
    sa.Column("at", sa.DateTime, index=True),
)

OLD = (NOW - timedelta(days=400)).replace(tzinfo=None)
RECENT = (NOW - timedelta(days=3)).replace(tzinfo=None)


def build(folder: Path, url: str, *, tickets: int, events: int, chunk: int) -> Path:
    """The helpdesk: half its tickets closed long ago, a tenth still open, three messages each;
    three quarters of its events old."""
    engine = sa.create_engine(url, poolclass=NullPool)
    METADATA.drop_all(engine)
    METADATA.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            TICKETS.insert(),
            [
                {"id": i, "email": f"c{i}@x.example", "closed_at": None if i % 10 == 0 else (OLD if i % 2 else RECENT)}
                for i in range(1, tickets + 1)
            ],
        )
        conn.execute(
            MESSAGES.insert(),
            [
                {"id": i * 3 + k, "ticket_id": i, "body": f"message {k}"}
                for i in range(1, tickets + 1)
                for k in range(3)
            ],
        )
        conn.execute(
            EVENTS.insert(),
            [{"id": i, "email": f"c{i}@x.example", "at": RECENT if i % 4 == 0 else OLD} for i in range(1, events + 1)],
        )
    engine.dispose()
    path = folder / "datavow.yaml"
    path.write_text(MAP.format(url=url, chunk=chunk))
    return path


def facts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url, poolclass=NullPool)
    queries = {
        "old tickets": sa.select(sa.func.count()).where(TICKETS.c.closed_at == OLD),
        "other tickets": sa.select(sa.func.count()).where(
            sa.or_(TICKETS.c.closed_at.is_(None), TICKETS.c.closed_at == RECENT)
        ),
        "messages of other tickets": sa.select(sa.func.count()).where(
            MESSAGES.c.ticket_id.in_(
                sa.select(TICKETS.c.id).where(sa.or_(TICKETS.c.closed_at.is_(None), TICKETS.c.closed_at == RECENT))
            )
        ),
        "orphan messages": sa.select(sa.func.count()).where(MESSAGES.c.ticket_id.not_in(sa.select(TICKETS.c.id))),
        "old events": sa.select(sa.func.count()).where(EVENTS.c.at == OLD),
        "recent events": sa.select(sa.func.count()).where(EVENTS.c.at == RECENT),
    }
    try:
        with engine.connect() as conn:
            return {name: int(conn.execute(query).scalar_one()) for name, query in queries.items()}
    finally:
        engine.dispose()


def target_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'app.db'}"
    return str(request.getfixturevalue("postgres_url"))


def datavow(*args: str) -> list[str]:
    return [sys.executable, "-m", "datavow", *args]


@pytest.fixture
def quiet_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    monkeypatch.setenv("DATAVOW_SECRET_KEY", "A" * 43 + "=")
    return {**os.environ, "COLUMNS": "200", "DATAVOW_ACTOR": "test:retention"}


# --------------------------------------------------------------------------- killed for real


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_sweep_killed_midway_completes_when_run_again(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, quiet_env: dict[str, str]
) -> None:
    url = target_url(backend, tmp_path, request)
    path = build(tmp_path, url, tickets=4_000, events=8_000, chunk=20)
    before = facts(url)
    assert before["old tickets"] > 1_000 and before["orphan messages"] == 0

    child = subprocess.Popen(
        datavow("retention", "run", "--map", str(path), "--system", "app"),
        cwd=ROOT,
        env=quiet_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = clock.monotonic() + 120
        while clock.monotonic() < deadline:  # wait until some, not all, old tickets are gone
            now = facts(url)["old tickets"]
            if 0 < now < before["old tickets"] - 100:
                break
            assert child.poll() is None, "the sweep ended before it could be killed: " + str(
                child.stderr.read() if child.stderr else ""
            )
            clock.sleep(0.05)
        else:
            raise AssertionError("the sweep never got going")
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stderr is not None:
            child.stderr.close()

    midway = facts(url)
    assert 0 < midway["old tickets"] < before["old tickets"]
    # nothing that should stay went, and every committed chunk took its messages with it
    assert midway["orphan messages"] == 0
    for kept in ("other tickets", "messages of other tickets", "recent events"):
        assert midway[kept] == before[kept], kept

    done = subprocess.run(
        datavow("retention", "run", "--map", str(path), "--json"),
        cwd=ROOT,
        env=quiet_env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    after = facts(url)
    assert after == {**before, "old tickets": 0, "old events": 0}

    with open_store(default_state_url(path)) as store:
        with store.session(write=False) as session:
            statuses = [
                row.status for row in session.query(SweepRow).filter(SweepRow.system == "app").order_by(SweepRow.id)
            ]
        assert statuses == ["interrupted", "done"]
        interrupted = list_entries(store, action="retention.sweep_interrupted")
        assert len(interrupted) == 1 and interrupted[0].object_id == "app"
        assert verify_chain(store).ok


# --------------------------------------------------------------------------- two workers


def test_two_workers_never_sweep_one_system_together(tmp_path: Path, quiet_env: dict[str, str]) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    path = build(tmp_path, url, tickets=3_000, events=6_000, chunk=20)
    state = default_state_url(path)
    first = subprocess.Popen(
        datavow("worker", "--once", "--map", str(path), "--name", "first"),
        cwd=ROOT,
        env=quiet_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = clock.monotonic() + 60
        while clock.monotonic() < deadline:  # until the first holds the lock on app
            try:
                engine = sa.create_engine(state, poolclass=NullPool)
                with engine.connect() as conn:
                    holder = conn.execute(sa.text("SELECT holder FROM retention_locks WHERE system = 'app'")).first()
                engine.dispose()
            except sa.exc.OperationalError:
                holder = None  # the store is being created
            if holder is not None:
                break
            clock.sleep(0.05)
        else:
            raise AssertionError("the first worker never took the lock")
        second = subprocess.run(
            datavow("worker", "--once", "--map", str(path), "--name", "second"),
            cwd=ROOT,
            env=quiet_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == 0, second.stdout + second.stderr
        assert "app: locked" in second.stdout and "being swept by first" in second.stdout, second.stdout
        out, _ = first.communicate(timeout=120)
        assert first.returncode == 0, out
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()

    assert facts(url)["old tickets"] == 0 and facts(url)["old events"] == 0
    with open_store(state) as store:
        with store.session(write=False) as session:
            sweeps = session.query(SweepRow).order_by(SweepRow.started_at).all()
        by_system: dict[str, list[SweepRow]] = {}
        for row in sweeps:
            by_system.setdefault(row.system, []).append(row)
        assert [row.worker for row in by_system["app"]] == ["first"]
        for rows in by_system.values():
            for earlier, later in zip(rows, rows[1:], strict=False):
                assert earlier.finished_at is not None and earlier.finished_at <= later.started_at
        assert len(list_entries(store, action="retention.swept", object_id="app")) == 1


def test_a_lease_is_exclusive_until_it_runs_out(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'state.db'}", create=True) as store:
        assert acquire(store, "app", "first") is not None
        assert acquire(store, "app", "second") is None
        assert acquire(store, "other", "second") is not None  # another system is free
        renew(store, "app", "first")
        later = datetime.now(UTC) + timedelta(minutes=5)  # the first stalled past its lease
        assert acquire(store, "app", "second", now=later) is not None
        with pytest.raises(LockLost, match="another worker took over"):
            renew(store, "app", "first")
        release(store, "app", "first")  # not the holder: changes nothing
        assert acquire(store, "app", "third") is None
        release(store, "app", "second")
        assert acquire(store, "app", "third") is not None


def test_a_lease_on_postgresql_goes_to_one_of_two_at_once(postgres_url: str) -> None:
    with open_store(postgres_url, create=True) as one, open_store(postgres_url) as two:
        later = datetime.now(UTC) + timedelta(minutes=5)
        assert acquire(one, "app", "first") is not None
        # both take over the expired lease "at once": exactly one may win
        winners = [acquire(store, "app", name, now=later) for store, name in ((one, "second"), (two, "third"))]
        assert sum(winner is not None for winner in winners) == 1


# --------------------------------------------------------------------------- datavow's own records


def test_datavow_sweeps_its_own_records(tmp_path: Path, quiet_env: dict[str, str]) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    path = build(tmp_path, url, tickets=10, events=10, chunk=100)
    loaded = load_map(path)
    exports = tmp_path / ".datavow" / "exports"
    exports.mkdir(parents=True)
    with open_store(default_state_url(path), create=True) as store:
        long_ago, lately = NOW - timedelta(days=4 * 365), NOW - timedelta(days=10)
        with store.session() as session:
            for i, (status, closed) in enumerate(
                [("completed", long_ago), ("denied", long_ago), ("completed", lately), ("in_progress", None)], 1
            ):
                session.add(
                    RequestRow(
                        id=i,
                        kind="access",
                        status=status,
                        source="data_subject",
                        tenant=None,
                        received_at=long_ago,
                        due_at=long_ago + timedelta(days=30),
                        completed_at=closed,
                        identity_kinds="email",
                        identities=b"sealed",
                    )
                )
            session.flush()
            for i, expires in enumerate([NOW - timedelta(days=3), NOW + timedelta(minutes=10)], 1):
                session.add(VerificationCodeRow(request_id=4, code_hash=f"h{i}", created_at=NOW, expires_at=expires))
        write_package(exports / "request-1.zip.dvs", 1, NOW - timedelta(days=1))
        write_package(exports / "request-3.zip.dvs", 3, NOW + timedelta(days=20))

        result = run_sweep(loaded, {}, store, systems=["datavow"], now=NOW)
        assert result.complete
        own = {rule.label: rule.own for rule in result.rules}
        assert own == {
            "datavow.verification_codes": 1,
            "datavow.exports": 1,
            "datavow.requests": 2,
            "datavow.sweeps": 0,
        }
        with store.session(write=False) as session:
            assert sorted(row.id for row in session.query(RequestRow)) == [3, 4]
            assert [row.code_hash for row in session.query(VerificationCodeRow)] == ["h2"]
        assert sorted(p.name for p in exports.iterdir()) == ["request-3.zip.dvs"]
        assert run_sweep(loaded, {}, store, systems=["datavow"], now=NOW).changed == 0


def write_package(path: Path, request_id: int, expires_at: datetime) -> None:
    """A package as ``export_access`` writes it (only its clear header matters here)."""
    from datavow.requests.export import ExportHeader, write_sealed

    header = ExportHeader(str(request_id), expires_at - timedelta(days=30), expires_at)
    write_sealed(path, bytes(range(32)), header, iter([b"zip bytes"]))


# --------------------------------------------------------------------------- the schedule


def test_the_schedule_follows_the_map_and_the_last_sweep(tmp_path: Path) -> None:
    day, hours = Interval(1, "day"), Interval(6, "hour")
    last = datetime(2026, 11, 21, 2, 30, 5, tzinfo=UTC)
    assert next_after(None, day, None, NOW) == NOW
    assert next_after(last, hours, "02:30", NOW) == last + timedelta(hours=6)  # `at` is for a day or more
    assert next_after(last, day, None, NOW) == last + timedelta(days=1)
    assert next_after(last, day, "02:30", NOW) == datetime(2026, 11, 22, 2, 30, tzinfo=UTC)
    assert next_after(last, Interval(1, "week"), "01:00", NOW) == datetime(2026, 11, 28, 1, 0, tzinfo=UTC)

    url = f"sqlite:///{tmp_path / 'app.db'}"
    path = build(tmp_path, url, tickets=10, events=10, chunk=100)
    path.write_text(
        path.read_text().replace(
            "retention: {chunk_rows: 100}", "retention: {every: 6 hours, systems: {app: {every: 1 day}}}"
        )
    )
    loaded = load_map(path)
    engines = {"app": sa.create_engine(url, poolclass=NullPool)}
    with open_store(default_state_url(path), create=True) as store:
        assert all(turn.due(NOW) for turn in schedule(loaded, store, now=NOW))
        run_sweep(loaded, engines, store, now=NOW)
        turns = {turn.system: turn for turn in schedule(loaded, store, now=NOW)}
        assert set(turns) == {"datavow", "app"} and not any(t.due(NOW) for t in turns.values())
        assert str(turns["app"].every) == "1 day" and str(turns["datavow"].every) == "6 hours"
        assert turns["datavow"].due(NOW + timedelta(hours=7)) and not turns["app"].due(NOW + timedelta(hours=7))


# --------------------------------------------------------------------------- the map


def problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "datavow.yaml"
    path.write_text(text)
    with pytest.raises(MapError) as caught:
        load_map(path)
    return [str(problem) for problem in caught.value.problems]


def test_wrong_retention_settings_are_named_with_their_line(tmp_path: Path) -> None:
    base = MAP.format(url="sqlite:///app.db", chunk=100)
    found = problems(tmp_path, base.replace("retention: {keep: 30 days, after: at}", "retention: {after: at}"))
    assert len(found) == 1 and "datavow.yaml:27:" in found[0] and "add 'keep: 90 days'" in found[0], found
    found = problems(tmp_path, base.replace("retention: {chunk_rows: 100}", "retention: {every: 2 fortnights}"))
    assert any("'2 fortnights' is not an interval" in p for p in found), found
    found = problems(tmp_path, base.replace("retention: {chunk_rows: 100}", "retention: {systems: {ap: {}}}"))
    assert any("unknown system 'ap'" in p and "did you mean 'app'" in p for p in found), found
    found = problems(tmp_path, base.replace("retention: {chunk_rows: 100}", "retention: {at: '25:00'}"))
    assert any("'25:00' is not a time of day" in p for p in found), found


def test_a_category_can_give_the_period(tmp_path: Path) -> None:
    text = (
        MAP.format(url=f"sqlite:///{tmp_path / 'app.db'}", chunk=100)
        .replace("retention: {keep: 30 days, after: at}", "retention: {after: at}")
        .replace("email: user.contact.email, at: ~}", "email: user.contact.customer_email, at: ~}")
    )
    text = "taxonomy: {categories: {user.contact.customer_email: {name: Customer e-mail, retention: 14 days}}}\n" + text
    path = tmp_path / "datavow.yaml"
    path.write_text(text)
    build(tmp_path, f"sqlite:///{tmp_path / 'app.db'}", tickets=10, events=10, chunk=100)
    path.write_text(text)  # build() wrote its own map
    loaded = load_map(path)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'app.db'}", poolclass=NullPool)
    rule = next(
        r for r in retention_plan(loaded, {"app": engine}, now=NOW, key=bytes(32)).rules if r.label == "app.events"
    )
    assert rule.period == "14 days" and rule.due == 8  # the old events of the ten


@pytest.fixture(autouse=True)
def _no_leftover_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("DATAVOW_STATE_URL", raising=False)
    yield


def test_a_row_a_held_row_references_stays_with_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    path = build(tmp_path, url, tickets=50, events=10, chunk=100)
    hold = "        hold: {purpose: support, keep: 2 years, after: tickets.closed_at}\n"
    text = path.read_text().replace(
        "        fields: {id: ~, ticket_id: ~, body: user.content}\n",
        "        fields: {id: ~, ticket_id: ~, body: user.content}\n" + hold,
    )
    path.write_text(text)
    engines = {"app": sa.create_engine(url, poolclass=NullPool)}
    before = facts(url)
    loaded = load_map(path)
    rule = next(r for r in retention_plan(loaded, engines, now=NOW, key=bytes(32)).rules if r.label == "app.tickets")
    assert (rule.due, rule.held) == (0, before["old tickets"])  # their messages are held
    result = run_sweep(loaded, engines, None, now=NOW, systems=["app"], key=bytes(32))
    assert result.complete and facts(url)["old tickets"] == before["old tickets"]
    path.write_text(text.replace("keep: 2 years, after: tickets", "keep: 100 days, after: tickets"))
    result = run_sweep(load_map(path), engines, None, now=NOW, systems=["app"], key=bytes(32))
    assert result.complete and facts(url) == {**before, "old tickets": 0, "old events": 0}
    engines["app"].dispose()


def test_the_commands_plan_run_and_list_sweeps(tmp_path: Path, quiet_env: dict[str, str]) -> None:
    import json

    from click.testing import CliRunner

    from datavow.cli import main

    url = f"sqlite:///{tmp_path / 'app.db'}"
    path = build(tmp_path, url, tickets=40, events=40, chunk=7)
    before = facts(url)
    runner = CliRunner()
    planned = runner.invoke(main, ["retention", "plan", "--map", str(path), "--json"])
    assert planned.exit_code == 0, planned.output
    rules = {rule["rule"]: rule for rule in json.loads(planned.output)["rules"]}
    assert rules["app.tickets"]["due"] == before["old tickets"] and rules["app.tickets"]["cascade"] == ["app.messages"]
    assert rules["app.events"]["due"] == before["old events"] and facts(url) == before  # the plan changed nothing
    later = runner.invoke(main, ["retention", "plan", "--map", str(path), "--json", "--at", "2000-01-01"])
    assert json.loads(later.output)["due"] == 0  # in 2000 nothing was old yet
    ran = runner.invoke(main, ["retention", "run", "--map", str(path), "--system", "app", "--actor", "ops:ann"])
    assert ran.exit_code == 0, ran.output
    assert f"app.events: {before['old events']} deleted" in ran.output
    assert facts(url)["old events"] == 0 and facts(url)["old tickets"] == 0
    listed = runner.invoke(main, ["retention", "sweeps", "--map", str(path), "--json"])
    sweeps = json.loads(listed.output)
    assert [(s["system"], s["status"]) for s in sweeps["sweeps"]] == [("app", "done")]
    assert sweeps["sweeps"][0]["changed"] == before["old events"] + before["old tickets"] * 4  # 3 messages each
    assert {turn["system"] for turn in sweeps["schedule"]} == {"datavow", "app"}
    with open_store(default_state_url(path)) as store:
        (entry,) = list_entries(store, action="retention.swept")
        assert entry.actor == "ops:ann" and entry.details["rules"]["app.tickets"]["cascaded"] == {
            "app.messages": before["old tickets"] * 3
        }
    bad = runner.invoke(main, ["retention", "run", "--map", str(path), "--system", "nope"])
    assert bad.exit_code != 0 and "no system 'nope'" in bad.output


def test_the_audit_log_is_pruned_only_when_the_map_says_and_still_verifies(
    tmp_path: Path, quiet_env: dict[str, str]
) -> None:
    from datavow.audit import append

    url = f"sqlite:///{tmp_path / 'app.db'}"
    path = build(tmp_path, url, tickets=10, events=10, chunk=100)
    with open_store(default_state_url(path), create=True) as store:
        for i in range(30):
            append(store, ACTOR_NAME, "test.happened", "thing", str(i))
        later = NOW + timedelta(days=800)
        run_sweep(load_map(path), {}, store, systems=["datavow"], now=later)  # no period in the map: kept
        assert verify_chain(store).entries == 31 and verify_chain(store).pruned == 0

        path.write_text(
            path.read_text().replace(
                "retention: {chunk_rows: 100}", "retention: {chunk_rows: 7, own: {audit_log: 2 years}}"
            )
        )
        assert run_sweep(load_map(path), {}, store, systems=["datavow"], now=NOW).changed == 0  # nothing that old
        result = run_sweep(load_map(path), {}, store, systems=["datavow"], now=later)
        pruned = next(rule for rule in result.rules if rule.label == "datavow.audit_log")
        # every entry before the sweep, 7 at a time (and, as "later" is years ahead, the prunes' own entries)
        assert pruned.due == 31 and pruned.own >= 31 and pruned.chunks > 3
        verified = verify_chain(store)
        assert verified.ok and verified.pruned == pruned.own, verified.message
        assert "were pruned" in verified.message

        # entries removed by hand, with the checkpoint moved over them, are still caught
        engine = sa.create_engine(default_state_url(path), poolclass=NullPool)
        first = verified.head_seq - verified.entries + 1
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM audit_entries WHERE seq <= :seq"), {"seq": first})
            hash_ = conn.execute(sa.text("SELECT prev_hash FROM audit_entries WHERE seq = :seq"), {"seq": first + 1})
            conn.execute(
                sa.text("UPDATE audit_checkpoint SET seq = :seq, hash = :hash"),
                {"seq": first, "hash": hash_.scalar_one()},
            )
        forged = verify_chain(store)
        assert not forged.ok and "no audit.pruned entry records" in forged.message, forged.message
        engine.dispose()


ACTOR_NAME = "test:retention"


def test_check_names_a_rule_its_database_cannot_run(tmp_path: Path) -> None:
    from datavow.check import check_map

    url = f"sqlite:///{tmp_path / 'app.db'}"
    path = build(tmp_path, url, tickets=10, events=10, chunk=100)
    assert not [f for f in check_map(path).findings if f.rule == "drift-retention-unfit"]
    path.write_text(
        path.read_text()
        .replace("retention: {keep: 30 days, after: at}", "retention: {keep: 30 days, after: email}")
        .replace(
            "retention: {keep: 30 days, after: closed_at}",
            "retention: {keep: 30 days, after: closed_at, where: 'closed_at >>> 1'}",
        )
    )
    unfit = {f.target: f for f in check_map(path).findings if f.rule == "drift-retention-unfit"}
    assert set(unfit) == {"app.events", "app.tickets"}
    assert (
        "app.events.email holds text that is not an ISO date (a value of the form 'a9@a.a')"
        in unfit["app.events"].message
    )
    assert "refuses the rule's condition" in unfit["app.tickets"].message
    assert unfit["app.tickets"].location is not None and unfit["app.tickets"].location.line == 15
