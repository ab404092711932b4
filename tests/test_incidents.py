"""The incident register on MIRA Software's multi-tenant platform, on SQLite, PostgreSQL and MariaDB:
a breach that affects two tenants gives two controller notices, each naming only that tenant's people
and counts, and an authority notice with every field of Art. 33(3) filled; the stages refuse to be
skipped; a late notice states its reasons; the register exports; every step is in the audit chain.

What the right counts are is written out here with plain SQL and Python sets, not with datavow's
counting, so that a wrong count cannot agree with itself.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pypdfium2
import pytest
import sqlalchemy as sa

from datavow import load_map
from datavow.audit import list_entries, verify_chain
from datavow.connectors.sql import connect
from datavow.datamap import LoadedMap
from datavow.demo import build_demo
from datavow.incidents import (
    IncidentError,
    analyse_incident,
    classify_incident,
    close_incident,
    export_register,
    get_incident,
    notify,
    open_incident,
    parse_moment,
    resolve_incident,
    resolve_scope,
)
from datavow.store import Store, open_store
from tests.test_demo import TODAY
from tests.test_rights_demo import server_demo

ACTOR = "test:incidents"
AWARE = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
LATER = AWARE + timedelta(hours=20)  # "now" for the steps: before the 72 hours are up
TABLES = ["platform.users", "platform.user_sessions", "platform.login_events"]


@pytest.fixture(scope="module")
def mira(tmp_path_factory: pytest.TempPathFactory) -> LoadedMap:
    """MIRA Software on SQLite, built once: an incident reads its databases and never writes them."""
    (built,) = build_demo(tmp_path_factory.mktemp("demo"), scale=0.1, today=TODAY, companies=["mira-software"])
    return load_map(built.map_path)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(f"sqlite:///{tmp_path / 'state.db'}") as opened:
        yield opened


# --------------------------------------------------------------------------- the truth, in plain SQL


def expected(loaded: LoadedMap, tenant: int) -> dict[str, Any]:
    """Per table, records and people of ``tenant``; and the people across the three tables."""
    engine = connect(loaded.system_url("platform"), system="platform")
    schema = loaded.model.systems["platform"].schema_
    t = {
        n: sa.Table(n, sa.MetaData(), schema=schema, autoload_with=engine)
        for n in ("users", "user_sessions", "login_events")
    }
    users, sessions, logins = t["users"], t["user_sessions"], t["login_events"]
    try:
        with engine.connect() as conn:
            their_users = {
                r.id: r.email.strip().lower()
                for r in conn.execute(sa.select(users).where(users.c.customer_id == tenant))
            }
            all_users = {r.id: r.email.strip().lower() for r in conn.execute(sa.select(users.c.id, users.c.email))}
            their_sessions = [
                r.user_id for r in conn.execute(sa.select(sessions.c.user_id)) if r.user_id in their_users
            ]
            their_logins = list(
                conn.execute(sa.select(logins.c.user_id, logins.c.email_entered).where(logins.c.customer_id == tenant))
            )
    finally:
        engine.dispose()
    login_people = {
        all_users[r.user_id] if r.user_id is not None else r.email_entered.strip().lower() for r in their_logins
    }
    session_people = {their_users[u] for u in their_sessions}
    return {
        "platform.users": (len(their_users), len(set(their_users.values()))),
        "platform.user_sessions": (len(their_sessions), len(session_people)),
        "platform.login_events": (len(their_logins), len(login_people)),
        "people": len(set(their_users.values()) | session_people | login_people),
    }


def two_tenants(loaded: LoadedMap) -> tuple[str, str, dict[str, str]]:
    """Two customers with users, sessions and logins (not IZIT itself), and every customer's name."""
    engine = connect(loaded.system_url("platform"), system="platform")
    schema = loaded.model.systems["platform"].schema_
    try:
        customers = sa.Table("customers", sa.MetaData(), schema=schema, autoload_with=engine)
        with engine.connect() as conn:
            names = {str(r.id): r.name for r in conn.execute(sa.select(customers.c.id, customers.c.name))}
    finally:
        engine.dispose()
    chosen = [t for t in sorted(names, key=int) if t != "1" and all(expected(loaded, int(t))[k][0] for k in TABLES)]
    return chosen[0], chosen[1], names


