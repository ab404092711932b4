"""Access and portability exports (Art. 15, 20) against real SQLite, PostgreSQL and MariaDB databases.

Each test builds a real database, exports a person, decrypts the package and checks what is in it
against the database and the data map.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import tracemalloc
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa

from datavow.datamap import LoadedMap, load_map
from datavow.demo import build_demo
from datavow.errors import PlanError, RequestError, SecretError
from datavow.plan import compile_plan, discover, parse_identities
from datavow.plan.model import Discovery, Plan, Selection, Step
from datavow.plan.sql import selection_clauses
from datavow.requests.export import (
    ExportInfo,
    ExportPackage,
    export_access,
    export_header,
    mask_identity,
    open_export,
    read_export,
)
from datavow.requests.export.archive import StreamingArchive
from datavow.requests.export.rows import csv_value, json_value, write_csv, write_json

KEY = bytes(range(32))
HTML = "<script>alert('x')</script> & <b>co</b>"

SHOP_MAP = """
organization:
  name: Shop & Sons
  legal_name: Shop bv
  country: BE
  contact: {email: privacy@shop.example, address: "Main street 1, 9000 Ghent"}
  dpo: {name: Dana Protector, email: dpo@shop.example}
  supervisory_authority:
    name: Gegevensbeschermingsautoriteit (GBA)
    country: BE
    url: https://www.gegevensbeschermingsautoriteit.be
    email: contact@apd-gba.be
recipients:
  mailer: {name: Mailer Inc, kind: processor, country: US, safeguard: scc, description: Sends our newsletter.}
  hosting: {name: Hosting NV, kind: processor, country: NL}
  tax: {name: Federal Public Service Finance, kind: authority, country: BE}
subjects:
  customer: Customers
purposes:
  service:
    name: Selling and delivering
    description: We ship <b>fast</b>.
    basis: contract
    subjects: [customer]
    categories: [user.contact, user.name, user.financial, user.authorization, user.demographic, user.content]
    recipients: [hosting]
    retention: {period: 2 years, after: the last order}
  newsletter:
    name: Our newsletter
    basis: consent
    use: marketing.communications.email
    categories: [user.contact.email]
    recipients: [mailer]
    retention: Until you unsubscribe.
    source: The partner shop where you signed up
  security:
    name: Keeping the shop secure
    basis: legitimate_interest
    interest: Preventing fraud and abuse of our shop
    categories: [user.device, user.behavior]
  invoicing:
    name: Invoicing
    basis: legal_obligation
    law: Belgian accounting law (Art. III.86 WER)
    categories: [user.financial]
    recipients: [tax]
    retention: 7 years
systems:
  shop:
    url: {url}
    tables:
      customers:
        subject: customer
        identity: {email: email}
        purposes: [service, newsletter]
        erase: delete
        fields:
          id: ~
          email: user.contact.email
          name: user.name
          notes: user.content.private
          password_hash: user.authorization.password
          balance: user.financial
          born: user.demographic.date_of_birth
          created_at: ~
          newsletter: ~
          avatar: user.content
      orders:
        subject: customer
        purposes: [service]  # invoicing comes in through the hold
        references: {customer_id: customers.id}
        erase: delete
        hold: {purpose: invoicing, keep: 7 years, after: placed_at}
        fields: {id: ~, customer_id: ~, total: user.financial, placed_at: ~}
      events:
        subject: customer
        purposes: [security]
        references: {customer_id: customers.id}
        erase: delete
        retention: {keep: 90 days, after: at}
        fields: {id: ~, customer_id: ~, at: user.behavior, ip: user.device.ip_address}
"""

PLATFORM_MAP = """
organization:
  name: Platform
  country: BE
  roles: [processor]
  contact: {email: privacy@platform.example}
subjects:
  user: Users
