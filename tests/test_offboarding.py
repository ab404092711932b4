"""Offboarding a processor's controller (Art. 28(3)(g)) on MIRA Software's multi-tenant platform, on
SQLite, PostgreSQL and MariaDB: the contract ends, the tenant's data is returned in a package that
holds its rows and no one else's, then deleted to the last row while every other tenant keeps every
row, and a certificate of deletion cites the audit log.

Whose row is whose is written out here in plain SQL, not computed with datavow's plan, so that a
wrong plan cannot agree with itself.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from dateutil.relativedelta import relativedelta

from datavow import load_map
from datavow.audit import list_entries
from datavow.connectors.sql import connect
from datavow.datamap import LoadedMap
from datavow.demo import build_demo
from datavow.errors import PlanError, RequestError
from datavow.requests.export import read_export
from datavow.retention.offboarding import (
    delete_tenant,
    due_offboardings,
    end_contract,
    export_tenant,
    get_offboarding,
    list_offboardings,
    run_due_offboardings,
)
from datavow.retention.offboarding.certificate import write_certificate
from datavow.secrets import load_key, state_directory
from datavow.store import Store, default_state_url, open_store
from tests.test_demo import TODAY
from tests.test_rights_demo import server_demo

ACTOR = "test:offboarding"
NOW = datetime.combine(TODAY, time(12), tzinfo=UTC)
# The platform's tables whose rows name their tenant in customer_id (customers: in id).
NAMED = ("users", "login_events", "materials", "material_usage", "support_tickets")


class Platform:
    """MIRA's platform database, read with plain SQL."""

    def __init__(self, loaded: LoadedMap) -> None:
        self.engine = connect(loaded.system_url("platform"), system="platform")
        schema = loaded.model.systems["platform"].schema_
        names = ("customers", "user_sessions", *NAMED)
        self.t = {name: sa.Table(name, sa.MetaData(), schema=schema, autoload_with=self.engine) for name in names}

    def rows(self, statement: sa.Select[Any]) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(statement))

    def per_tenant(self) -> dict[str, dict[object, int]]:
        """Per table, rows per tenant (None: rows of no tenant, e.g. a login by an unknown address)."""
        t = self.t
        counts: dict[str, dict[object, int]] = {
            "customers": dict(self.rows(sa.select(t["customers"].c.id, sa.literal(1))))
        }
        for name in NAMED:
            column = t[name].c.customer_id
            counts[name] = dict(self.rows(sa.select(column, sa.func.count()).group_by(column)))
        users, sessions = t["users"], t["user_sessions"]
        joined = sessions.join(users, users.c.id == sessions.c.user_id)
        statement = sa.select(users.c.customer_id, sa.func.count()).select_from(joined).group_by(users.c.customer_id)
        counts["user_sessions"] = dict(self.rows(statement))
        return counts

    def leaving_tenant(self) -> int:
        """A customer whose subscription ended (not IZIT itself, whose staff other tenants' tickets name)."""
        customers, users, sessions = self.t["customers"], self.t["users"], self.t["user_sessions"]
        with_sessions = sa.select(users.c.customer_id).join(sessions, sessions.c.user_id == users.c.id)
        ended = sa.select(customers.c.id).where(
            customers.c.subscription_end.is_not(None), customers.c.id != 1, customers.c.id.in_(with_sessions)
        )
        return int(self.rows(ended.order_by(customers.c.id).limit(1))[0][0])


def only(counts: dict[str, dict[object, int]], tenant: int) -> dict[str, int]:
    return {f"platform.{name}": per[tenant] for name, per in counts.items() if per.get(tenant)}


def without(counts: dict[str, dict[object, int]], tenant: int) -> dict[str, dict[object, int]]:
    return {name: {key: rows for key, rows in per.items() if key != tenant} for name, per in counts.items()}


