"""The planner and discovery, against real SQLite, PostgreSQL and MariaDB databases.

Most tests run on a small world written here, where every expected row is known: a shop (in a
non-default schema on the servers), a CRM in another database (cross-system references, e-mail
addresses typed differently) and a multi-tenant SaaS. The demo companies then show the same on
realistic data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from rich.console import Console
from sqlalchemy.pool import NullPool

from datavow import load_map
from datavow.connectors.databases import Databases
from datavow.connectors.sql import connect
from datavow.datamap.load import LoadedMap
from datavow.datamap.resolve import BUILTIN_IDENTITIES
from datavow.demo import build_demo
from datavow.errors import PlanError, RequestError
from datavow.plan import (
    Discovery,
    Selection,
    compile_plan,
    discover,
    explain,
    parse_identities,
    render_plan,
)
from datavow.plan import sql as plan_sql
from datavow.plan.identities import BUILTIN_FORMATS
from datavow.plan.sql import reflect_table, selection_clauses
from tests.test_demo import SAME_PEOPLE, TODAY, built_on_server

JANE = "jane@example.com"

# --------------------------------------------------------------------------- the small world

# table -> (columns, primary key, rows); every column an integer unless named in TEXT
TEXT = {"name", "email", "nickname", "voucher_code", "code", "product", "carrier", "body", "phone", "author_email"}
WORLD: dict[str, dict[str, tuple[tuple[str, ...], tuple[str, ...], list[tuple[Any, ...]]]]] = {
    "shop": {
        "companies": (("id", "name"), ("id",), [(1, "Acme")]),
        "profiles": (
            ("id", "nickname"),
            ("id",),
            [(1, "janie"), (2, "bobby"), (3, "Robert'); DROP TABLE customers;--")],
        ),
        "customers": (
            ("id", "email", "member_no", "company_id", "profile_id", "referred_by"),
            ("id",),
            [
                (1, JANE, 1001, 1, 1, None),
                (2, "bob@example.com", 1002, 1, 2, 1),  # referred by Jane: not Jane's
                (3, "o'brien@example.com", 1003, 1, None, None),
                (4, "carol@example.com", 1004, 1, 3, None),
                (5, "j.doe@oldmail.example", 1005, None, None, None),  # Jane's old account, known to the CRM
                (6, "bulk@example.com", 1006, None, None, None),
                (7, "dave@example.com", 1007, None, None, None),
            ],
        ),
        "orders": (
            ("id", "customer_id", "voucher_code"),
            ("id",),
            [(10, 1, None), (11, 1, "V1"), (12, 2, None), (13, None, None), (14, 5, None), (15, 3, "V2")]
            + [(1000 + i, 6, None) for i in range(2500)],
        ),
        "order_lines": (
            ("order_id", "line_no", "product"),
            ("order_id", "line_no"),
            [(10, 1, "pen"), (10, 2, "ink"), (11, 1, "pad"), (12, 1, "pen"), (15, 1, "ink")]
            + [(1000 + i, 1, "bulk") for i in range(2500)],
        ),
        "shipments": (
            ("id", "order_id", "line_no", "carrier"),
            ("id",),
            [(100, 10, 1, "post"), (101, 10, None, "post"), (102, 12, 1, "post"), (103, 11, 2, "courier")]
            + [(10_000 + i, 1000 + i, 1, "bulk") for i in range(2500)],
        ),
        "vouchers": (("id", "code"), ("id",), [(1, "V1"), (2, None), (3, "V2")]),
        # bought by Bob for Jane (found by her address), by Jane for Carol
        "gift_cards": (
            ("id", "email", "buyer_id", "recipient_id"),
            ("id",),
            [(1, JANE, 2, 1), (2, "carol@x.org", 1, 4)],
        ),
        "tickets": (("id", "customer_id", "last_message_id"), ("id",), [(1, 1, 2), (2, None, 1), (3, 2, 4)]),
        "messages": (
            ("id", "ticket_id", "body"),
            ("id",),
            [(1, 1, "hello"), (2, 1, "thanks"), (3, 2, "merged"), (4, 3, "bob here")],
        ),
        "staff": (("id", "email"), ("id",), [(1, "sam@shop.example")]),
        "visits": (("id", "customer_id", "staff_id"), ("id",), [(1, 1, 1), (2, 4, 1)]),
    },
    "crm": {
        "leads": (
            ("id", "email", "phone", "shop_customer_id", "owner_staff"),
            ("id",),
            [
                (1, "Jane@Example.com ", "+32 470 12 34 56", 1, None),
                (2, " JANE@EXAMPLE.COM", None, None, None),
                (3, "jane.doe@work.example", "0032 470 123 456", 1, None),
                (4, JANE, None, 5, None),
                (5, "dave@example.com", "+32 470 99 99 99", 7, 1),  # Sam follows Dave up
            ],
        ),
        "lead_notes": (("id", "lead_id", "body"), ("id",), [(1, 1, "met at a fair"), (2, 3, "called"), (3, 5, "dave")]),
    },
    "saas": {
        "tenants": (("id", "name"), ("id",), [(1, "T1"), (2, "T2")]),
        "accounts": (("id", "tenant_id", "email"), ("id",), [(1, 1, JANE), (2, 2, JANE), (3, 1, "bob@example.com")]),
        "events": (("id", "account_id"), ("id",), [(1, 1), (2, 2), (3, 3), (4, 1)]),
        "notes": (
            ("id", "tenant_ref", "author_email"),
            ("id",),
            [(1, 1, JANE), (2, 2, "Jane@Example.com"), (3, 1, "bob@example.com")],
        ),
    },
}

# What the map says about each table beyond its fields.
TABLES: dict[str, dict[str, dict[str, Any]]] = {
    "shop": {
        "companies": {},
        "profiles": {"subject": "customer", "identity": {"nickname": "nickname"}},
        "customers": {
            "subject": "customer",
            "identity": {"email": "email", "member_no": "member_no"},
            "references": {"company_id": "companies.id", "profile_id": "profiles.id", "referred_by": "customers.id"},
        },
        "orders": {"subject": "customer", "references": {"customer_id": "customers.id"}},
        "order_lines": {"primary_key": ["order_id", "line_no"], "references": {"order_id": "orders.id"}},
        "shipments": {"references": {"line": {"columns": ["order_id", "line_no"], "to": "order_lines"}}},
        "vouchers": {"references": {"code": "orders.voucher_code"}},
        "gift_cards": {
            "subject": "customer",
            "identity": {"email": "email"},
            "references": {"buyer_id": "customers.id", "recipient_id": "customers.id"},
        },
        "tickets": {
            "subject": "customer",
            "references": {"customer_id": "customers.id", "last_message_id": "messages.id"},
        },
        "messages": {"references": {"ticket_id": "tickets.id"}},
        "staff": {"subject": "staff", "identity": {"email": "email"}},
        "visits": {"subject": "customer", "references": {"customer_id": "customers.id", "staff_id": "staff.id"}},
    },
    "crm": {
        "leads": {
            "subject": "customer",
            "identity": {"email": "email", "phone": "phone"},
            "references": {"shop_customer_id": "shop.customers.id", "owner_staff": "shop.staff.id"},
        },
        "lead_notes": {"subject": "customer", "references": {"lead_id": "leads.id"}},
    },
    "saas": {
        "tenants": {},
        "accounts": {
            "subject": "member",
            "identity": {"email": "email"},
            "tenant_column": "tenant_id",
            "references": {"tenant_id": "tenants.id"},
        },
        "events": {"subject": "member", "references": {"account_id": "accounts.id"}},
        "notes": {
            "subject": "member",
            "identity": {"email": "author_email"},
            "references": {"tenant_ref": "tenants.id"},
        },
    },
}

# Jane, asked for by e-mail in the shop and the CRM: the rows that are hers, by key.
JANE_ROWS: dict[str, set[Any]] = {
    "shop.customers": {1, 5},  # 5 through the CRM lead it owns (an owner link: same subject, its only owner)
    "shop.profiles": {1},
    "shop.orders": {10, 11, 14},
    "shop.order_lines": {(10, 1), (10, 2), (11, 1)},
    "shop.shipments": {100},  # not 101 (line NULL) nor 103 (order 11 has no line 2)
    "shop.vouchers": {1},  # not 2, whose code is NULL like order 10's
    "shop.gift_cards": {1},  # found by her address; buyer and recipient are both customers: ambiguous, not followed
    "shop.tickets": {1},  # not 2, whose last message is one of ticket 1's: that reference only links
    "shop.messages": {1, 2},
    "shop.staff": set(),
    "shop.visits": {1},
    "crm.leads": {1, 2, 3, 4},  # 1, 2 typed differently; 3 through shop.customers 1
    "crm.lead_notes": {1, 2},
}


def world_map(schemas: dict[str, str | None], **changes: dict[str, Any]) -> dict[str, Any]:
    """The world's data map; ``changes`` adds or replaces tables, by ``system__table``."""
    systems: dict[str, Any] = {}
    for system, tables in TABLES.items():
        entry: dict[str, Any] = {"url": f"${{PLAN_{system.upper()}_URL}}", "tables": {}}
        if schemas.get(system):
            entry["schema"] = schemas[system]
        if system == "saas":
            entry["tenant"] = {"table": "tenants", "key": "id"}
        for name, spec in tables.items():
            entry["tables"][name] = {**spec, "fields": {column: None for column in WORLD[system][name][0]}}
        systems[system] = entry
    for key, spec in changes.items():
        system, name = key.split("__")
        systems[system]["tables"][name] = spec
    return {
        "organization": {"name": "Shop bv", "country": "BE", "contact": {"email": "privacy@shop.example"}},
        "identities": {"member_no": {"format": "integer"}, "nickname": {"format": "text"}, "loyalty_card": {}},
        "subjects": {"customer": "Customers", "staff": "Staff", "member": "Members of the SaaS"},
        "systems": systems,
    }