purposes:
  service: {name: Running the platform for our clients, basis: contract, role: processor, subjects: [user],
            categories: [user.contact, user.content], retention: As long as the client's contract runs.}
systems:
  platform:
    url: {url}
    tenant: {table: tenants, key: id, name: name}
    tables:
      tenants:
        fields: {id: ~, name: ~}
      users:
        subject: user
        identity: {email: email}
        tenant_column: tenant_id
        references: {tenant_id: tenants.id}
        erase: delete
        fields: {id: ~, tenant_id: ~, email: user.contact.email}
      notes:
        subject: user
        tenant_column: tenant_id
        references: {user_id: users.id, tenant_id: tenants.id}
        erase: delete
        fields: {id: ~, tenant_id: ~, user_id: ~, body: user.content.private}
"""

# --------------------------------------------------------------------------- databases


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data.db'}"
    url: str = request.getfixturevalue(f"{'postgres' if request.param == 'postgresql' else 'mariadb'}_url")
    return url


@pytest.fixture
def engine_for() -> Iterator[Any]:
    engines: list[sa.Engine] = []

    def make(url: str) -> sa.Engine:
        engines.append(sa.create_engine(url))
        return engines[-1]

    yield make
    for engine in engines:
        engine.dispose()


def shop_schema(engine: sa.Engine) -> sa.MetaData:
    metadata = sa.MetaData()
    sa.Table(
        "customers",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("email", sa.String(200)),
        sa.Column("name", sa.String(200)),
        sa.Column("notes", sa.Text),
        sa.Column("password_hash", sa.String(100)),
        sa.Column("balance", sa.Numeric(10, 2)),
        sa.Column("born", sa.Date),
        sa.Column("created_at", sa.DateTime),
        sa.Column("newsletter", sa.Boolean),
        sa.Column("avatar", sa.LargeBinary),
    )
    sa.Table(
        "orders",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("customer_id", sa.Integer, index=True),
        sa.Column("total", sa.Numeric(10, 2)),
        sa.Column("placed_at", sa.DateTime),
    )
    sa.Table(
        "events",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("customer_id", sa.Integer, index=True),
        sa.Column("at", sa.DateTime),
        sa.Column("ip", sa.String(45)),
    )
    metadata.create_all(engine)
    return metadata


def fill_shop(engine: sa.Engine) -> None:
    metadata = shop_schema(engine)
    customers, orders, events = (metadata.tables[name] for name in ("customers", "orders", "events"))
    with engine.begin() as conn:
        conn.execute(
            customers.insert(),
            [
                {
                    "id": 1,
                    "email": "jane@example.com",
                    "name": "Jane Doe",
                    "notes": HTML,
                    "password_hash": "$argon2id$secret",
                    "balance": Decimal("12.50"),
                    "born": date(1990, 5, 17),
                    "created_at": datetime(2024, 1, 2, 3, 4, 5),
                    "newsletter": True,
                    "avatar": b"\x89PNG\x00\xff",
                },
                {
                    "id": 2,
                    "email": "john@example.com",
                    "name": "John Roe",
                    "notes": None,
                    "password_hash": "$argon2id$other",
                    "balance": Decimal("0.00"),
                    "born": None,
                    "created_at": datetime(2024, 2, 3, 4, 5, 6),
                    "newsletter": False,
                    "avatar": None,
                },
            ],
        )
        conn.execute(
            orders.insert(),
            [
                {
                    "id": i,
                    "customer_id": 1 if i <= 3 else 2,
                    "total": Decimal(f"{i}9.95"),
                    "placed_at": datetime(2024, 3, i),
                }
                for i in range(1, 6)
            ],
        )
        conn.execute(
            events.insert(),
            [
                {"id": i, "customer_id": 1 if i <= 5 else 2, "at": datetime(2024, 4, i, 12), "ip": f"10.0.0.{i}"}
                for i in range(1, 7)
            ],
        )


def write_map(folder: Path, template: str, url: str) -> LoadedMap:
    path = folder / "datavow.yaml"
    path.write_text(template.replace("{url}", url))
    return load_map(path)


# --------------------------------------------------------------------------- plans by hand


def step(
    table: str, *, identities: Mapping[str, tuple[str, ...]] | None = None, tenant_column: str | None = None
) -> Step:
    system = "platform" if table in ("users", "notes") else "shop"
    return Step((system, table), None, ("id",), identities or {}, (), tenant_column, ())


def discovery(
    conditions: Mapping[str, Mapping[tuple[str, ...], set[tuple[object, ...]]]],
    *,
    tenant: str | None = None,
    steps: Mapping[str, Step] | None = None,
) -> Discovery:
    made = {name: (steps or {}).get(name) or step(name) for name in conditions}
    plan = Plan(tuple(made.values()), frozenset({"email"}), tenant)
    selections = {
        made[name].table: Selection(made[name], {k: set(v) for k, v in c.items()}) for name, c in conditions.items()
    }
    return Discovery(plan, selections)


def find(
    loaded: LoadedMap,
    engines: Mapping[str, sa.Engine],
    identities: Mapping[str, list[str]],
    *,
    tenant: str | None = None,
) -> Discovery:
    """The planner's discovery of the person ``identities`` name, in the systems of ``engines``."""
    plan = compile_plan(loaded, identities, tenant=tenant, systems=list(engines))
    with ExitStack() as stack:
        connections = {name: stack.enter_context(engine.connect()) for name, engine in engines.items()}
        return discover(loaded, plan, parse_identities(loaded, identities), connections, tenant=tenant)


def jane(loaded: LoadedMap, engine: sa.Engine) -> Discovery:
    return find(loaded, {"shop": engine}, {"email": ["Jane@Example.com"]})


def info(request_id: str = "REQ-1", received_at: datetime = datetime(2025, 1, 6, 9, 30, tzinfo=UTC)) -> ExportInfo:
    return ExportInfo(request_id, received_at, {"email": ["jane@example.com"]})


def export(
    loaded: LoadedMap, found: Discovery, engine: sa.Engine, out: Path, *, system: str = "shop", **options: Any
) -> ExportPackage:
    options.setdefault("request", info())
    options.setdefault("expires_at", datetime.now(UTC) + timedelta(days=30))
    return export_access(loaded, found, {system: engine}, out, key=KEY, **options)


def unpack(package: Path, dest: Path) -> zipfile.ZipFile:
    return zipfile.ZipFile(read_export(package, KEY, dest))


def db_rows(engine: sa.Engine, table: str, where: sa.ColumnElement[bool] | None = None) -> list[dict[str, Any]]:
    reflected = sa.Table(table, sa.MetaData(), autoload_with=engine)
    query = sa.select(reflected).order_by(reflected.c.id)
    if where is not None:
        query = query.where(where)
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


def rows_of(archive: zipfile.ZipFile, name: str) -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = json.loads(archive.read(name))
    return loaded


def csv_of(archive: zipfile.ZipFile, name: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(archive.read(name).decode("utf-8"), newline="")))