def check_offboarding(loaded: LoadedMap, tmp_path: Path) -> None:
    platform = Platform(loaded)
    key = load_key(state_directory(loaded.path))
    try:
        tenant = platform.leaving_tenant()
        before = platform.per_tenant()
        theirs = only(before, tenant)
        assert theirs["platform.users"] > 0 and theirs["platform.user_sessions"] > 0, theirs
        with open_store(default_state_url(loaded.path), create=True) as store:
            with pytest.raises(RequestError, match="not in platform.customers"):
                end_contract(store, loaded, "platform", "999999", ended_at=TODAY, actor=ACTOR)
            with pytest.raises(PlanError, match="declares no 'tenant:'"):
                end_contract(store, loaded, "business", str(tenant), ended_at=TODAY, actor=ACTOR)
            with pytest.raises(RequestError, match="never ended"):
                export_tenant(store, loaded, "platform", str(tenant), actor=ACTOR, key=key)

            ended = end_contract(
                store, loaded, "platform", str(tenant), ended_at=date(2025, 12, 1), actor=ACTOR, reason="contract ended"
            )
            assert ended.status == "ended" and ended.controller  # the name, read from customers.name
            assert ended.due_at == datetime(2026, 3, 1, tzinfo=UTC)  # 90 days, the map's default
            with pytest.raises(RequestError, match="ended already"):
                end_contract(store, loaded, "platform", str(tenant), ended_at=TODAY, actor=ACTOR)
            with pytest.raises(RequestError, match="never returned"):
                delete_tenant(store, loaded, "platform", str(tenant), actor=ACTOR)
            with pytest.raises(RequestError, match="not deleted yet"):
                write_certificate(store, loaded, "platform", str(tenant), actor=ACTOR)
            assert platform.per_tenant() == before  # the refusal changed nothing

            # the return: that tenant's rows, all of them, and no one else's
            exported = export_tenant(store, loaded, "platform", str(tenant), actor=ACTOR, key=key)
            assert exported.offboarding.status == "exported"
            assert exported.package.rows == theirs
            archive = zipfile.ZipFile(read_export(exported.package.path, key, tmp_path))
            manifest = json.loads(archive.read("manifest.json"))
            assert {f"{t['system']}.{t['table']}": t["rows"] for t in manifest["tables"]} == theirs
            assert manifest["controller"]["tenant"] == str(tenant)
            assert "Return of your data" in archive.read("return.html").decode()
            for name in NAMED:
                rows = json.loads(archive.read(f"data/platform/{name}.json"))
                assert len(rows) == theirs[f"platform.{name}"]
                assert {row["customer_id"] for row in rows} == {tenant}
            their_users = {row["id"] for row in json.loads(archive.read("data/platform/users.json"))}
            sessions = json.loads(archive.read("data/platform/user_sessions.json"))
            assert sessions and {row["user_id"] for row in sessions} <= their_users
            assert all("password_hash" not in row for row in json.loads(archive.read("data/platform/users.json")))

            # the deletion: nothing of theirs is left, everyone else's is all there
            deletion = delete_tenant(store, loaded, "platform", str(tenant), actor=ACTOR, chunk_rows=7, now=NOW)
            assert deletion.status == "done", deletion.error
            assert deletion.deleted == theirs and deletion.kept == []
            assert deletion.chunks > len(theirs)  # bounded: more than one transaction for the larger tables
            after = platform.per_tenant()
            assert only(after, tenant) == {}
            assert without(after, tenant) == without(before, tenant)
            assert get_offboarding(store, "platform", str(tenant)).status == "deleted"

            again = delete_tenant(store, loaded, "platform", str(tenant), actor=ACTOR, now=NOW)
            assert again.status == "done" and again.changed == 0
            assert platform.per_tenant() == after
            assert [o.tenant for o in list_offboardings(store)] == [str(tenant)]

            certificate = write_certificate(store, loaded, "platform", str(tenant), actor=ACTOR, out_dir=tmp_path)
            check_certificate(store, certificate.json, certificate.html, tenant, theirs)
            assert certificate.facts["returned"]["sha256"] == exported.package.sha256
            assert certificate.facts["controller"]["name"] == ended.controller
            assert get_offboarding(store, "platform", str(tenant)).status == "certified"
    finally:
        platform.engine.dispose()