@dataclass
class World:
    kind: str
    loaded: LoadedMap
    connections: dict[str, sa.Connection]
    folder: Path
    schemas: dict[str, str | None]

    def reload(self, **changes: dict[str, Any]) -> LoadedMap:
        path = self.folder / "changed.yaml"
        path.write_text(yaml.safe_dump(world_map(self.schemas, **changes)), encoding="utf-8")
        return load_map(path)

    def run(self, email: str | list[str] | None = None, *, systems: list[str] | None = None, **given: Any) -> Discovery:
        if email:
            given["email"] = [email] if isinstance(email, str) else email
        identities = parse_identities(self.loaded, given)
        plan = compile_plan(self.loaded, list(identities), systems=systems or ["shop", "crm"])
        return discover(self.loaded, plan, identities, self.connections)

    def keys(self, discovery: Discovery, label: str) -> set[Any]:
        return selected_keys(self.loaded, discovery, self.connections, label)


def selected_keys(
    loaded: LoadedMap, discovery: Discovery, connections: dict[str, sa.Connection], label: str
) -> set[Any]:
    """The keys of the rows a step's selection holds, read as erasure and export read them: one
    statement per clause. Fails when two clauses share a row."""
    selection = next(sel for sel in discovery.selections.values() if sel.step.label == label)
    connection = connections[selection.step.table[0]]
    table = reflect_table(loaded, selection.step, connection)
    key = [table.c[column] for column in selection.step.key]
    found: list[Any] = []
    for clause in selection_clauses(table, selection, connection.dialect.name):
        found += [row[0] if len(row) == 1 else tuple(row) for row in connection.execute(sa.select(*key).where(clause))]
    assert len(found) == len(set(found)), f"{label}: a row is in two clauses"
    return set(found)