def text_of(html: str) -> str:
    """The letter's text with whitespace collapsed, for asserting on sentences."""
    return " ".join(html.split())


# --------------------------------------------------------------------------- the package


def test_package_holds_the_persons_rows_as_json_and_csv(tmp_path: Path, database_url: str, engine_for: Any) -> None:
    engine = engine_for(database_url)
    fill_shop(engine)
    loaded = write_map(tmp_path, SHOP_MAP, database_url)
    package = export(loaded, jane(loaded, engine), engine, tmp_path / "req-1.zip.dvs")

    assert package.path.name == "req-1.zip.dvs" and package.size == package.path.stat().st_size
    assert {t.label: t.rows for t in package.tables} == {"shop.customers": 1, "shop.orders": 3, "shop.events": 5}
    archive = unpack(package.path, tmp_path)
    assert sorted(archive.namelist()) == sorted(
        [f"data/shop/{t}.{ext}" for t in ("customers", "orders", "events") for ext in ("json", "csv")]
        + ["letter.html", "manifest.json"]
    )
    for table, where_column in (("customers", "email"), ("orders", "customer_id"), ("events", "customer_id")):
        value: object = "jane@example.com" if where_column == "email" else 1
        expected = db_rows(engine, table, sa.column(where_column) == value)
        for row in expected:
            row.pop("password_hash", None)  # credentials are withheld
        assert rows_of(archive, f"data/shop/{table}.json") == [
            {column: json_value(v) for column, v in row.items()} for row in expected
        ]
        header, *cells = csv_of(archive, f"data/shop/{table}.csv")
        assert header == list(expected[0]) and cells == [[csv_value(v) for v in row.values()] for row in expected]

    customer = rows_of(archive, "data/shop/customers.json")[0]
    assert customer["balance"] == "12.50" and customer["born"] == "1990-05-17"
    assert customer["created_at"] == "2024-01-02T03:04:05" and customer["notes"] == HTML
    assert customer["avatar"] == "iVBORwD/" and "password_hash" not in customer  # base64 of the bytes