def counts_in(html: str) -> dict[str, tuple[int, int]]:
    """The counts table of a notice: table -> (records, people)."""
    found = {}
    for row in re.findall(r"<tr>\s*<td>(platform\.\w+)</td>(.*?)</tr>", html, flags=re.DOTALL):
        numbers = re.findall(r'<td class="n">([\d,–]+)</td>', row[1])
        people, records = (int(n.replace(",", "")) for n in numbers)
        found[row[0]] = (records, people)
    return found


def rendered(pdf: Path) -> tuple[tuple[int, int], int]:
    """Page 1 of a PDF as an image: its size, and how many of its pixels are not white."""
    page = pypdfium2.PdfDocument(str(pdf))[0]
    image = page.render(scale=0.5).to_pil().convert("L")
    return image.size, sum(image.histogram()[:200])


# --------------------------------------------------------------------------- the must-show


def check_two_tenant_incident(loaded: LoadedMap, store: Store, out: Path) -> None:
    a, b, names = two_tenants(loaded)
    truth = {a: expected(loaded, int(a)), b: expected(loaded, int(b))}
    registered = open_incident(
        store,
        "Login log readable through a debug endpoint",
        "A debug endpoint left enabled after a release served user and login records without authentication.",
        aware_at=AWARE,
        zone="Europe/Brussels",
        actor=ACTOR,
        now=AWARE + timedelta(hours=3),
    )
    scope = resolve_scope(loaded, tables=TABLES, tenants=[a, b])
    analysed = analyse_incident(store, loaded, registered.id, scope, actor=ACTOR, now=LATER)
    assert [(c["tenant"], c["name"]) for c in analysed.controllers] == [(a, names[a]), (b, names[b])]
    impact = analysed.impact or {}
    for row in impact["tables"]:
        assert row["by_tenant"][a] == dict(zip(("records", "people"), truth[a][row["table"]], strict=True))
        assert row["by_tenant"][b] == dict(zip(("records", "people"), truth[b][row["table"]], strict=True))
    assert impact["systems"]["platform"]["by_tenant"] == {a: truth[a]["people"], b: truth[b]["people"]}
    assert impact["people"] == truth[a]["people"] + truth[b]["people"]
    assert impact["roles"] == ["controller", "processor"]  # processor for the tenants, controller for security

    classify_incident(
        store,
        registered.id,
        risk="high",
        reasoning="E-mail addresses with login times and IP addresses allow targeted phishing.",
        kinds=["confidentiality"],
        consequences="Targeted phishing e-mails to the users whose addresses were exposed.",
        measures="The endpoint was disabled within the hour; all sessions were revoked.",
        actor=ACTOR,
        now=LATER,
    )
    documents = notify(store, loaded, registered.id, "controllers", actor=ACTOR, out_dir=out, now=LATER)
    assert [(d.tenant, d.late) for d in documents] == [(a, False), (b, False)]
    for document, mine, other in ((documents[0], a, b), (documents[1], b, a)):
        html = document.files["html"].read_text()
        assert names[mine] in html and names[other] not in html
        counts = counts_in(html)
        assert counts == {table: truth[mine][table] for table in TABLES}, (mine, counts)
        assert f"About {truth[mine]['people']} of your people" in html
        size, ink = rendered(document.files["pdf"])
        assert size[0] > 200 and ink > 1000

    (authority,) = notify(store, loaded, registered.id, "authority", actor=ACTOR, out_dir=out, now=LATER)
    html = authority.files["html"].read_text()
    sections = dict(re.findall(r"<h2>\(([a-d])\)[^<]*</h2>(.*?)(?=<h2>|</body>)", html, flags=re.DOTALL))
    assert sorted(sections) == ["a", "b", "c", "d"]
    cells = re.findall(r"<th>([^<]+)</th><td>(.*?)</td>", sections["a"], flags=re.DOTALL)
    assert len(cells) >= 8 and all(value.strip() for _, value in cells), cells
    facts = dict(cells)
    assert facts["Approximate number of people"] == str(impact["people"])
    assert facts["Approximate number of records"] == str(impact["records"])
    assert "User Contact Email" in facts["Categories of personal data"]
    assert "Users of the MIRA platform" in facts["Categories of people concerned"]
    assert loaded.model.organization.contact.email in sections["b"]
    assert "Targeted phishing" in sections["c"] and "endpoint was disabled" in sections["d"]
    assert "2026-03-02 09:30 CET (+01:00)" in html  # awareness, in the incident's zone
    assert rendered(authority.files["pdf"])[1] > 1000

    current = get_incident(store, registered.id)
    assert current.authority_clock(LATER).status == "done"
    assert {c.status for _, c in current.controller_clocks(LATER)} == {"done"}