def _create(url: str, system: str, schema: str | None) -> None:
    metadata = sa.MetaData(schema=schema)
    tables = []
    for name, (columns, key, _) in WORLD[system].items():
        typed = [
            sa.Column(column, sa.String(200) if column in TEXT else sa.Integer, primary_key=column in key)
            for column in columns
        ]
        tables.append(sa.Table(name, metadata, *typed))
    engine = sa.create_engine(url, poolclass=NullPool)
    with engine.begin() as connection:
        metadata.create_all(connection)
        for table in tables:
            columns, _, rows = WORLD[system][table.name]
            connection.execute(table.insert(), [dict(zip(columns, row, strict=True)) for row in rows])
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def world(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    kind = request.param
    with ExitStack() as stack:
        urls: dict[str, str] = {}
        schemas: dict[str, str | None] = {"shop": None, "crm": None, "saas": None}
        if kind == "sqlite":
            urls = {system: f"sqlite:///{tmp_path / system}.db" for system in WORLD}
        elif kind == "postgresql":
            url = request.getfixturevalue("postgres_url")
            urls = dict.fromkeys(WORLD, url)
            schemas.update(shop="shop_data", saas="saas_data")  # crm in public
            engine = sa.create_engine(url, poolclass=NullPool)
            with engine.begin() as connection:
                for schema in ("shop_data", "saas_data"):
                    connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
            engine.dispose()
        else:
            url = request.getfixturevalue("mariadb_url")
            server = request.getfixturevalue("mariadb_server")
            urls = dict.fromkeys(WORLD, url)
            for system in ("shop", "saas"):  # a MariaDB schema is a database of the server
                schemas[system] = server.create_database(f"dv_plan_{system}")
                stack.callback(server.drop_database, schemas[system])
        for system, url in urls.items():
            _create(url, system, schemas[system])
            monkeypatch.setenv(f"PLAN_{system.upper()}_URL", url)
        path = tmp_path / "datavow.yaml"
        path.write_text(yaml.safe_dump(world_map(schemas)), encoding="utf-8")
        loaded = load_map(path)
        connections = {}
        databases = stack.enter_context(Databases())  # engines that keep what they reflect, as datavow's do
        for system in WORLD:
            engine = databases.engine(loaded.system_url(system), system=system)
            connections[system] = stack.enter_context(engine.connect())
        yield World(kind, loaded, connections, tmp_path, schemas)


@pytest.fixture
def world_map_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LoadedMap:
    """The world's map, for tests that only plan (no database is touched)."""
    for system in WORLD:
        monkeypatch.setenv(f"PLAN_{system.upper()}_URL", f"sqlite:///{tmp_path / system}.db")
    path = tmp_path / "datavow.yaml"
    path.write_text(yaml.safe_dump(world_map({})), encoding="utf-8")
    return load_map(path)


# --------------------------------------------------------------------------- identities


def test_identities_are_checked_and_normalised(world_map_only: LoadedMap) -> None:
    parsed = parse_identities(
        world_map_only,
        {
            "email": [" Jane@Example.COM ", "o'brien@example.com"],
            "phone": ["+32 (470) 12-34-56"],
            "member_no": [" 1002 "],
            "nickname": "Robert'); DROP TABLE customers;--",  # one value may be given bare
        },
    )
    assert parsed == {
        "email": frozenset({JANE, "o'brien@example.com"}),
        "phone": frozenset({"+32470123456"}),
        "member_no": frozenset({1002}),
        "nickname": frozenset({"Robert'); DROP TABLE customers;--"}),
    }
    assert set(BUILTIN_FORMATS) == set(BUILTIN_IDENTITIES)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"email": ["jane@"]}, "'jane@' is not an e-mail address"),
        ({"email": ["jane @example.com"]}, "'jane @example.com' is not an e-mail address"),
        ({"email": ["jane@example"]}, "is not an e-mail address"),
        ({"phone": ["call me"]}, "'call me' is not a phone number"),
        ({"phone": ["12ab34567"]}, "'12ab34567' is not a phone number"),
        ({"phone": ["+32"]}, "is not a phone number"),
        ({"member_no": ["12a"]}, "'12a' is not a whole number"),
        ({"member_no": ["9" * 30]}, "too large"),
        ({"nickname": ["x\x00y"]}, "'x\\x00y' contains a control character"),
        ({"nickname": ["   "]}, "empty"),
        ({"nickname": ["x" * 501]}, "longer than 500"),
        (
            {"fax": ["123"]},
            "'fax' is not a kind of identity this map knows — use one of: email, phone, loyalty_card, member_no",
        ),
        ({"email": []}, "no value given for the identity 'email'"),
        ({}, "at least one identity"),
    ],
)
def test_bad_identities_are_refused_with_the_reason(
    world_map_only: LoadedMap, given: dict[str, list[str]], message: str
) -> None:
    with pytest.raises(RequestError, match=re.escape(message)):
        parse_identities(world_map_only, given)