def test_manifest_describes_every_file_with_its_hash(tmp_path: Path, engine_for: Any) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    engine = engine_for(url)
    fill_shop(engine)
    loaded = write_map(tmp_path, SHOP_MAP, url)
    expires = datetime(2099, 1, 1, tzinfo=UTC)
    package = export(loaded, jane(loaded, engine), engine, tmp_path / "p.zip.dvs", expires_at=expires)
    archive = unpack(package.path, tmp_path)
    manifest = json.loads(archive.read("manifest.json"))

    assert manifest["expires_at"] == expires.isoformat() and manifest["request"]["id"] == "REQ-1"
    assert manifest["request"]["received_at"] == "2025-01-06T09:30:00+00:00"
    assert manifest["request"]["identities"] == {"email": ["j***@example.com"]}
    assert set(manifest["files"]) == set(archive.namelist()) - {"manifest.json"}
    for name, entry in manifest["files"].items():
        content = archive.read(name)
        assert entry == {"sha256": hashlib.sha256(content).hexdigest(), "bytes": len(content)}
    tables = {t["table"]: t for t in manifest["tables"]}
    assert {name: t["rows"] for name, t in tables.items()} == {"customers": 1, "orders": 3, "events": 5}
    assert tables["customers"]["categories"]["email"] == ["user.contact.email"]
    assert tables["customers"]["categories"]["id"] == [] and tables["customers"]["withheld"] == ["password_hash"]
    bases = {p["key"]: (p["basis"], p["interest"]) for p in manifest["purposes"]}
    assert bases == {
        "service": ("contract", None),
        "newsletter": ("consent", None),
        "invoicing": ("legal_obligation", None),
        "security": ("legitimate_interest", "Preventing fraud and abuse of our shop"),
    }
    assert [r["name"] for r in manifest["recipients"]] == ["Hosting NV", "Mailer Inc", "Federal Public Service Finance"]
    assert manifest["supervisory_authority"]["name"] == "Gegevensbeschermingsautoriteit (GBA)"
    with pytest.raises(RequestError, match="compiled for no tenant, not tenant '1'"):
        export(loaded, jane(loaded, engine), engine, tmp_path / "q.zip.dvs", tenant="1")
    # The package lists every file, the manifest included, for the audit log to record.
    assert [f.name for f in package.files] == archive.namelist()
    made = package.header.generated_at.timetuple()[:6]
    made = (*made[:5], made[5] - made[5] % 2)  # ZIP keeps seconds in steps of two
    assert all(entry.date_time == made for entry in archive.infolist())
    assert package.files[-1].sha256 == hashlib.sha256(archive.read("manifest.json")).hexdigest()


def test_letter_carries_what_article_15_requires_from_the_map(tmp_path: Path, engine_for: Any) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    engine = engine_for(url)
    fill_shop(engine)
    loaded = write_map(tmp_path, SHOP_MAP, url)
    # A time without a zone (as the state store keeps them) is UTC.
    request = info("<script>alert(1)</script>", received_at=datetime(2025, 1, 6, 9, 30))
    package = export(loaded, jane(loaded, engine), engine, tmp_path / "p.zip.dvs", request=request)
    html = unpack(package.path, tmp_path).read("letter.html").decode()
    text = text_of(html)

    for purpose in ("Selling and delivering", "Our newsletter", "Keeping the shop secure", "Invoicing"):
        assert f"<h3>{purpose}</h3>" in text
    assert "Art. 6(1)(a) GDPR" in text and "Art. 6(1)(b) GDPR" in text and "Art. 6(1)(c) GDPR" in text
    assert "The legitimate interest we pursue: Preventing fraud and abuse of our shop." in text
    assert "The law that requires it: Belgian accounting law (Art. III.86 WER)." in text
    # categories, by their human names in the taxonomy
    for category in ("Birth Date", "IP Address", "Password", "Name", "Private Content", "Observed Behavior"):
        assert f"<li>{category}</li>" in text, category
    # recipients, their countries, and the safeguard of the one outside the EEA (Art. 15(2))
    assert "<strong>Mailer Inc</strong> (United States), which processes the data on our behalf." in text
    assert "standard data protection clauses adopted by the European Commission (Art. 46(2)(c) GDPR)" in text
    hosting = text.split("<strong>Hosting NV</strong>")[1].split("</li>")[0]
    assert "(Netherlands)" in hosting and "outside the European Economic Area" not in hosting
    # retention per purpose, table rules and holds
    assert "2 years after the last order." in text and "Until you unsubscribe." in text
    assert "Records in shop.events are removed 90 days after the moment in their <code>at</code>." in text
    assert "shop.orders: kept 7 years after the moment in their <code>placed_at</code>, for Invoicing." in text
    assert "<li>Our newsletter: The partner shop where you signed up</li>" in text
    # rights: withdrawal where the basis is consent, objection where it is legitimate interest
    assert (
        "<strong>Withdraw your consent</strong> (Art. 7(3) GDPR) at any time, as easily as you gave it, "
        "for Our newsletter" in text
    )
    assert "a public task: Keeping the shop secure." in text
    for right in ("Rectification", "Erasure", "Restriction", "Objection", "Portability"):
        assert f"<strong>{right}</strong>" in text
    assert "Ours is <strong>Gegevensbeschermingsautoriteit (GBA)</strong> (Belgium)" in text
    assert "contact@apd-gba.be" in text and "https://www.gegevensbeschermingsautoriteit.be" in text
    assert "dpo@shop.example" in text and "received on 2025-01-06 09:30 UTC" in text
    # the table of contents, with row counts
    assert "<tr><td><code>data/shop/orders.json</code></td><td>shop.orders (JSON)</td><td>3</td></tr>" in text
    # everything escaped: the request id, the organisation's and purposes' texts
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "We ship &lt;b&gt;fast&lt;/b&gt;." in text and "Shop &amp; Sons" in text
    # Art. 15(1)(h): the map declares no automated decision, and the letter says so
    assert "our records of processing declare none." in text


