"""Retention on the demo companies, on SQLite, PostgreSQL and MariaDB: rows past their period go,
rows a hold keeps stay until the hold ends, what should stay stays, and a second run finds nothing.

The expectations are computed here with plain SQL from the map's declarations, not with datavow's
own conditions, so a wrong condition in datavow cannot agree with itself.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from dateutil.relativedelta import relativedelta

from datavow import load_map
from datavow.audit import verify_chain
from datavow.audit.log import list_entries
from datavow.connectors.sql import connect
from datavow.datamap import LoadedMap
from datavow.demo import build_demo
from datavow.retention import retention_plan, run_sweep
from datavow.store import default_state_url, open_store
from tests.test_demo import TODAY
from tests.test_rights_demo import server_demo

NOW = datetime.combine(TODAY, time(12), tzinfo=UTC)
ACTOR = "test:retention"


def engines_for(loaded: LoadedMap) -> dict[str, sa.Engine]:
    return {name: connect(loaded.system_url(name), system=name) for name in loaded.model.systems}


def reflect(engine: sa.Engine, loaded: LoadedMap, label: str) -> sa.Table:
    system, table = label.split(".")
    ref = loaded.table(system, table)
    return sa.Table(table, sa.MetaData(), schema=ref.schema, autoload_with=engine)


def cutoff_for(column: sa.Column[Any], period: relativedelta, now: datetime) -> date | datetime:
    moment = (now - period).replace(tzinfo=None)
    if isinstance(column.type, sa.Date) and not isinstance(column.type, sa.DateTime):
        return moment.date()
    return moment


def count(engine: sa.Engine, statement: sa.Select[Any]) -> int:
    with engine.connect() as conn:
        return int(conn.execute(statement).scalar_one())


class Software:
    """MIRA Software's rules, written out by hand as SQL."""

    def __init__(self, loaded: LoadedMap, now: datetime) -> None:
        self.engines = engines_for(loaded)
        self.platform, self.business = self.engines["platform"], self.engines["business"]
        t = {
            label: reflect(self.engines[label.split(".")[0]], loaded, label)
            for label in (
                "platform.customers",
                "platform.users",
                "platform.login_events",
                "platform.user_sessions",
                "platform.support_tickets",
                "business.contact_submissions",
                "business.invoices",
            )
        }
        self.t = t
        customers = t["platform.customers"]
        self.ended = customers.c.subscription_end <= cutoff_for(
            customers.c.subscription_end, relativedelta(days=90), now
        )
        self.ended_ids = sa.select(customers.c.id).where(self.ended)
        events = t["platform.login_events"]
        self.old_events = events.c.at <= cutoff_for(events.c.at, relativedelta(days=90), now)
        tickets = t["platform.support_tickets"]
        self.old_tickets = tickets.c.closed_at <= cutoff_for(tickets.c.closed_at, relativedelta(months=24), now)
        submissions = t["business.contact_submissions"]
        self.old_submissions = submissions.c.submitted_at <= cutoff_for(
            submissions.c.submitted_at, relativedelta(days=90), now
        )
        invoices = t["business.invoices"]
        self.old_invoices = invoices.c.issued_on <= cutoff_for(invoices.c.issued_on, relativedelta(years=7), now)

    def facts(self) -> dict[str, int]:
        t = self.t
        users, events, submissions = t["platform.users"], t["platform.login_events"], t["business.contact_submissions"]
        customers = t["platform.customers"]
        live_customers = sa.select(customers.c.id).where(sa.not_(self.ended))
        live_users = sa.select(users.c.id).where(
            sa.or_(users.c.customer_id.is_(None), users.c.customer_id.in_(live_customers))
        )
        return {
            "ended customers": count(self.platform, sa.select(sa.func.count()).where(self.ended)),
            "other customers": count(self.platform, sa.select(sa.func.count()).where(sa.not_(self.ended))),
            "users of ended customers": count(
                self.platform, sa.select(sa.func.count()).where(users.c.customer_id.in_(self.ended_ids))
            ),
            "users of other customers": count(
                self.platform, sa.select(sa.func.count()).select_from(live_users.subquery())
            ),
            "old login events": count(self.platform, sa.select(sa.func.count()).where(self.old_events)),
            # recent events of users who stay (or of no user): nothing may take them
            "recent events that stay": count(
                self.platform,
                sa.select(sa.func.count()).where(
                    sa.not_(self.old_events), sa.or_(events.c.user_id.is_(None), events.c.user_id.in_(live_users))
                ),
            ),
            "old closed tickets": count(self.platform, sa.select(sa.func.count()).where(self.old_tickets)),
            "submissions": count(self.business, sa.select(sa.func.count()).select_from(submissions)),
            "old submissions with an address": count(
                self.business,
                sa.select(sa.func.count()).where(self.old_submissions, submissions.c.ip_address.is_not(None)),
            ),
            "recent submissions with an address": count(
                self.business,
                sa.select(sa.func.count()).where(sa.not_(self.old_submissions), submissions.c.ip_address.is_not(None)),
            ),
            "old invoices": count(self.business, sa.select(sa.func.count()).where(self.old_invoices)),
            "recent invoices": count(self.business, sa.select(sa.func.count()).where(sa.not_(self.old_invoices))),
        }

    def dispose(self) -> None:
        for engine in self.engines.values():
            engine.dispose()