# --------------------------------------------------------------------------- planning


def test_references_are_walked_by_the_rules(world_map_only: LoadedMap) -> None:
    plan = compile_plan(world_map_only, ["email"], systems=["shop", "crm"])
    labels = [step.label for step in plan.steps]
    assert set(labels) == set(JANE_ROWS)  # shop.companies: no subject, never a parent worth following
    links = {
        step.label: {(f"{link.source[0]}.{link.source[1]}", link.reference, link.direction) for link in step.links}
        for step in plan.steps
    }
    # customers' only reference to a table of their subject that identifies people: the profile owns
    # the customer row, so from the person's customer row the walk goes up to it (owner), and down again
    assert links["shop.profiles"] == {("shop.customers", "profile_id", "owner")}
    # no link by referred_by (to itself: someone else)
    assert links["shop.customers"] == {
        ("crm.leads", "shop_customer_id", "owner"),
        ("shop.profiles", "profile_id", "child"),
    }
    # across systems; owner_staff names a member of staff, another subject: a link, never followed
    assert links["crm.leads"] == {("shop.customers", "shop_customer_id", "child")}
    # buyer and recipient are both customers: ambiguous, so the gift card is found by its address only
    assert links["shop.gift_cards"] == set()
    # the ticket's last message is a reference of the ticket's, not its owner
    assert links["shop.tickets"] == {("shop.customers", "customer_id", "child")}
    assert links["shop.messages"] == {("shop.tickets", "ticket_id", "child")}
    assert links["shop.visits"] == {("shop.customers", "customer_id", "child")}  # staff_id links to staff
    sources = {link.source for step in plan.steps for link in step.links}
    assert not sources & {("shop", "gift_cards"), ("shop", "visits"), ("shop", "staff")}
    shipments = plan.step(("shop", "shipments"))
    assert shipments.links[0].columns == ("order_id", "line_no") == shipments.links[0].source_columns
    assert plan.step(("shop", "order_lines")).reads == ("order_id", "line_no")
    assert plan.step(("shop", "order_lines")).key == ("order_id", "line_no")
    assert plan.step(("shop", "customers")).key == ()  # not declared: discovery reads the database's
    assert plan.step(("shop", "orders")).reads == ("id", "voucher_code")
    assert plan.step(("crm", "leads")).normalise == {"email": "email"}
    # Sources first, except around a cycle (customers, leads; customers, profiles).
    position = {label: i for i, label in enumerate(labels)}
    cycles = [{"crm.leads", "shop.customers"}, {"shop.profiles", "shop.customers"}]
    for step in plan.steps:
        for link in step.links:
            source = f"{link.source[0]}.{link.source[1]}"
            if {source, step.label} not in cycles:
                assert position[source] < position[step.label], (source, step.label)


def test_only_the_requested_kinds_seed_the_plan(world_map_only: LoadedMap) -> None:
    plan = compile_plan(world_map_only, ["member_no"], systems=["shop", "crm"])
    assert plan.steps[0].label == "shop.customers"
    assert plan.steps[0].identities == {"member_no": ("member_no",)}
    assert plan.step(("shop", "customers")).normalise == {}
    assert ("shop", "staff") not in {step.table for step in plan.steps}  # only e-mail leads there