def test_letter_tells_of_automated_decisions_the_map_declares(tmp_path: Path, engine_for: Any) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    engine = engine_for(url)
    fill_shop(engine)
    declared = SHOP_MAP.replace(
        "    retention: {period: 2 years, after: the last order}\n",
        "    retention: {period: 2 years, after: the last order}\n"
        "    automated_decision: {logic: A score from <your> payment history., "
        "consequences: A low score asks for payment up front., profiling: true}\n",
        1,
    )
    assert declared != SHOP_MAP
    loaded = write_map(tmp_path, declared, url)
    package = export(loaded, jane(loaded, engine), engine, tmp_path / "p.zip.dvs", request=info("7"))
    opened = unpack(package.path, tmp_path)
    text = text_of(opened.read("letter.html").decode())
    manifest = json.loads(opened.read("manifest.json"))
    assert "<strong>Selling and delivering</strong> (with profiling)." in text
    assert "How it works: A score from &lt;your&gt; payment history." in text
    assert "What it means for you: A low score asks for payment up front." in text
    assert "ask for a person to review such a decision" in text and "declare none" not in text
    (selling,) = [p for p in manifest["purposes"] if p["key"] == "service"]
    assert selling["automated"] == {
        "logic": "A score from <your> payment history.",
        "consequences": "A low score asks for payment up front.",
        "profiling": True,
    }


def test_a_person_with_no_data_gets_a_letter_saying_so(tmp_path: Path, database_url: str, engine_for: Any) -> None:
    engine = engine_for(database_url)
    fill_shop(engine)
    loaded = write_map(tmp_path, SHOP_MAP, database_url)
    nobody = find(loaded, {"shop": engine}, {"email": ["nobody@example.com"]})
    package = export(loaded, nobody, engine, tmp_path / "none.zip.dvs")

    assert not package.found_anything and package.rows == 0
    archive = unpack(package.path, tmp_path)
    assert sorted(archive.namelist()) == ["letter.html", "manifest.json"]
    text = text_of(archive.read("letter.html").decode())
    assert "We hold no personal data about you" in text and "Gegevensbeschermingsautoriteit (GBA)" in text
    assert "Why we process your data" not in text
    assert json.loads(archive.read("manifest.json"))["found"] is False


def test_a_row_several_conditions_select_is_exported_once(tmp_path: Path, database_url: str, engine_for: Any) -> None:
    engine = engine_for(database_url)
    events = shop_schema(engine).tables["events"]
    rows = 40_000
    with engine.begin() as conn:
        conn.execute(
            events.insert(),
            [
                {"id": i, "customer_id": 1 if i % 2 else 7, "at": None, "ip": f"10.0.{i % 3}.1"}
                for i in range(1, rows + 1)
            ],
        )
    loaded = write_map(tmp_path, SHOP_MAP, database_url)
    # Three overlapping conditions; on MariaDB the two large ones need more parameters than one
    # statement carries, so the rows come from several WHERE clauses.
    found = discovery(
        {
            "events": {
                ("ip",): {("10.0.1.1",)},
                ("id",): {(i,) for i in range(1, 30_001)},
                ("customer_id",): {(1,), *((c,) for c in range(100_000, 130_000))},
            }
        }
    )
    selection = found.selections[("shop", "events")]
    clauses = list(selection_clauses(events, selection, engine.dialect.name))
    assert len(clauses) > 1 or engine.dialect.name != "mysql"
    package = export(loaded, found, engine, tmp_path / "p.zip.dvs")
    ids = [row["id"] for row in rows_of(unpack(package.path, tmp_path), "data/shop/events.json")]
    expected = {i for i in range(1, rows + 1) if i % 3 == 1 or i <= 30_000 or i % 2}
    assert len(ids) == len(set(ids)) and set(ids) == expected and package.rows == len(expected)