def check_software(loaded: LoadedMap, store_url: str) -> None:
    software = Software(loaded, NOW)
    try:
        before = software.facts()
        for fact in (
            "ended customers",
            "users of ended customers",
            "old login events",
            "old closed tickets",
            "old submissions with an address",
            "old invoices",
        ):
            assert before[fact] > 0, f"the demo has no {fact}: nothing would be tested"
        plan = retention_plan(loaded, software.engines, now=NOW)
        assert plan.due > 0
        with open_store(store_url, create=True) as store:
            result = run_sweep(loaded, software.engines, store, now=NOW, actor=ACTOR)
            assert result.complete, result.to_dict()
            after = software.facts()
            gone = (
                "ended customers",
                "users of ended customers",
                "old login events",
                "old closed tickets",
                "old submissions with an address",
                "old invoices",
            )
            assert {fact: after[fact] for fact in gone} == dict.fromkeys(gone, 0)
            stay = (
                "other customers",
                "users of other customers",
                "recent events that stay",
                "submissions",
                "recent submissions with an address",
                "recent invoices",
            )
            assert {fact: after[fact] for fact in stay} == {fact: before[fact] for fact in stay}
            rules = {rule.label: rule for rule in result.rules}
            assert rules["platform.customers"].deleted == before["ended customers"]
            assert rules["platform.customers"].cascaded["platform.users"] == before["users of ended customers"]
            assert rules["business.contact_submissions"].anonymised == before["old submissions with an address"]
            # a second run finds nothing to do
            again = run_sweep(loaded, software.engines, store, now=NOW, actor=ACTOR)
            assert again.complete and again.changed == 0, again.to_dict()
            assert retention_plan(loaded, software.engines, now=NOW).due == 0
            swept = list_entries(store, action="retention.swept")
            assert {entry.object_id for entry in swept} >= {"platform", "business", "datavow"}
            platform = next(e for e in swept if e.object_id == "platform" and e.details["changed"])
            assert platform.details["rules"]["platform.login_events"]["changed"] > 0
            assert verify_chain(store).ok
    finally:
        software.dispose()


def check_network(loaded: LoadedMap, store_url: str) -> None:
    engines = engines_for(loaded)
    try:
        payslips = reflect(engines["hr"], loaded, "hr.payslips")
        old = payslips.c.paid_on <= cutoff_for(payslips.c.paid_on, relativedelta(years=7), NOW)
        before_old = count(engines["hr"], sa.select(sa.func.count()).where(old))
        before_recent = count(engines["hr"], sa.select(sa.func.count()).where(sa.not_(old)))
        assert before_old > 0
        with open_store(store_url, create=True) as store:
            result = run_sweep(loaded, engines, store, now=NOW, actor=ACTOR)
            assert result.complete
            assert count(engines["hr"], sa.select(sa.func.count()).where(old)) == 0
            assert count(engines["hr"], sa.select(sa.func.count()).where(sa.not_(old))) == before_recent
            assert run_sweep(loaded, engines, store, now=NOW, actor=ACTOR).changed == 0
    finally:
        for engine in engines.values():
            engine.dispose()