def check_certificate(store: Store, data: Path, html: Path, tenant: int, theirs: dict[str, int]) -> None:
    """The certificate's facts are the audit log's, each entry cited by its seq and hash."""
    facts = json.loads(data.read_text())
    assert facts["deleted"]["rows"] == theirs and facts["returned"]["rows"] == theirs
    deleted_at = datetime.fromisoformat(facts["deleted"]["at"])
    assert facts["deleted"]["on_time"] == (deleted_at <= datetime.fromisoformat(facts["due_at"]))
    assert facts["kept"] == [] and facts["forced"] is False
    log = {entry.seq: entry for entry in list_entries(store)}
    cited = {entry["seq"]: entry for entry in facts["audit"]}
    for seq, entry in cited.items():
        assert log[seq].hash == entry["hash"] and log[seq].action == entry["action"]
    own = [e for e in log.values() if e.object_type == "tenant" and e.object_id == f"platform:{tenant}"]
    actions = [e.action for e in own]
    assert actions == ["tenant.contract_ended", "tenant.exported", "tenant.deleted", "tenant.certified"]
    assert {e.seq for e in own[:3]} <= set(cited)  # every step, and the sweeps that did the deleting
    assert any(entry["action"] == "retention.swept" for entry in cited.values())
    assert log[own[1].seq].details["sha256"] == facts["returned"]["sha256"]
    chain = facts["chain"]
    assert chain["ok"] is True and log[chain["head"]["seq"]].hash == chain["head"]["hash"]
    assert own[3].seq == chain["head"]["seq"] + 1  # written right after the head it cites
    assert own[3].details["files"][data.name] == hashlib.sha256(data.read_bytes()).hexdigest()
    page = html.read_text()
    assert facts["returned"]["sha256"] in page and chain["head"]["hash"] in page and "verified" in page
    assert (facts["controller"]["name"] or "") in page


def test_offboarding_on_sqlite(tmp_path: Path) -> None:
    (built,) = build_demo(tmp_path / "demo", scale=0.1, today=TODAY, companies=["mira-software"])
    check_offboarding(load_map(built.map_path), tmp_path)