def test_processor_exports_only_the_tenants_rows(tmp_path: Path, database_url: str, engine_for: Any) -> None:
    engine = engine_for(database_url)
    metadata = sa.MetaData()
    tenants = sa.Table(
        "tenants", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("name", sa.String(50))
    )
    users = sa.Table(
        "users",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("tenant_id", sa.Integer),
        sa.Column("email", sa.String(100)),
    )
    notes = sa.Table(
        "notes",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("tenant_id", sa.Integer),
        sa.Column("user_id", sa.Integer),
        sa.Column("body", sa.Text),
    )
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(tenants.insert(), [{"id": 1, "name": "School A"}, {"id": 2, "name": "School B"}])
        conn.execute(
            users.insert(),
            [
                {"id": 10, "tenant_id": 1, "email": "kim@x.example"},
                {"id": 20, "tenant_id": 2, "email": "kim@x.example"},
            ],
        )
        conn.execute(
            notes.insert(),
            [
                {"id": n, "tenant_id": 1 if n < 4 else 2, "user_id": 10 if n < 4 else 20, "body": f"note {n}"}
                for n in range(1, 7)
            ],
        )
    loaded = write_map(tmp_path, PLATFORM_MAP, database_url)
    planned = find(loaded, {"platform": engine}, {"email": ["kim@x.example"]}, tenant="1")
    # By hand: even were both tenants' user ids to reach the notes step, the tenant keeps the
    # other tenant's notes out, because the WHERE clauses carry it.
    steps = {
        "users": step("users", identities={"email": ("email",)}, tenant_column="tenant_id"),
        "notes": step("notes", tenant_column="tenant_id"),
    }
    leaky = discovery(
        {"users": {("email",): {("kim@x.example",)}}, "notes": {("user_id",): {(10,), (20,)}}}, tenant="1", steps=steps
    )
    request = ExportInfo("REQ-2", date(2025, 1, 6), {"email": ["kim@x.example"]}, controller="School <A>")
    for n, found in enumerate((planned, leaky)):
        package = export(loaded, found, engine, tmp_path / f"p{n}.zip.dvs", system="platform", request=request)
        archive = unpack(package.path, tmp_path)
        assert rows_of(archive, "data/platform/users.json") == [{"id": 10, "tenant_id": 1, "email": "kim@x.example"}]
        assert [note["id"] for note in rows_of(archive, "data/platform/notes.json")] == [1, 2, 3]
        assert json.loads(archive.read("manifest.json"))["tenant"] == "1"
        letter = text_of(archive.read("letter.html").decode())
        assert "for one of our clients, School &lt;A&gt;, on its instructions" in letter
        assert "we act as a processor" in letter
    with pytest.raises(RequestError, match="compiled for tenant '1', not tenant '2'"):
        export(loaded, planned, engine, tmp_path / "q.zip.dvs", system="platform", tenant="2")


def test_demo_company_export_gathers_the_person_from_several_systems(tmp_path: Path, engine_for: Any) -> None:
    (built,) = build_demo(tmp_path / "demo", scale=0.1, companies=["mira-network"], force=True, today=date(2025, 6, 1))
    loaded = load_map(built.map_path)
    engines = {system: engine_for(loaded.system_url(system)) for system in loaded.model.systems}
    email = sa.func.lower(sa.func.trim(sa.column("email")))
    with engines["crm"].connect() as crm, engines["hr"].connect() as hr:
        contacts = set(crm.scalars(sa.select(email).select_from(sa.table("persons"))))
        candidates = set(hr.scalars(sa.select(email).select_from(sa.table("candidates"))))
    person = sorted(contacts & candidates - {None})[0]  # a contact who also applied for a job

    found = find(loaded, {s: engines[s] for s in ("crm", "hr")}, {"email": [person]})
    package = export_access(
        loaded,
        found,
        engines,
        tmp_path / "demo.zip.dvs",
        key=KEY,
        request=ExportInfo("REQ-9", date(2025, 6, 1), parse_identities(loaded, {"email": [person]})),
        expires_at=datetime.now(UTC) + timedelta(days=30),
    )
    labels = {t.label for t in package.tables}
    assert {"crm.persons", "crm.correspondence", "hr.candidates"} <= labels
    assert {t.system for t in package.tables} == {"crm", "hr"}
    archive = unpack(package.path, tmp_path)
    expected = [
        {k: json_value(v) for k, v in row.items()} for row in db_rows(engines["hr"], "candidates", email == person)
    ]
    assert rows_of(archive, "data/hr/candidates.json") == expected
    text = text_of(archive.read("letter.html").decode())
    for purpose in ("Marketing and sales", "Recruitment"):
        assert f"<h3>{purpose}</h3>" in text
    assert "<li>Recruitment: Recruitment companies (e.g. Academic Work, Poolia, Randstad)</li>" in text
    assert "Ours is <strong>Integritetsskyddsmyndigheten (IMY)</strong> (Sweden)" in text