def test_without_a_tenant_a_request_covers_the_organisations_own_systems(world_map_only: LoadedMap) -> None:
    plan = compile_plan(world_map_only, ["email"])
    assert "saas" not in plan.systems() and plan.systems()
    assert "saas" in compile_plan(world_map_only, ["email"], all_tenants=True).systems()


@pytest.mark.parametrize(
    ("kinds", "arguments", "message"),
    [
        (
            ["fax"],
            {},
            "'fax' is not a kind of identity this map knows — this map finds people by email, member_no, nickname, "
            "phone",
        ),
        (["loyalty_card"], {}, "no table holds an identity of kind 'loyalty_card' — this map finds people by"),
        (
            ["email"],
            {"systems": ["shop", "saas"]},
            "holds the data of several controllers (system 'saas' declares tenant 'tenants')",
        ),
        (["email"], {"systems": ["shop", "nowhere"]}, "no system 'nowhere' in the map"),
        (["email"], {"tenant": "1", "systems": ["shop"]}, "none of shop declares 'tenant:'"),
        (["email"], {"tenant": "1", "all_tenants": True}, "either for one tenant or for all tenants"),
        (["phone"], {"systems": ["saas"], "all_tenants": True}, "no table of the chosen systems holds"),
    ],
)
def test_plans_that_cannot_be_made_are_refused(
    world_map_only: LoadedMap, kinds: list[str], arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(PlanError, match=re.escape(message)):
        compile_plan(world_map_only, kinds, **arguments)


def test_a_tenant_scopes_the_tenant_systems_only(world_map_only: LoadedMap) -> None:
    plan = compile_plan(world_map_only, ["email"], tenant=" 1 ")
    assert plan.tenant == "1" and plan.systems() == ["saas"]  # the processor's own systems are not the tenant's
    scoped = {step.label: step.tenant_column for step in plan.steps}
    # notes names its tenant by its reference to tenants; events through its link to accounts
    assert scoped == {"saas.accounts": "tenant_id", "saas.notes": "tenant_ref", "saas.events": None}
    wide = compile_plan(world_map_only, ["email"], all_tenants=True)
    assert wide.all_tenants and {step.tenant_column for step in wide.steps} == {None}


def test_a_tenant_needs_a_tenant_system_and_a_column_on_every_seed(world_map_only: LoadedMap, tmp_path: Path) -> None:
    without = world_map({})
    del without["systems"]["saas"]
    path = tmp_path / "no-tenants.yaml"
    path.write_text(yaml.safe_dump(without), encoding="utf-8")
    with pytest.raises(PlanError, match="no system of this map declares 'tenant:'"):
        compile_plan(load_map(path), ["email"], tenant="1")
    leaky = world_map(
        {}, saas__feedback={"subject": "member", "identity": {"email": "email"}, "fields": {"email": None}}
    )
    path.write_text(yaml.safe_dump(leaky), encoding="utf-8")
    with pytest.raises(PlanError, match=r"saas\.feedback finds people by email but names no tenant"):
        compile_plan(load_map(path), ["email"], tenant="1")


# --------------------------------------------------------------------------- discovery


def test_jane_is_found_everywhere_and_nowhere_else(world: World) -> None:
    discovery = world.run(JANE)
    assert discovery.found_anything
    for label, expected in JANE_ROWS.items():
        assert world.keys(discovery, label) == expected, label
    assert discovery.counts() == {label: len(rows) for label, rows in JANE_ROWS.items()}
    # keys come from the database where the map declares none
    assert discovery.plan.step(("shop", "customers")).key == ("id",)
    leads = discovery.selections[("crm", "leads")]
    assert leads.conditions[("email",)] == {(JANE,)}
    assert leads.conditions[("shop_customer_id",)] == {(1,), (5,)}


def test_a_step_run_again_reads_only_the_values_it_learnt(world: World) -> None:
    """Customers are read by Jane's address, then again once the CRM lead names customer 5: the
    second read asks for what is new only, and each customer is counted once, known by its key."""
    reads: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, parameters: object, *_: object) -> None:
        if "customers" in statement.split("FROM", 1)[-1].split("WHERE", 1)[0]:
            reads.append(repr(parameters))

    sa.event.listen(world.connections["shop"], "before_cursor_execute", seen)
    try:
        discovery = world.run(JANE)
    finally:
        sa.event.remove(world.connections["shop"], "before_cursor_execute", seen)
    customers = discovery.selections[("shop", "customers")]
    assert customers.keys == {(1,), (5,)} and customers.rows == 2
    assert len(reads) >= 2, reads  # read again when it learnt something new
    assert sum(JANE.lower() in parameters.lower() for parameters in reads) == 1, reads


def test_staff_reach_their_own_rows_not_the_rows_that_merely_name_them(world: World) -> None:
    discovery = world.run("SAM@shop.example")
    assert world.keys(discovery, "shop.staff") == {1}
    # visits and a lead name Sam (staff_id, owner_staff), but they are Jane's, Carol's and Dave's
    assert {label for label, rows in discovery.counts().items() if rows} == {"shop.staff"}
    assert discovery.reach is not None and discovery.reach.one_person