def test_offboarding_on_postgresql(tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with server_demo(tmp_path / "demo", postgres_url, monkeypatch) as maps:
        (software,) = [loaded for loaded in maps if loaded.path.parent.name == "mira-software"]
        check_offboarding(software, tmp_path)


def test_offboarding_on_mariadb(tmp_path: Path, mariadb_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with server_demo(tmp_path / "demo", mariadb_url, monkeypatch) as maps:
        (software,) = [loaded for loaded in maps if loaded.path.parent.name == "mira-software"]
        check_offboarding(software, tmp_path)


def test_the_worker_returns_and_deletes_what_is_due(tmp_path: Path) -> None:
    (built,) = build_demo(tmp_path / "demo", scale=0.1, today=TODAY, companies=["mira-software"])
    loaded = load_map(built.map_path)
    platform = Platform(loaded)
    key = load_key(state_directory(loaded.path))
    engines = {"platform": platform.engine}
    try:
        tenant = platform.leaving_tenant()
        before = platform.per_tenant()
        with open_store(default_state_url(loaded.path), create=True) as store:
            end_contract(store, loaded, "platform", str(tenant), ended_at=date(2026, 1, 15), actor=ACTOR)
            assert due_offboardings(store, NOW) == []  # due 15 April
            assert run_due_offboardings(loaded, engines, store, now=NOW, actor=ACTOR, worker="w", key=key) == []
            assert platform.per_tenant() == before
            later = datetime(2026, 4, 16, tzinfo=UTC)
            (due,) = due_offboardings(store, later)
            assert due.overdue(later) and due.exported_at is None
            (run,) = run_due_offboardings(loaded, engines, store, now=later, actor=ACTOR, worker="w", key=key)
            assert run.status == "done" and run.exported is not None  # returned first, never skipped
            assert run.exported.package.rows == only(before, tenant)
            assert only(platform.per_tenant(), tenant) == {}
            assert due_offboardings(store, later) == []
    finally:
        platform.engine.dispose()


def test_the_tenant_commands(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from datavow.cli import main

    (built,) = build_demo(tmp_path / "demo", scale=0.1, today=TODAY, companies=["mira-software"])
    loaded = load_map(built.map_path)
    platform = Platform(loaded)
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> Any:
        result = runner.invoke(main, ["tenant", *args, "--map", str(built.map_path)])
        assert result.exit_code == code, result.output
        return json.loads(result.output) if "--json" in args else result.output

    try:
        tenant_id = platform.leaving_tenant()
        tenant, before = str(tenant_id), platform.per_tenant()
        run("end", "999999", "--on", "2025-12-01", code=8)  # not a tenant: a refused request
        ended = run("end", tenant, "--on", "2025-12-01", "--reason", "notice", "--actor", "ops:ann", "--json")
        assert ended["due_at"].startswith("2026-03-01") and ended["status"] == "ended"
        (listed,) = run("list", "--json")
        assert listed["tenant"] == tenant and listed["overdue"] == (datetime.now(UTC) >= NOW)
        run("delete", tenant, code=8)  # not returned yet
        exported = run("export", tenant, "--out", str(tmp_path / "out"), "--json")
        assert exported["rows"] == only(before, tenant_id) and Path(exported["package"]).parent == tmp_path / "out"
        deleted = run("delete", tenant, "--chunk-rows", "10", "--json")
        assert deleted["status"] == "done" and deleted["deleted"] == only(before, tenant_id)
        assert only(platform.per_tenant(), tenant_id) == {}
        facts = run("certificate", tenant, "--out", str(tmp_path / "cert"), "--json")
        assert facts["deleted"]["rows"] == only(before, tenant_id) and facts["chain"]["ok"] is True
        assert (tmp_path / "cert" / f"deletion-platform-{tenant}.html").is_file()
        assert [item["status"] for item in run("list", "--json")] == ["certified"]
        assert tenant in run("list")
    finally:
        platform.engine.dispose()


def test_holds_keep_rows_and_the_certificate_says_until_when(tmp_path: Path) -> None:
    from tests.test_retention import with_hold

    (built,) = build_demo(tmp_path / "demo", scale=0.1, today=TODAY, companies=["mira-software"])
    loaded = with_hold(load_map(built.map_path), "login_events", "{purpose: security, keep: 10 years, after: at}")
    platform = Platform(loaded)
    key = load_key(state_directory(loaded.path))
    try:
        tenant = platform.leaving_tenant()
        before = platform.per_tenant()
        events = platform.t["login_events"]
        latest = platform.rows(sa.select(sa.func.max(events.c.at)).where(events.c.customer_id == tenant))[0][0]
        with open_store(default_state_url(loaded.path), create=True) as store:
            end_contract(store, loaded, "platform", str(tenant), ended_at=date(2025, 12, 1), actor=ACTOR)
            deletion = delete_tenant(store, loaded, "platform", str(tenant), actor=ACTOR, force=True, now=NOW)
            assert deletion.status == "done"
            after = platform.per_tenant()
            # every login of theirs is held; so are the users and the customer those logins name
            assert only(after, tenant) == {
                "platform.login_events": before["login_events"][tenant],
                "platform.users": before["users"][tenant],
                "platform.customers": 1,
            }
            assert without(after, tenant) == without(before, tenant)
            kept = {k.table: k for k in deletion.kept}
            assert kept["platform.login_events"].held == before["login_events"][tenant]
            assert kept["platform.login_events"].purpose == "security"
            assert kept["platform.login_events"].until == latest + relativedelta(years=10)
            assert kept["platform.users"].referenced == before["users"][tenant]
            certificate = write_certificate(store, loaded, "platform", str(tenant), actor=ACTOR, out_dir=tmp_path)
            facts = certificate.facts
            assert facts["forced"] is True and facts["returned"] is None
            (held,) = [k for k in facts["kept"] if k["table"] == "platform.login_events"]
            assert held["until"] == (latest + relativedelta(years=10)).isoformat()
            assert "security" in certificate.html.read_text()
            # the worker comes back for them once the hold has ended, and not before
            engines = {"platform": platform.engine}
            assert run_due_offboardings(loaded, engines, store, now=NOW, actor=ACTOR, worker="w", key=key) == []
            ended = datetime.combine(latest + relativedelta(years=10, days=1), time(), tzinfo=UTC)
            (run,) = run_due_offboardings(loaded, engines, store, now=ended, actor=ACTOR, worker="w", key=key)
            assert run.status == "done", (run.error, run.deletion)
            assert only(platform.per_tenant(), tenant) == {}
            assert without(platform.per_tenant(), tenant) == without(before, tenant)
            assert due_offboardings(store, ended) == []
    finally:
        platform.engine.dispose()


def test_a_stopped_deletion_finishes_when_run_again(tmp_path: Path) -> None:
    (built,) = build_demo(tmp_path / "demo", scale=0.1, today=TODAY, companies=["mira-software"])
    loaded = load_map(built.map_path)
    platform = Platform(loaded)
    try:
        tenant = platform.leaving_tenant()
        before = platform.per_tenant()
        asked = iter(range(1000))
        with open_store(default_state_url(loaded.path), create=True) as store:
            end_contract(store, loaded, "platform", str(tenant), ended_at=date(2025, 12, 1), actor=ACTOR)
            first = delete_tenant(
                store,
                loaded,
                "platform",
                str(tenant),
                actor=ACTOR,
                force=True,
                chunk_rows=5,
                stop=lambda: next(asked) >= 4,
            )
            assert first.status == "stopped" and 0 < first.changed < sum(only(before, tenant).values())
            assert get_offboarding(store, "platform", str(tenant)).status == "ended"  # not done yet
            assert without(platform.per_tenant(), tenant) == without(before, tenant)
            second = delete_tenant(store, loaded, "platform", str(tenant), actor=ACTOR, force=True, chunk_rows=5)
            assert second.status == "done" and first.changed + second.changed == sum(only(before, tenant).values())
            assert only(platform.per_tenant(), tenant) == {}
            actions = [e.action for e in list_entries(store, object_type="tenant")]
            assert actions == ["tenant.contract_ended", "tenant.deletion_incomplete", "tenant.deleted"]
            facts = write_certificate(store, loaded, "platform", str(tenant), actor=ACTOR, out_dir=tmp_path).facts
            assert facts["deleted"]["rows"] == only(before, tenant)  # both runs, from the log
    finally:
        platform.engine.dispose()


def test_datavow_worker_offboards_what_is_due(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from datavow.cli import main
    from datavow.store.models import SweepRow

    (built,) = build_demo(tmp_path / "demo", scale=0.1, today=TODAY, companies=["mira-software"])
    loaded = load_map(built.map_path)
    platform = Platform(loaded)
    try:
        customers = platform.t["customers"]
        active = int(
            platform.rows(
                sa.select(customers.c.id)
                .where(customers.c.subscription_end.is_(None), customers.c.id != 1)
                .order_by(customers.c.id)
                .limit(1)
            )[0][0]
        )
        left = platform.leaving_tenant()  # its subscription ended long ago: the retention rules take it first
        assert only(platform.per_tenant(), active)
        with open_store(default_state_url(loaded.path), create=True) as store:
            ended = datetime.now(UTC).date() - relativedelta(days=120)  # due 30 days ago
            for tenant in (active, left):
                end_contract(store, loaded, "platform", str(tenant), ended_at=ended, actor=ACTOR)
        result = CliRunner().invoke(main, ["worker", "--once", "--map", str(loaded.path), "--name", "w1"])
        assert result.exit_code == 0, result.output
        assert result.output.count("offboarding of") == 2, result.output
        assert only(platform.per_tenant(), active) == {} and only(platform.per_tenant(), left) == {}
        with open_store(default_state_url(loaded.path)) as store:
            done = {int(o.tenant): o for o in list_offboardings(store)}
            assert done[active].status == "deleted" and done[active].exported_at is not None
            assert not done[active].forced
            # nothing was left to return of the other: deleted without a package, and recorded so
            assert done[left].status == "deleted" and done[left].exported_at is None and done[left].forced
            with store.session(write=False) as session:
                kinds = sorted({(row.system, row.kind) for row in session.query(SweepRow)})
            assert ("platform", "offboarding") in kinds and ("platform", "retention") in kinds
    finally:
        platform.engine.dispose()