def test_demo_processor_export_keeps_to_one_client(tmp_path: Path, engine_for: Any) -> None:
    (built,) = build_demo(tmp_path / "demo", scale=0.1, companies=["mira-network"], force=True, today=date(2025, 6, 1))
    loaded = load_map(built.map_path)
    engine = engine_for(loaded.system_url("platform"))
    email = sa.func.lower(sa.func.trim(sa.column("email")))
    records = sa.table("records", sa.column("email"), sa.column("client_id"))
    with engine.connect() as conn:
        shared = conn.execute(
            sa.select(email, sa.func.min(records.c.client_id))
            .where(records.c.email.is_not(None))
            .group_by(email)
            .having(sa.func.count(sa.distinct(records.c.client_id)) > 1)
        ).first()
    assert shared is not None  # the demo has people in several clients' databases
    person, client = shared[0], str(shared[1])

    found = find(loaded, {"platform": engine}, {"email": [person]}, tenant=client)
    package = export(loaded, found, engine, tmp_path / "p.zip.dvs", system="platform", tenant=client)
    archive = unpack(package.path, tmp_path)
    exported = rows_of(archive, "data/platform/records.json")
    all_rows = db_rows(engine, "records", email == person)
    assert {r["client_id"] for r in all_rows} > {int(client)}
    assert exported == [{k: json_value(v) for k, v in r.items()} for r in all_rows if str(r["client_id"]) == client]
    assert "we act as a processor" in text_of(archive.read("letter.html").decode())


# --------------------------------------------------------------------------- encryption and expiry


def test_package_opens_with_its_key_only_and_leaves_nothing_unencrypted(tmp_path: Path, engine_for: Any) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    engine = engine_for(url)
    fill_shop(engine)
    loaded = write_map(tmp_path, SHOP_MAP, url)
    out = tmp_path / "out"
    out.mkdir()
    package = export(loaded, jane(loaded, engine), engine, out / "p.zip.dvs")

    assert sorted(p.name for p in out.iterdir()) == ["p.zip.dvs"]  # no plain or partial file beside it
    assert out.joinpath("p.zip.dvs").stat().st_mode & 0o777 == 0o600
    raw = package.path.read_bytes()
    assert b"jane@example.com" not in raw and b"PK\x03\x04" not in raw
    plain = b"".join(open_export(package.path, KEY))
    assert zipfile.ZipFile(io.BytesIO(plain)).testzip() is None
    with pytest.raises(SecretError):
        b"".join(open_export(package.path, os.urandom(32)))
    # The clear header is bound to the ciphertext: moving the expiry breaks the package.
    tampered = tmp_path / "t.zip.dvs"
    tampered.write_bytes(raw.replace(b'"expires_at": "20', b'"expires_at": "21', 1))
    assert export_header(tampered).expires_at.year >= 2100
    with pytest.raises(SecretError):
        b"".join(open_export(tampered, KEY))


def test_an_expired_package_is_refused_unless_allowed(tmp_path: Path, engine_for: Any) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    engine = engine_for(url)
    fill_shop(engine)
    loaded = write_map(tmp_path, SHOP_MAP, url)
    expires = datetime.now(UTC) + timedelta(days=7)
    package = export(loaded, jane(loaded, engine), engine, tmp_path / "p.zip.dvs", expires_at=expires)

    header = export_header(package.path)
    assert header.request_id == "REQ-1" and header.expires_at == expires and not header.expired()
    later = expires + timedelta(seconds=1)
    with pytest.raises(RequestError, match="export package of request REQ-1 expired"):
        open_export(package.path, KEY, now=later)
    with pytest.raises(RequestError, match="expired"):
        read_export(package.path, KEY, tmp_path, now=later)
    assert not (tmp_path / "p.zip").exists()
    assert zipfile.ZipFile(read_export(package.path, KEY, tmp_path, now=later, allow_expired=True)).namelist()
    with pytest.raises(RequestError, match="in the future"):
        export(
            loaded,
            jane(loaded, engine),
            engine,
            tmp_path / "q.zip.dvs",
            expires_at=datetime.now(UTC) - timedelta(days=1),
        )
    with pytest.raises(RequestError, match="not a datavow export package"):
        open_export(tmp_path / "shop.db", KEY)