def test_other_identities_find_the_same_person(world: World) -> None:
    by_number = world.run(member_no=["1001"])
    assert world.keys(by_number, "shop.customers") == {1}
    assert world.keys(by_number, "crm.leads") == {1, 3}  # the leads that name customer 1
    # The number is written three ways in the CRM, on two leads with two different e-mail
    # addresses: a shared number, so the guard refuses it alone ...
    with pytest.raises(PlanError, match=r"reaches 2 people.*crm.leads.*2 different email values.*by their email"):
        world.run(phone=["+32 470 12 34 56"])
    # ... and takes it with both addresses, which say the two leads are one person
    by_phone = world.run(phone=["+32 470 12 34 56"], email=[JANE, "jane.doe@work.example"])
    assert world.keys(by_phone, "crm.leads") == {1, 2, 3, 4}
    assert world.keys(by_phone, "shop.customers") == {1, 5}  # and from the leads, their customers
    same = world.run(phone=["0032470123456"], email=[JANE, "Jane.Doe@work.example"])
    assert same.counts() == by_phone.counts()


def test_malicious_values_are_only_values(world: World) -> None:
    before = {system: _row_counts(world, system) for system in ("shop", "crm")}
    quoted = world.run(nickname=["Robert'); DROP TABLE customers;--"])
    assert world.keys(quoted, "shop.profiles") == {3}  # an exact match of the text, nothing more
    assert world.keys(quoted, "shop.customers") == {4}  # the customer whose profile it is
    nobody = world.run(nickname=["x' OR '1'='1"])
    assert not nobody.found_anything
    assert world.keys(world.run("o'brien@example.com"), "shop.customers") == {3}
    assert not world.run("a'--;DROP@x.com").found_anything
    assert {system: _row_counts(world, system) for system in ("shop", "crm")} == before


def _row_counts(world: World, system: str) -> dict[str, int]:
    schema = world.schemas[system]
    connection = world.connections[system]
    return {
        name: connection.execute(sa.select(sa.func.count()).select_from(sa.table(name, schema=schema))).scalar_one()
        for name in WORLD[system]
    }


def test_an_unknown_person_is_no_data_held(world: World) -> None:
    discovery = world.run("nobody@example.com")
    assert not discovery.found_anything
    assert set(discovery.counts().values()) == {0}
    # nothing was found to follow: only the identities themselves are conditions
    assert all(selection.is_empty() for selection in discovery.selections.values() if not selection.step.identities)
    orders = discovery.selections[("shop", "orders")]
    table = reflect_table(world.loaded, orders.step, world.connections["shop"])
    assert list(selection_clauses(table, orders, world.kind)) == []  # nothing to erase, nothing to export


def test_a_tenant_never_sees_another_tenants_rows(world: World) -> None:
    identities = parse_identities(world.loaded, {"email": [JANE]})
    found = {}
    for tenant in ("1", "2"):
        plan = compile_plan(world.loaded, ["email"], tenant=tenant)
        discovery = discover(world.loaded, plan, identities, world.connections)
        found[tenant] = {
            label: world.keys(discovery, label) for label in ("saas.accounts", "saas.events", "saas.notes")
        }
        assert discovery.selections[("saas", "accounts")].tenant == int(tenant)
    assert found["1"] == {"saas.accounts": {1}, "saas.events": {1, 4}, "saas.notes": {1}}
    assert found["2"] == {"saas.accounts": {2}, "saas.events": {2}, "saas.notes": {2}}
    wide = compile_plan(world.loaded, ["email"], all_tenants=True, systems=["saas"])
    discovery = discover(world.loaded, wide, identities, world.connections)
    assert world.keys(discovery, "saas.events") == {1, 2, 4}


def test_a_tenant_that_does_not_exist_is_refused(world: World) -> None:
    identities = parse_identities(world.loaded, {"email": [JANE]})
    for tenant, message in (("3", "tenant '3' is not in saas.tenants"), ("T1", "tenant 'T1' cannot be a value")):
        plan = compile_plan(world.loaded, ["email"], tenant=tenant)
        with pytest.raises(RequestError, match=re.escape(message)):
            discover(world.loaded, plan, identities, world.connections)
    with pytest.raises(PlanError, match="compiled for tenant '1', not '2'"):
        discover(
            world.loaded, compile_plan(world.loaded, ["email"], tenant="1"), identities, world.connections, tenant="2"
        )