@pytest.fixture(scope="module")
def sqlite_demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, LoadedMap]:
    built = build_demo(tmp_path_factory.mktemp("retention"), scale=0.3, today=TODAY)
    return {company.name: load_map(company.map_path) for company in built}


def test_demo_retention_on_sqlite(sqlite_demo: dict[str, LoadedMap]) -> None:
    check_software(sqlite_demo["mira-software"], default_state_url(sqlite_demo["mira-software"].path))
    check_network(sqlite_demo["mira-network"], default_state_url(sqlite_demo["mira-network"].path))
    miralix = sqlite_demo["miralix"]  # its statement gives no period: nothing to sweep, and it says so
    assert retention_plan(miralix, engines_for(miralix), now=NOW).rules == []


def test_demo_retention_on_postgresql(tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with server_demo(tmp_path, postgres_url, monkeypatch) as maps:
        by_name = {loaded.path.parent.name: loaded for loaded in maps}
        check_software(by_name["mira-software"], default_state_url(by_name["mira-software"].path))
        check_network(by_name["mira-network"], default_state_url(by_name["mira-network"].path))


def test_demo_retention_on_mariadb(tmp_path: Path, mariadb_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with server_demo(tmp_path, mariadb_url, monkeypatch) as maps:
        by_name = {loaded.path.parent.name: loaded for loaded in maps}
        check_software(by_name["mira-software"], default_state_url(by_name["mira-software"].path))
        check_network(by_name["mira-network"], default_state_url(by_name["mira-network"].path))


# --------------------------------------------------------------------------- holds


def with_hold(loaded: LoadedMap, table: str, hold: str) -> LoadedMap:
    """The same map with a legal hold added to ``table`` (a line after its ``retention:``)."""
    text = loaded.path.read_text()
    anchor = f"      {table}:\n"
    start = text.index(anchor)
    retention = text.index("        retention:", start)
    end = text.index("\n", retention) + 1
    changed = text[:end] + f"        hold: {hold}\n" + text[end:]
    path = loaded.path.with_name("held.yaml")
    path.write_text(changed)
    return load_map(path)


def test_held_rows_stay_until_the_hold_ends(tmp_path: Path) -> None:
    (built,) = build_demo(tmp_path, scale=0.1, today=TODAY, companies=["mira-software"])
    loaded = with_hold(load_map(built.map_path), "login_events", "{purpose: security, keep: 1 year, after: at}")
    engines = engines_for(loaded)
    events = reflect(engines["platform"], loaded, "platform.login_events")
    past = events.c.at <= cutoff_for(events.c.at, relativedelta(days=90), NOW)
    held = sa.and_(past, events.c.at > cutoff_for(events.c.at, relativedelta(years=1), NOW))
    held_rows = count(engines["platform"], sa.select(sa.func.count()).where(held))
    assert held_rows > 0 and count(engines["platform"], sa.select(sa.func.count()).where(past)) > held_rows
    rule = next(
        r
        for r in retention_plan(loaded, engines, now=NOW, systems=["platform"]).rules
        if r.label == "platform.login_events"
    )
    assert rule.held == held_rows
    held_ids = {row[0] for row in engines["platform"].connect().execute(sa.select(events.c.id).where(held))}
    run_sweep(loaded, engines, None, now=NOW, systems=["platform"])
    with engines["platform"].connect() as conn:
        left = {row[0] for row in conn.execute(sa.select(events.c.id).where(past))}
    assert left == held_ids, "held rows went, or rows past both periods stayed"
    # a year on, the hold has ended for every one of them
    later = NOW + timedelta(days=366)
    run_sweep(loaded, engines, None, now=later, systems=["platform"])
    with engines["platform"].connect() as conn:
        assert not conn.execute(sa.select(events.c.id).where(events.c.id.in_(held_ids))).all()
    for engine in engines.values():
        engine.dispose()