def test_two_tenants_on_sqlite(mira: LoadedMap, store: Store, tmp_path: Path) -> None:
    check_two_tenant_incident(mira, store, tmp_path)
    assert verify_chain(store).ok


def test_two_tenants_on_postgresql(tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with server_demo(tmp_path / "demo", postgres_url, monkeypatch) as maps:
        (software,) = [loaded for loaded in maps if loaded.path.parent.name == "mira-software"]
        with open_store(postgres_url) as store:  # the state store on PostgreSQL too
            check_two_tenant_incident(software, store, tmp_path)
            assert verify_chain(store).ok


def test_two_tenants_on_mariadb(tmp_path: Path, mariadb_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with server_demo(tmp_path / "demo", mariadb_url, monkeypatch) as maps:
        (software,) = [loaded for loaded in maps if loaded.path.parent.name == "mira-software"]
        with open_store(f"sqlite:///{tmp_path / 'state.db'}") as store:
            check_two_tenant_incident(software, store, tmp_path)


# --------------------------------------------------------------------------- the clock


def test_the_clock_counts_72_real_hours_from_awareness_across_the_spring_dst_change(store: Store) -> None:
    aware = parse_moment("2026-03-28 10:00", "Europe/Amsterdam")
    assert aware == datetime(2026, 3, 28, 9, 0, tzinfo=UTC)
    registered_at = datetime(2026, 3, 29, 15, 0, tzinfo=UTC)  # registered a day and more later
    incident = open_incident(
        store, "Laptop stolen", "An unencrypted laptop.", aware_at=aware, zone="Europe/Amsterdam", actor=ACTOR,
        now=registered_at,
    )  # fmt: skip
    due = incident.authority_clock(registered_at).due_at
    assert due == datetime(2026, 3, 31, 9, 0, tzinfo=UTC) and due - incident.aware_at == timedelta(hours=72)
    from datavow.incidents.clock import shown

    # 10:00 CET on the 28th; the clocks go forward on the 29th: 72 hours later it is 11:00 CEST
    assert shown(incident.aware_at, incident.zone) == "2026-03-28 10:00 CET (+01:00)"
    assert shown(due, incident.zone) == "2026-03-31 11:00 CEST (+02:00)"
    assert incident.authority_clock(registered_at).status == "running"
    assert incident.authority_clock(due - timedelta(hours=23)).status == "due_soon"
    assert incident.authority_clock(due + timedelta(seconds=1)).status == "overdue"


def test_the_clock_across_the_autumn_change_and_in_other_zones() -> None:
    from datavow.incidents.clock import clock, shown

    aware = parse_moment("2026-10-24T10:00[Europe/Stockholm]")
    due = clock("authority", aware, 72, required=True, done_at=None, now=aware).due_at
    assert due is not None and due - aware == timedelta(hours=72)
    assert shown(due, "Europe/Stockholm") == "2026-10-27 09:00 CET (+01:00)"  # an hour earlier on the wall
    # the same moment written three ways is one moment, with one deadline
    same = [
        parse_moment("2026-10-24T10:00+02:00"),
        parse_moment("2026-10-24 04:00 America/New_York"),
        parse_moment("2026-10-24T17:00", "Asia/Tokyo"),
    ]
    assert set(same) == {aware}
    assert shown(due, "America/New_York") == "2026-10-27 04:00 EDT (-04:00)"


@pytest.mark.parametrize(
    ("text", "zone", "message"),
    [
        ("2026-03-28 10:00", None, "has no time zone"),
        ("2026-03-29 02:30", "Europe/Amsterdam", "does not exist"),
        ("2026-10-25 02:30", "Europe/Amsterdam", "happens twice"),
        ("2026-03-28 10:00", "Mars/Olympus", "not a time zone"),
        ("yesterday", "UTC", "not a time"),
        ("2026-03-28T10:00+05:00[Europe/Amsterdam]", None, "does not match"),
    ],
)
def test_times_without_a_clear_zone_are_refused(text: str, zone: str | None, message: str) -> None:
    with pytest.raises(IncidentError, match=message):
        parse_moment(text, zone)


def test_a_naive_awareness_is_refused_by_the_library(store: Store) -> None:
    with pytest.raises(IncidentError, match="timezone-aware"):
        open_incident(store, "x", "y", aware_at=datetime(2026, 3, 1, 10, 0), actor=ACTOR)


# --------------------------------------------------------------------------- the stages


def test_stages_cannot_be_skipped_and_a_late_notice_needs_its_reasons(
    mira: LoadedMap, store: Store, tmp_path: Path
) -> None:
    now = AWARE + timedelta(hours=100)
    incident = open_incident(
        store, "Mail sent to the wrong list", "A newsletter.", aware_at=AWARE, actor=ACTOR, now=now
    )
    with pytest.raises(IncidentError, match="is registered, so it cannot classify now — analyse it first"):
        classify_incident(store, incident.id, risk="risk", reasoning="r", kinds=["confidentiality"], actor=ACTOR)
    with pytest.raises(IncidentError, match="cannot resolve now"):
        resolve_incident(store, incident.id, resolution="done", actor=ACTOR)
    with pytest.raises(IncidentError, match="cannot close now"):
        close_incident(store, incident.id, lessons="l", procedure_changes="c", actor=ACTOR)
    with pytest.raises(IncidentError, match="not analysed yet"):
        notify(store, mira, incident.id, "controllers", actor=ACTOR, out_dir=tmp_path, now=now)
    scope = resolve_scope(
        mira, tables=["platform.login_events"], tenants=["2", "3"], since=AWARE - timedelta(days=90), until=AWARE
    )
    analyse_incident(store, mira, incident.id, scope, actor=ACTOR, now=now)
    with pytest.raises(IncidentError, match=r"likely consequences \(Art. 33\(3\)\(c\)\) is required"):
        classify_incident(store, incident.id, risk="risk", reasoning="r", kinds=["confidentiality"], actor=ACTOR)
    with pytest.raises(IncidentError, match="only at high risk"):
        classify_incident(
            store, incident.id, risk="risk", reasoning="r", kinds=["integrity"], consequences="c", measures="m",
            exemption="encrypted", exemption_reason="AES", actor=ACTOR,
        )  # fmt: skip
    classified = classify_incident(
        store, incident.id, risk="high", reasoning="r", kinds=["confidentiality"], consequences="c", measures="m",
        exemption="encrypted", exemption_reason="the list was encrypted", actor=ACTOR,
    )  # fmt: skip
    assert classified.notify_authority is True and classified.notify_people is False  # 34(3)(a)
    with pytest.raises(IncidentError, match="cannot be resolved before telling the authority"):
        resolve_incident(store, incident.id, resolution="done", actor=ACTOR)
    # 100 hours after awareness: the notice is late, and says why
    with pytest.raises(IncidentError, match="reasons for the delay — give them"):
        notify(store, mira, incident.id, "authority", actor=ACTOR, out_dir=tmp_path, now=now)
    (late,) = notify(
        store, mira, incident.id, "authority", actor=ACTOR, out_dir=tmp_path, now=now, final=False,
        delay_reason="The list owner was on leave and the breach was confirmed only on day four.",
    )  # fmt: skip
    assert late.late and late.phase == 1
    assert "The list owner was on leave" in late.files["html"].read_text()
    (second,) = notify(store, mira, incident.id, "authority", actor=ACTOR, out_dir=tmp_path, now=now)
    assert second.phase == 2 and not second.late  # a later phase (33(4)) is not the late first notice
    notify(store, mira, incident.id, "controllers", actor=ACTOR, out_dir=tmp_path, now=now, delay_reason="leave")
    resolve_incident(store, incident.id, resolution="The list was recalled.", actor=ACTOR, now=now)
    closed = close_incident(
        store, incident.id, lessons="Two-person check.", procedure_changes="Step 4 adds it.", actor=ACTOR
    )
    assert closed.stage == "evaluated" and closed.clocks(now) == []
    with pytest.raises(IncidentError, match="it is closed"):
        analyse_incident(store, mira, incident.id, scope, actor=ACTOR)
    with pytest.raises(IncidentError, match="closed"):
        notify(store, mira, incident.id, "people", actor=ACTOR, out_dir=tmp_path)

    actions = [e.action for e in list_entries(store, object_type="incident", object_id=str(incident.id))]
    assert actions[:3] == ["incident.registered", "incident.analysed", "incident.classified"]
    assert actions.count("incident.notified") == 2 + len(closed.controllers)
    assert actions[-2:] == ["incident.resolved", "incident.evaluated"]
    (notified, *_) = list_entries(store, action="incident.notified")
    assert notified.reason and "on leave" in notified.reason and notified.details["late"] is True
    assert verify_chain(store).ok


def test_a_processor_only_breach_leaves_the_authority_to_the_controllers(mira: LoadedMap, store: Store) -> None:
    incident = open_incident(store, "Materials list", "Exposed.", aware_at=AWARE, actor=ACTOR, now=LATER)
    analyse_incident(store, mira, incident.id, resolve_scope(mira, tables=["platform.users"]), actor=ACTOR, now=LATER)
    done = classify_incident(
        store,
        incident.id,
        risk="high",
        reasoning="r",
        kinds=["availability"],
        consequences="c",
        measures="m",
        actor=ACTOR,
    )
    assert done.notify_authority is False and done.notify_people is False  # Art. 33(2): tell the controllers
    assert done.authority_clock(LATER).status == "not_required"
    # 20 hours after awareness, 4 of the controllers' 24 are left: due soon
    assert len(done.controllers) > 2 and [c.status for c in done.clocks(LATER)] == ["due_soon"] * len(done.controllers)
    assert all(c.status == "running" for c in done.clocks(AWARE + timedelta(hours=1)))  # 23 of 24 hours left


def test_a_window_counts_only_its_rows(mira: LoadedMap, store: Store) -> None:
    since, until = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    engine = connect(mira.system_url("platform"), system="platform")
    try:
        with engine.connect() as conn:
            (rows,) = conn.execute(
                sa.text("SELECT count(*) FROM login_events WHERE at >= :s AND at < :u"),
                {"s": since.replace(tzinfo=None), "u": until.replace(tzinfo=None)},
            ).one()
    finally:
        engine.dispose()
    incident = open_incident(store, "Logs", "Exposed.", aware_at=AWARE, actor=ACTOR, now=LATER)
    scope = resolve_scope(mira, tables=["platform.login_events"], since=since, until=until)
    done = analyse_incident(store, mira, incident.id, scope, actor=ACTOR)
    assert (done.impact or {})["records"] == rows > 0
    with pytest.raises(IncidentError, match="no time column"):
        resolve_scope(mira, tables=["platform.users"], since=since)
    with pytest.raises(IncidentError, match="not a table of the map"):
        resolve_scope(mira, tables=["platform.nothing"])
    with pytest.raises(IncidentError, match="is not in platform.customers"):
        analyse_incident(
            store, mira, incident.id, resolve_scope(mira, tables=["platform.users"], tenants=["9999"]), actor=ACTOR
        )


# --------------------------------------------------------------------------- the register


def test_the_register_exports_as_csv_and_pdf(mira: LoadedMap, store: Store, tmp_path: Path) -> None:
    first = open_incident(
        store, "Stolen laptop", "Laptop, café", aware_at=AWARE, zone="Europe/Brussels", actor=ACTOR, now=LATER
    )
    analyse_incident(store, mira, first.id, resolve_scope(mira, tables=["business.contacts"]), actor=ACTOR)
    classify_incident(
        store, first.id, risk="none", reasoning="The disk was encrypted.", kinds=["availability"], actor=ACTOR
    )
    second = open_incident(store, "Wrong recipient", 'An invoice, "quoted"', aware_at=LATER, actor=ACTOR, now=LATER)
    paths = export_register(
        store, actor=ACTOR, organization="MIRA Software", csv_path=tmp_path / "r.csv", pdf_path=tmp_path / "r.pdf"
    )
    assert paths == [tmp_path / "r.csv", tmp_path / "r.pdf"]
    with (tmp_path / "r.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["id"] for row in rows] == [str(second.id), str(first.id)]  # the latest awareness first
    by_id = {row["id"]: row for row in rows}
    assert by_id[str(first.id)]["risk"] == "none" and by_id[str(first.id)]["notify_authority"] == "no"
    assert by_id[str(first.id)]["description"] == "Laptop, café"
    assert by_id[str(second.id)]["description"] == 'An invoice, "quoted"'
    assert datetime.fromisoformat(by_id[str(first.id)]["authority_deadline"]) == AWARE + timedelta(hours=72)
    assert int(by_id[str(first.id)]["records"]) > 0 and "user.contact.email" in by_id[str(first.id)]["categories"]
    size, ink = rendered(tmp_path / "r.pdf")
    assert size[0] > 200 and ink > 1000
    (entry,) = list_entries(store, action="incident.register_exported")
    assert set(entry.details["files"]) == {"r.csv", "r.pdf"} and entry.details["incidents"] == 2