def test_large_value_sets_and_composite_keys_stay_one_statement_per_step(world: World) -> None:
    statements: list[str] = []
    world.run("bulk@example.com", systems=["shop"])  # reflection is cached from here on
    for connection in world.connections.values():
        sa.event.listen(connection, "before_cursor_execute", lambda *args: statements.append(args[2]))
    discovery = world.run("bulk@example.com", systems=["shop"])
    ran = list(statements)
    with_values = [sel.step for sel in discovery.selections.values() if not sel.is_empty()]
    leaves = [step for step in with_values if not step.reads]
    # Steps that pass values on run one statement each; leaves are counted at the end, on
    # PostgreSQL all of a system's leaves in one statement.
    counted = len({step.table[0] for step in leaves}) if world.kind == "postgresql" else len(leaves)
    assert leaves and len(with_values) < len(discovery.plan.steps)  # nothing runs for steps without values
    assert len(ran) == len(with_values) - len(leaves) + counted
    assert all("count(*)" in statement.lower() for statement in ran)
    assert world.keys(discovery, "shop.orders") == set(range(1000, 3500))
    assert discovery.counts()["shop.order_lines"] == 2500
    assert world.keys(discovery, "shop.shipments") == set(range(10_000, 12_500))  # 2,500 (order, line) pairs


def orders_two_ways(world: World) -> tuple[Selection, sa.Table]:
    """The bulk customer's 2,500 orders by key, and by customer with Jane's: every bulk order
    matches both conditions."""
    discovery = world.run("bulk@example.com", systems=["shop"])
    orders = discovery.selections[("shop", "orders")].step
    keys = discovery.selections[("shop", "order_lines")].conditions[("order_id",)]
    both = Selection(orders, {("id",): keys, ("customer_id",): {(6,), (1,)}})
    return both, reflect_table(world.loaded, orders, world.connections["shop"])


def test_a_selection_too_large_for_one_statement_splits_without_overlap(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection = world.connections["shop"]
    both, table = orders_two_ways(world)
    monkeypatch.setitem(plan_sql.PARAMETER_BUDGET, world.kind if world.kind != "mariadb" else "mysql", 1200)
    clauses = list(selection_clauses(table, both, connection.dialect.name))
    if world.kind == "postgresql":
        assert len(clauses) == 1  # one array per column, whatever the number of values
    elif world.kind == "mariadb":
        assert len(clauses) == 4  # customers first, then the keys in chunks that exclude them
    ids = [i for clause in clauses for i in connection.execute(sa.select(table.c.id).where(clause)).scalars()]
    assert sorted(ids) == sorted({*range(1000, 3500), 10, 11})


def test_a_generic_database_gets_short_in_lists_that_never_overlap(world: World) -> None:
    """The clauses for a database datavow knows nothing about (at most 2,000 parameters, lists of
    1,000) run here as well; the split is the same logic on every backend."""
    connection = world.connections["shop"]
    both, table = orders_two_ways(world)
    clauses = list(selection_clauses(table, both, "generic"))
    assert len(clauses) == 3
    ids = [i for clause in clauses for i in connection.execute(sa.select(table.c.id).where(clause)).scalars()]
    assert sorted(ids) == sorted({*range(1000, 3500), 10, 11})


# --------------------------------------------------------------------------- explaining


def test_explain_says_how_each_step_is_reached(world: World) -> None:
    identities = parse_identities(world.loaded, {"email": [JANE]})
    plan = compile_plan(world.loaded, ["email"], tenant="1")
    before = explain(world.loaded, plan)
    assert [row["table"] for row in before] == ["saas.accounts", "saas.notes", "saas.events"]
    assert before[0]["reached_by"] == ["email in email (email form)"]
    assert before[0]["tenant"] == "tenant_id = 1" and before[0]["rows"] is None
    assert before[2]["reached_by"] == ["points at saas.accounts (account_id = id; reference account_id)"]
    assert before[2]["tenant"] == "through its links"
    discovery = discover(world.loaded, plan, identities, world.connections)
    after = explain(world.loaded, plan, discovery)
    assert [row["rows"] for row in after] == [1, 1, 2]
    assert after[0]["key"] == ["id"]
    shop = explain(world.loaded, compile_plan(world.loaded, ["email"], systems=["shop", "crm"]))
    profiles = next(row for row in shop if row["table"] == "shop.profiles")
    assert profiles["links"] == [
        {
            "reference": "profile_id",
            "direction": "owner",
            "from": "shop.customers",
            "columns": ["id"],
            "source_columns": ["profile_id"],
        }
    ]
    assert profiles["reached_by"] == ["owns rows of shop.customers (id = profile_id; its reference profile_id)"]


def test_dry_run_renders_the_plan_and_says_when_nothing_is_held(world: World) -> None:
    nobody = world.run("nobody@example.com")
    console = Console(record=True, width=200)
    console.print(render_plan(world.loaded, nobody.plan, nobody))
    text = console.export_text()
    assert "Plan: a person by email · no data held" in text
    assert "shop.shipments" in text and "points at shop.order_lines (order_id = order_id, line_no = line_no" in text
    assert len(render_plan(world.loaded, nobody.plan).rows) == len(nobody.plan.steps)


# --------------------------------------------------------------------------- the demo companies


@pytest.fixture(scope="module")
def demo_maps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, LoadedMap]:
    built = build_demo(tmp_path_factory.mktemp("demo"), scale=0.1, today=TODAY)
    return {company.name: load_map(company.map_path) for company in built}