def test_values_become_json_and_csv_cells() -> None:
    moment = datetime(2025, 3, 1, 12, 30, tzinfo=UTC)
    cases: list[tuple[object, object, str]] = [
        (None, None, ""),
        (True, True, "true"),
        (7, 7, "7"),
        (1.5, 1.5, "1.5"),
        (float("nan"), "nan", "nan"),
        (Decimal("12.50"), "12.50", "12.50"),
        (moment, "2025-03-01T12:30:00+00:00", "2025-03-01T12:30:00+00:00"),
        (date(2025, 3, 1), "2025-03-01", "2025-03-01"),
        (timedelta(minutes=2), "PT120S", "PT120S"),
        (b"\x00\xff", "AP8=", "AP8="),
        (memoryview(b"ab"), "YWI=", "YWI="),
        (UUID(int=1), "00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000001"),
        ({"a": [1, Decimal("2")]}, {"a": [1, "2"]}, '{"a": [1, "2"]}'),
    ]
    for value, as_json, as_csv in cases:
        assert json_value(value) == as_json and csv_value(value) == as_csv, value
    # The files use faster paths than a call per value: they must write the same.
    archive = StreamingArchive(moment)
    columns = [f"c{n}" for n in range(len(cases))]
    rows = [[value for value, _, _ in cases]]
    data = b"".join(
        [*write_json(archive, "t.json", columns, iter([rows])), *write_csv(archive, "t.csv", columns, iter([rows]))]
    )
    written = zipfile.ZipFile(io.BytesIO(data + archive.close()))
    assert json.loads(written.read("t.json")) == [dict(zip(columns, (j for _, j, _ in cases), strict=True))]
    assert csv_of(written, "t.csv") == [columns, [c for _, _, c in cases]]


def test_a_failed_export_leaves_nothing_behind(tmp_path: Path, engine_for: Any) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    engine = engine_for(url)
    fill_shop(engine)
    loaded = write_map(tmp_path, SHOP_MAP, url)
    found = jane(loaded, engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE events")  # the map and the plan still name it
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(PlanError, match="shop.events is not a table"):
        export(loaded, found, engine, out / "p.zip.dvs")  # fails after customers and orders were written
    assert list(out.iterdir()) == []
    french = ExportInfo("REQ-1", date(2025, 1, 6), {"email": ["jane@example.com"]}, language="fr")
    with pytest.raises(RequestError, match="no access letter in language 'fr' — use one of: en"):
        export(loaded, found, engine, out / "p.zip.dvs", request=french)
    with pytest.raises(RequestError, match="no database connection for system"):
        export_access(
            loaded, found, {}, out / "p.zip.dvs", key=KEY, request=info(), expires_at=datetime(2099, 1, 1, tzinfo=UTC)
        )
    assert list(out.iterdir()) == []


def test_identities_are_masked() -> None:
    assert mask_identity("jane@example.com") == "j***@example.com"
    assert mask_identity("+46701234567") == "+4***67"
    assert mask_identity(42) == "4***"


# --------------------------------------------------------------------------- memory


def test_memory_does_not_grow_with_the_persons_rows(tmp_path: Path, engine_for: Any) -> None:
    url = f"sqlite:///{tmp_path / 'big.db'}"
    engine = engine_for(url)
    shop_schema(engine)
    rows = 200_000
    start = datetime(2024, 1, 1)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO events (id, customer_id, at, ip) VALUES (?, 1, ?, ?)",
            [(i, str(start + timedelta(seconds=i)), f"10.{i % 250}.{i % 7}.1") for i in range(1, rows + 1)],
        )
    loaded = write_map(tmp_path, SHOP_MAP, url)
    found = discovery({"events": {("customer_id",): {(1,)}}})

    tracemalloc.start()
    try:
        package = export(loaded, found, engine, tmp_path / "big.zip.dvs")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert package.rows == rows
    archive = unpack(package.path, tmp_path)
    json_size = archive.getinfo("data/shop/events.json").file_size
    assert json_size > 15 * 2**20
    assert len(csv_of(archive, "data/shop/events.csv")) == rows + 1
    # Holding the rows (~50 MiB as Python objects), their JSON lines (~25 MiB) or the JSON text
    # (over 15 MiB) would break this bound; streaming stays at a few MiB whatever the rows.
    assert peak < 12 * 2**20, f"peak {peak / 2**20:.1f} MiB"