def demo_connections(loaded: LoadedMap, stack: ExitStack) -> dict[str, sa.Connection]:
    connections = {}
    for system in loaded.model.systems:
        engine = connect(loaded.system_url(system), system=system)
        stack.callback(engine.dispose)
        connections[system] = stack.enter_context(engine.connect())
    return connections


def typed_differently(loaded: LoadedMap, connections: dict[str, sa.Connection], first: str, second: str) -> str:
    """An address found in both columns (``system.table.column``), typed differently in them."""
    values: dict[str, list[str]] = {}
    for dotted in (first, second):
        system, table, column = dotted.split(".")
        schema = loaded.model.systems[system].schema_
        query: sa.Select[Any] = sa.select(sa.column(column)).select_from(sa.table(table, schema=schema))
        values[dotted] = [v for v in connections[system].execute(query).scalars() if v]
    normal = {v.strip().lower(): v for v in values[first]}
    pairs = [(v.strip().lower(), normal[v.strip().lower()], v) for v in values[second] if v.strip().lower() in normal]
    return next(address for address, a, b in pairs if a != b)


def check_one_person_in_two_systems(loaded: LoadedMap, name: str) -> None:
    with ExitStack() as stack:
        connections = demo_connections(loaded, stack)
        first, second = SAME_PEOPLE[name]
        address = typed_differently(loaded, connections, first, second)
        identities = parse_identities(loaded, {"email": [address.upper() + " "]})
        plan = compile_plan(loaded, ["email"], all_tenants=True)
        discovery = discover(loaded, plan, identities, connections)
        for dotted in (first, second):
            system, table, column = dotted.split(".")
            assert discovery.selections[(system, table)].rows >= 1, dotted
        # and the baseline: the same count by hand-written SQL for each identity table
        for step in plan.steps:
            for columns in step.identities.values():
                schema = f"{step.schema}." if step.schema else ""
                where = " OR ".join(f"lower(trim({column})) = :address" for column in columns)
                sql = f"SELECT count(*) FROM {schema}{step.table[1]} WHERE {where}"
                by_hand = connections[step.table[0]].execute(sa.text(sql), {"address": address}).scalar_one()
                if not step.links:
                    assert discovery.selections[step.table].rows == by_hand, step.label
                else:
                    assert discovery.selections[step.table].rows >= by_hand, step.label
        nobody = discover(loaded, plan, parse_identities(loaded, {"email": ["nobody@nowhere.example"]}), connections)
        assert not nobody.found_anything


@pytest.mark.parametrize("name", list(SAME_PEOPLE))
def test_demo_one_request_finds_a_person_typed_differently_in_two_systems(
    demo_maps: dict[str, LoadedMap], name: str
) -> None:
    check_one_person_in_two_systems(demo_maps[name], name)


def check_tenant_scoping(loaded: LoadedMap) -> None:
    """mira-software: a user of one tenant, asked for by that tenant, and by the other tenants."""
    with ExitStack() as stack:
        connections = demo_connections(loaded, stack)
        platform = connections["platform"]
        schema = loaded.model.systems["platform"].schema_
        users = sa.table("users", sa.column("email"), sa.column("customer_id"), schema=schema)
        email, tenant = platform.execute(sa.select(users.c.email, users.c.customer_id).limit(1)).one()
        identities = parse_identities(loaded, {"email": [email]})
        mine = discover(loaded, compile_plan(loaded, ["email"], tenant=str(tenant)), identities, connections)
        assert mine.plan.systems() == ["platform"]
        assert mine.selections[("platform", "users")].rows == 1
        events = mine.selections[("platform", "login_events")]
        table = reflect_table(loaded, events.step, platform)
        for clause in selection_clauses(table, events, platform.dialect.name):
            assert set(platform.execute(sa.select(table.c.customer_id).where(clause)).scalars()) <= {tenant}
        other = (
            platform.execute(
                sa.text(f"SELECT id FROM {schema + '.' if schema else ''}customers WHERE id <> :t"), {"t": tenant}
            )
            .scalars()
            .first()
        )
        theirs = discover(loaded, compile_plan(loaded, ["email"], tenant=str(other)), identities, connections)
        assert theirs.selections[("platform", "users")].rows == 0
        assert theirs.selections[("platform", "user_sessions")].rows == 0


def test_demo_tenant_scoping(demo_maps: dict[str, LoadedMap]) -> None:
    check_tenant_scoping(demo_maps["mira-software"])


@pytest.mark.parametrize("server", ["postgres_url", "mariadb_url"])
def test_demo_on_servers_in_their_own_schemas(
    server: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = request.getfixturevalue(server)
    password = sa.make_url(url).password
    if password is not None:
        monkeypatch.setenv("DATAVOW_DEMO_PASSWORD", password)
    with built_on_server(tmp_path, url) as built:
        for company in built:
            loaded = load_map(company.map_path)
            assert all(system.schema_ for system in loaded.model.systems.values())
            check_one_person_in_two_systems(loaded, company.name)
            if company.name == "mira-software":
                check_tenant_scoping(loaded)
