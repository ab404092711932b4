"""``datavow import fides``: Fides datasets become a fragment that a real data map includes."""

from __future__ import annotations

import sqlite3
import textwrap
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner

from datavow import LoadedMap, load_map
from datavow.cli import DatavowGroup
from datavow.cli.importing import import_group
from datavow.connectors.drift import check_drift
from datavow.datamap.model import FieldStrategy, TableErasure
from datavow.errors import ImportError_, MapError
from datavow.findings import Severity
from datavow.interop import import_fides
from datavow.lint import run_lint

DATA = Path(__file__).parent / "data" / "fides"
SHOP = DATA / "shop.yml"
BILLING = DATA / "billing.yml"
SUPPORT = DATA / "support.yml"

# The main file a DPO writes; the systems come from the imported fragment.
MAIN_MAP = """\
organization:
  name: Example Shop bv
  country: BE
  contact: {email: privacy@shop.example}
  supervisory_authority: {name: Data Protection Authority (BE), url: https://www.dataprotectionauthority.be}
subjects:
  customer: {name: Customers, taxonomy: customer}
purposes:
  service:
    name: Selling and delivering orders
    basis: contract
    subjects: [customer]
    categories: [user.unique_id, user.contact, user.name, user.content.private, user.financial,
                 user.behavior, user.device.ip_address]
    retention: {period: 24 months, after: the customer's last order}
include: [fragment.yaml]
"""


def write_map(directory: Path, fragment: str) -> Path:
    (directory / "fragment.yaml").write_text(fragment, encoding="utf-8")
    main = directory / "datavow.yaml"
    main.write_text(MAIN_MAP, encoding="utf-8")
    return main


@pytest.fixture()
def shop_map(tmp_path: Path) -> LoadedMap:
    fragment = import_fides([SHOP, BILLING], subject="customer")
    return load_map(write_map(tmp_path, fragment))


def write_dataset(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "dataset.yml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- the fragment


def test_fragment_is_included_by_a_map_that_loads(shop_map: LoadedMap) -> None:
    systems = shop_map.model.systems
    assert list(systems) == ["shop", "billing"]
    assert list(systems["shop"].tables) == [
        "customer",
        "address",
        "orders",
        "order_line",
        "payment_card",
        "login",
        "employee",
    ]
    assert systems["shop"].url == "${SHOP_URL}"
    assert systems["shop"].name == "Shop database"
    assert list(systems["billing"].tables) == ["invoice"]


def review_notes(text: str) -> str:
    """The comment the fragment opens with, as one line."""
    header = text.split("\n\n", 1)[0].splitlines()
    assert all(line.startswith("#") for line in header)
    return " ".join(line.lstrip("# ") for line in header)


def test_fragment_opens_with_its_origin_and_what_to_review() -> None:
    text = import_fides(SHOP)
    assert text.startswith(f"# datavow data map fragment, imported from the Fides dataset file(s) {SHOP}")
    joined = review_notes(text)
    assert "SHOP_URL" in joined
    assert "no subject was given to the import" in joined
    assert "references to datasets not imported here: billing" in joined
    assert "orders.gift_message (random_string_rewrite)" in joined
    assert "Fides data subjects: customer, employee" in joined


def test_references_live_on_the_table_holding_the_key(shop_map: LoadedMap) -> None:
    def targets(table: str, system: str = "shop") -> dict[str, tuple[str, list[str]]]:
        references = shop_map.model.systems[system].tables[table].references
        return {name: (r.to, r.target_columns) for name, r in references.items() if r.columns == [name]}

    # direction: from, declared on the foreign key
    assert targets("orders")["customer_id"] == ("customer", ["id"])
    assert targets("payment_card")["customer_id"] == ("customer", ["id"])
    # direction: to, declared on the foreign key (Fides walks customer -> address): still customer's key
    assert targets("customer") == {"address_id": ("address", ["id"])}
    assert targets("orders")["shipping_address_id"] == ("address", ["id"])
    assert shop_map.model.systems["shop"].tables["address"].references == {}
    # direction: to, declared on the primary key orders.id: order_line holds it
    assert targets("order_line") == {"order_id": ("orders", ["id"])}
    assert "id" not in shop_map.model.systems["shop"].tables["orders"].references
    # no direction
    assert targets("login") == {"customer_id": ("customer", ["id"])}
    assert targets("orders")["packed_by"] == ("employee", ["id"])
    # across datasets, both ways
    assert targets("orders")["invoice_id"] == ("billing.invoice", ["id"])
    assert targets("invoice", "billing") == {"customer_id": ("shop.customer", ["id"])}


def test_reference_comments_say_how_fides_walks_them() -> None:
    # Fides' walk becomes the reference's owner: reading (the old import wrote every reference in
    # the short form, leaving whose rows are whose to a rule that followed every link)
    text = import_fides([SHOP, BILLING])
    assert "address_id: address.id  # Fides walks customer → address: address is a parent row, not the owner" in text
    assert (
        "customer_id: {to: customer, to_columns: [id], owner: true}  # Fides walks customer → orders: "
        "owned, a row belongs to the person of its customer row"
    ) in text
    assert "customer_id: customer.id  # Fides walks it both ways (no direction); datavow's default reading" in text


def test_fides_directions_become_owner_readings(shop_map: LoadedMap) -> None:
    def owner(table: str, name: str, system: str = "shop") -> bool | None:
        return shop_map.model.systems[system].tables[table].references[name].owner

    # direction: from on the key holder: Fides finds the holder's rows from the key's row
    assert owner("orders", "customer_id") is True
    assert owner("payment_card", "customer_id") is True
    # direction: to on the key's side (orders.id → order_line.order_id): order lines found from their order
    assert owner("order_line", "order_id") is True
    # direction: to on the key holder: the row pointed at is a parent row, never the owner; datavow's
    # default reading (no owner:) leads up to it, which a declared owner: false would not
    assert owner("customer", "address_id") is None
    assert owner("orders", "shipping_address_id") is None
    assert owner("orders", "invoice_id") is False  # the invoice identifies its own people: a link
    # no direction: datavow's default reading decides
    assert owner("login", "customer_id") is None and owner("orders", "packed_by") is None
    # from, but the invoice identifies its own people (customer_email): only a link, and said so
    assert owner("invoice", "customer_id", "billing") is False
    notes = review_notes(import_fides([SHOP, BILLING]))
    assert "references written as links (owner: false)" in notes and "invoice.customer_id → customer" in notes


def test_several_columns_of_one_identity_type_are_all_carried(tmp_path: Path) -> None:
    dataset = tmp_path / "calls.yml"
    dataset.write_text("""\
dataset:
  - fides_key: phone
    collections:
      - name: calls
        fields:
          - name: id
            fides_meta: {primary_key: true}
          - name: caller
            data_categories: [user.contact.phone_number]
            fides_meta: {identity: phone_number}
          - name: callee
            data_categories: [user.contact.phone_number]
            fides_meta: {identity: phone_number}
""")
    text = import_fides(dataset)
    assert "identity: {phone: [caller, callee]}" in text


def test_key_side_is_guessed_and_marked_when_the_other_dataset_is_missing(tmp_path: Path) -> None:
    text = import_fides(SHOP)
    assert (
        "invoice_id: billing.invoice.id  # Fides walks orders → invoice: invoice is a parent row, not the owner; "
        "review: key side guessed (invoice.id taken as the key)"
    ) in text
    # the fragment points at a system nobody declared: the map says so instead of guessing
    with pytest.raises(MapError, match="no system 'billing' is declared"):
        load_map(write_map(tmp_path, text))


def test_identities_and_primary_keys_are_carried(shop_map: LoadedMap) -> None:
    shop = shop_map.model.systems["shop"].tables
    assert shop["customer"].identity == {"email": ["email"], "phone": ["mobile"], "loyalty_number": ["loyalty_no"]}
    assert shop["employee"].identity == {"email": ["email"]}
    assert shop_map.model.systems["billing"].tables["invoice"].identity == {"email": ["customer_email"]}
    loyalty = shop_map.model.identities["loyalty_number"]
    assert (loyalty.format, loyalty.category) == ("integer", "user.unique_id")
    assert "email" not in shop_map.model.identities and "phone" not in shop_map.model.identities
    assert shop["customer"].primary_key == ["id"]
    assert shop["order_line"].primary_key == ["order_id", "line_no"]  # the file's order, not sorted
    assert shop["login"].primary_key == ["id"]


def test_categories_and_erasure_follow_fides_null_rewrite(shop_map: LoadedMap) -> None:
    shop = shop_map.model.systems["shop"].tables
    customer = shop["customer"]
    assert customer.fields["email"].category == ["user.contact.email"]
    assert customer.fields["email"].erase is not None
    assert customer.fields["email"].erase.strategy is FieldStrategy.nullify
    # system.* categories describe the system, not the person: not personal here
    assert customer.fields["signed_up_at"].category == []
    assert customer.fields["segment"].category == [] and customer.fields["segment"].erase is None
    # a primary key other rows refer to is kept, and says why
    key = customer.fields["id"].erase
    assert key is not None and key.strategy is FieldStrategy.keep
    assert key.reason is not None and "orders.customer_id" in key.reason
    assert "billing.invoice.customer_id" in key.reason
    assert customer.erase is TableErasure.anonymize
    assert customer.subject == "customer"
    # a table without personal data is left alone
    assert shop["order_line"].erase is None and shop["order_line"].subject is None
    # string_rewrite becomes a fixed value; other strategies fall back to null_rewrite's nullify
    label = shop["payment_card"].fields["label"].erase
    assert label is not None and (label.strategy, label.value) == (FieldStrategy.fixed, "removed")
    gift = shop["orders"].fields["gift_message"].erase
    assert gift is not None and gift.strategy is FieldStrategy.nullify


def test_collection_delete_override_and_schema(tmp_path: Path) -> None:
    path = write_dataset(
        tmp_path,
        """\
        dataset:
          - fides_key: crm
            fides_meta:
              namespace: {schema: sales}
            collections:
              - name: lead
                fides_meta:
                  masking_strategy_override: {strategy: delete}
                fields:
                  - name: email
                    data_categories: [user.contact.email]
                    fides_meta: {identity: email}
        """,
    )
    text = import_fides(path, url="postgresql://crm.internal/crm")
    system = yaml.safe_load(text)["systems"]["crm"]
    assert system["url"] == "postgresql://crm.internal/crm"
    assert system["schema"] == "sales"
    assert system["tables"]["lead"]["erase"] == "delete"


# --------------------------------------------------------------------------- nested fields


def test_nested_fields_are_refused_with_their_path() -> None:
    with pytest.raises(ImportError_) as caught:
        import_fides(SUPPORT)
    message = str(caught.value)
    assert f"{SUPPORT}:13:13: support.ticket.requester is a nested field (requester.email, requester.name)" in message
    assert "support.reply.author_email refers to the nested field support.ticket.requester.email" in message
    assert "skip nested fields to leave it out" in message
    assert {problem.fields for problem in caught.value.problems} == {("skip_nested",)}


def test_skip_nested_leaves_them_out_and_says_so(tmp_path: Path) -> None:
    text = import_fides(SUPPORT, skip_nested=True, subject="customer")
    assert "# skipped nested field requester (requester.email, requester.name), with the identity email" in text
    assert "# skipped the reference author_email → support.ticket.requester.email" in text
    tables = load_map(write_map(tmp_path, text)).model.systems["support"].tables
    assert "requester" not in tables["ticket"].fields
    assert tables["ticket"].identity == {}
    assert list(tables["reply"].references) == ["ticket_id"]
    # an array of scalars is still one column
    assert "labels" in tables["ticket"].fields


# --------------------------------------------------------------------------- invalid datasets


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            """\
            dataset:
              - fides_key: shop
                collections:
                  - name: orders
                    fields:
                      - name: customer_id
                        fides_meta:
                          references:
                            - {dataset: shop, field: customer.id, direction: sideways}
            """,
            ":9:66: shop.orders.customer_id: fides_meta.references[0].direction: Input should be 'from' or 'to'",
            id="bad-direction",
        ),
        pytest.param(
            """\
            dataset:
              - fides_key: shop
                collections:
                  - name: orders
                    fields:
                      - name: customer_id
                        fides_meta:
                          refrences: [{dataset: shop, field: customer.id}]
            """,
            ":8:15: shop.orders.customer_id: fides_meta: unknown key 'refrences'",
            id="unknown-key",
        ),
        pytest.param(
            """\
            dataset:
              - fides_key: shop
                collections:
                  - name: orders
            """,
            ":4:9: shop.orders: fields: Field required",
            id="missing-fields",
        ),
        pytest.param(
            """\
            dataset:
              - fides_key: shop
                collections:
                  - name: orders
                    fields:
                      - name: total
                        data_categories: [user.not a category]
            """,
            "shop.orders.total: data_categories[0]: FidesKeys must only contain",
            id="bad-category",
        ),
        pytest.param(
            """\
            dataset:
              - fides_key: shop
                collections:
                  - name: orders
                    fields:
                      - name: customer_id
                        fides_meta:
                          references: [{dataset: shop, field: customers.id, direction: from}]
            """,
            "shop.orders.customer_id refers to 'customers.id', but dataset shop has no collection 'customers'",
            id="missing-target",
        ),
        pytest.param(
            """\
            dataset:
              - fides_key: shop.eu
                collections: []
            """,
            "the dataset key 'shop.eu' cannot name a datavow system",
            id="dotted-key",
        ),
        pytest.param(
            """\
            system:
              - fides_key: shop
            """,
            "holds no Fides datasets",
            id="no-datasets",
        ),
        pytest.param("dataset: [\n", "YAML syntax error", id="yaml-syntax"),
    ],
)
def test_invalid_datasets_are_reported_clearly(tmp_path: Path, text: str, expected: str) -> None:
    path = write_dataset(tmp_path, text)
    with pytest.raises(ImportError_) as caught:
        import_fides(path)
    assert str(caught.value).startswith(f"cannot import {path}:")
    assert expected in str(caught.value)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write_dataset(
        tmp_path,
        """\
        dataset:
          - fides_key: shop
            collections:
              - name: orders
                fields:
                  - name: a
                    fides_meta: {identity: 42 is not a name}
                  - name: b
                    data_categorie: [user.name]
        """,
    )
    with pytest.raises(ImportError_, match="2 problems") as caught:
        import_fides(path)
    assert "unknown key 'data_categorie'" in str(caught.value)
    assert "the identity '42 is not a name' cannot name a datavow identity type" in str(caught.value)


def test_missing_file_and_bad_options(tmp_path: Path) -> None:
    with pytest.raises(ImportError_, match="no such file"):
        import_fides(tmp_path / "absent.yml")
    with pytest.raises(ImportError_, match="the URL given names one database, but the files hold 2 datasets"):
        import_fides([SHOP, BILLING], url="sqlite:///shop.db")
    with pytest.raises(ImportError_, match="'Customers!' is not a subject key"):
        import_fides(SHOP, subject="Customers!")
    with pytest.raises(ImportError_, match="the dataset 'shop' is given twice"):
        import_fides([SHOP, SHOP])


def test_older_fideslang_keys_and_other_resources_are_ignored_and_listed(tmp_path: Path) -> None:
    path = write_dataset(
        tmp_path,
        """\
        dataset:
          - fides_key: legacy
            data_qualifier: aggregated.anonymized
            collections:
              - name: people
                fields:
                  - name: email
                    data_categories: [user.contact.email]
                    retention: 2 years
                    fidesops_meta: {identity: email}
        system:
          - fides_key: app
        """,
    )
    text = import_fides(path)
    notes = review_notes(text)
    assert f"{path}:3:5: data_qualifier" in notes and f"{path}:9:13: retention" in notes
    assert f"{path}:11:1: the Fides 'system' resources" in notes
    assert yaml.safe_load(text)["systems"]["legacy"]["tables"]["people"]["identity"] == {"email": "email"}


# --------------------------------------------------------------------------- the command


def datavow_cli() -> click.Group:
    """The command as the main CLI mounts it, with the error handling every command shares
    (a fresh group: adding to the real ``main`` here would change it for other tests)."""
    return DatavowGroup(name="datavow", commands=[import_group])


def test_cli_writes_the_fragment(tmp_path: Path) -> None:
    out = tmp_path / "fragment.yaml"
    result = CliRunner().invoke(
        datavow_cli(), ["import", "fides", str(SHOP), str(BILLING), "-o", str(out), "--subject", "customer"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == "" and f"wrote {out}" in result.stderr
    (tmp_path / "datavow.yaml").write_text(MAIN_MAP, encoding="utf-8")
    loaded = load_map(tmp_path / "datavow.yaml")
    assert loaded.model.systems["shop"].tables["orders"].subject == "customer"


def test_cli_prints_to_stdout_and_reports_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(datavow_cli(), ["import", "fides", str(BILLING)])
    assert result.exit_code == 0
    assert result.stdout.startswith("# datavow data map fragment")
    assert "customer_id: {to: shop.customer, to_columns: [id], owner: false}" in result.stdout
    failed = runner.invoke(datavow_cli(), ["import", "fides", str(SUPPORT)])
    assert failed.exit_code == ImportError_.exit_code
    assert "error: cannot import" in failed.stderr and "--skip-nested" in failed.stderr
    assert failed.stdout == ""


# --------------------------------------------------------------------------- checks on the result


def test_imported_map_passes_lint(shop_map: LoadedMap) -> None:
    findings = run_lint(shop_map)
    assert [f for f in findings if f.severity is Severity.error] == []
    assert [str(f) for f in findings if f.location and f.location.file.endswith("fragment.yaml")] == []


def test_lint_sees_what_the_fragment_leaves_to_review(tmp_path: Path) -> None:
    # without --subject, lint points at the personal tables nobody has claimed yet
    loaded = load_map(write_map(tmp_path, import_fides([SHOP, BILLING])))
    flagged = {f.target for f in run_lint(loaded) if f.rule == "personal-table-without-subject"}
    assert flagged == {"shop.address"}


SHOP_TABLES = """
CREATE TABLE address (id INTEGER PRIMARY KEY, street TEXT, postal_code TEXT, city TEXT, country TEXT);
CREATE TABLE employee (id INTEGER PRIMARY KEY, email TEXT, full_name TEXT,
                       address_id INTEGER REFERENCES address (id));
CREATE TABLE customer (id INTEGER PRIMARY KEY, email TEXT, full_name TEXT, mobile TEXT, loyalty_no INTEGER,
                       address_id INTEGER REFERENCES address (id), signed_up_at TEXT, segment TEXT);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customer (id),
                     shipping_address_id INTEGER REFERENCES address (id),
                     packed_by INTEGER REFERENCES employee (id), invoice_id INTEGER, placed_at TEXT,
                     gift_message TEXT);
CREATE TABLE order_line (order_id INTEGER REFERENCES orders (id), line_no INTEGER, product TEXT,
                         quantity INTEGER, PRIMARY KEY (order_id, line_no));
CREATE TABLE payment_card (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customer (id),
                           billing_address_id INTEGER REFERENCES address (id), holder_name TEXT,
                           card_number TEXT, label TEXT);
CREATE TABLE login (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customer (id), at TEXT,
                    ip_address TEXT);
"""
BILLING_TABLES = """
CREATE TABLE invoice (id INTEGER PRIMARY KEY, number TEXT, customer_email TEXT, customer_id INTEGER,
                      amount NUMERIC, issued_at TEXT);
"""


def test_tables_the_dataset_describes_show_no_drift(
    shop_map: LoadedMap, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, ddl in (("shop", SHOP_TABLES), ("billing", BILLING_TABLES)):
        database = tmp_path / f"{name}.db"
        with sqlite3.connect(database) as connection:
            connection.executescript(ddl)
        monkeypatch.setenv(f"{name.upper()}_URL", f"sqlite:///{database}")
    # the URLs the fragment left to the environment now reach the databases
    assert shop_map.system_url("shop").endswith("shop.db")
    assert [str(f) for f in check_drift(shop_map)] == []


def test_drift_notices_a_table_the_dataset_misdescribes(
    shop_map: LoadedMap, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the same check, against a database whose login table lacks a column the dataset declares
    for name, ddl in (("shop", SHOP_TABLES.replace(" at TEXT,", "")), ("billing", BILLING_TABLES)):
        database = tmp_path / f"{name}.db"
        with sqlite3.connect(database) as connection:
            connection.executescript(ddl)
        monkeypatch.setenv(f"{name.upper()}_URL", f"sqlite:///{database}")
    assert any("login" in str(f) and "at" in str(f) for f in check_drift(shop_map))


# --------------------------------------------------------------------------- whose rows, identities, one database


def test_a_table_fides_reaches_from_several_is_left_to_the_default_reading(tmp_path: Path) -> None:
    path = write_dataset(
        tmp_path,
        """\
        dataset:
          - fides_key: desk
            collections:
              - name: customer
                fields:
                  - {name: id, fides_meta: {primary_key: true}}
                  - {name: email, data_categories: [user.contact.email], fides_meta: {identity: email}}
              - name: agent
                fields:
                  - {name: id, fides_meta: {primary_key: true}}
                  - {name: email, data_categories: [user.contact.email], fides_meta: {identity: email}}
              - name: ticket
                fields:
                  - {name: id, fides_meta: {primary_key: true}}
                  - name: customer_id
                    fides_meta: {references: [{dataset: desk, field: customer.id, direction: from}]}
                  - name: agent_id
                    fides_meta: {references: [{dataset: desk, field: agent.id, direction: from}]}
                  - {name: body, data_categories: [user.content]}
        """,
    )
    text = import_fides(path, subject="customer")
    references = yaml.safe_load(text)["systems"]["desk"]["tables"]["ticket"]["references"]
    # whose ticket is it? Fides walks in from both: only the map can say, and datavow check will ask
    assert references == {"customer_id": "customer.id", "agent_id": "agent.id"}
    assert "review: one of several references Fides walks in by" in text
    assert "tables Fides reaches from several tables, whose owner datavow's default reading decides: desk.ticket" in (
        review_notes(text)
    )


IDENTITIES = """\
dataset:
  - fides_key: desk
    collections:
      - name: request
        fields:
          - {name: id, fides_meta: {primary_key: true}}
          - {name: email, data_categories: [system.operations], fides_meta: {identity: email}}
          - {name: member_no, fides_meta: {identity: member_no, data_type: integer}}
          - {name: note, data_categories: [user.content]}
      - name: visit
        fields:
          - {name: email, data_categories: [user.contact.email], fides_meta: {identity: email}}
          - {name: at, data_categories: [system.operations]}
"""


def test_identity_columns_become_personal_and_erasable(tmp_path: Path) -> None:
    text = import_fides(write_dataset(tmp_path, IDENTITIES), subject="customer")
    tables = load_map(write_map(tmp_path, text)).model.systems["desk"].tables
    request = tables["request"]
    # Fides' system.operations on an identity: the old import wrote 'email: ~', which erasure never touched
    assert request.fields["email"].category == ["user.contact.email"]
    assert request.fields["member_no"].category == ["user.unique_id"]
    for name in ("email", "member_no"):
        erase = request.fields[name].erase
        assert erase is not None and erase.strategy is FieldStrategy.nullify
    assert "email: {category: user.contact.email, erase: nullify}  # Fides: system.operations; an identity" in text
    # no primary key in Fides: the column may be part of the database's key, so a keyed hash
    visit = tables["visit"].fields["email"].erase
    assert visit is not None and visit.strategy is FieldStrategy.hash
    notes = review_notes(text)
    assert "given one here so that erasure clears them: request.email (user.contact.email)" in notes
    assert "erased with a keyed hash" in notes and "visit.email" in notes
    assert [f for f in run_lint(load_map(tmp_path / "datavow.yaml")) if f.rule == "identity-not-erasable"] == []


def test_lint_reports_an_identity_column_erasure_would_leave(tmp_path: Path) -> None:
    text = import_fides(write_dataset(tmp_path, IDENTITIES), subject="customer")
    # what the old import wrote: the identity column with no category, on a table that anonymises
    old = text.replace(
        "email: {category: user.contact.email, erase: nullify}  # Fides: system.operations; an identity (email), "
        "so personal here",
        "email: ~",
    )
    assert old != text
    findings = [f for f in run_lint(load_map(write_map(tmp_path, old))) if f.rule == "identity-not-erasable"]
    assert [(f.target, f.severity) for f in findings] == [("desk.request.email", Severity.error)]
    assert findings[0].hint is not None and "erase: delete" in findings[0].hint
    # deleting the rows erases the column with them
    deleting = old.replace("        erase: anonymize", "        erase: delete", 1)  # the request table's
    assert [f for f in run_lint(load_map(write_map(tmp_path, deleting))) if f.rule == "identity-not-erasable"] == []


def test_datasets_of_one_database_become_one_system(tmp_path: Path) -> None:
    text = import_fides([SHOP, BILLING], system="store", subject="customer")
    loaded = load_map(write_map(tmp_path, text))
    assert list(loaded.model.systems) == ["store"]
    store = loaded.model.systems["store"]
    assert store.url == "${STORE_URL}"
    assert set(store.tables) >= {"customer", "orders", "invoice"}
    # the references between the datasets now stay inside the one system
    assert store.tables["orders"].references["invoice_id"].to == "invoice"
    assert store.tables["invoice"].references["customer_id"].to == "customer"
    assert "datasets imported as one system (one database): store: shop, billing" in review_notes(text)
    # drift compares the one database with every table both datasets describe: nothing is "undeclared"
    database = tmp_path / "store.db"
    with sqlite3.connect(database) as connection:
        connection.executescript(SHOP_TABLES + BILLING_TABLES)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STORE_URL", f"sqlite:///{database}")
        assert [str(f) for f in check_drift(loaded)] == []


def test_datasets_naming_the_same_database_share_a_system(tmp_path: Path) -> None:
    first, second = tmp_path / "a.yml", tmp_path / "b.yml"
    for path, key, table, schema in ((first, "crm", "lead", "sales"), (second, "crm_extra", "loyalty", "extra")):
        path.write_text(
            textwrap.dedent(f"""\
            dataset:
              - fides_key: {key}
                fides_meta: {{namespace: {{database_name: crm, schema: {schema}}}}}
                collections:
                  - name: {table}
                    fields:
                      - {{name: email, data_categories: [user.contact.email], fides_meta: {{identity: email}}}}
            """),
            encoding="utf-8",
        )
    systems = yaml.safe_load(import_fides([first, second]))["systems"]
    assert list(systems) == ["crm"]
    assert systems["crm"]["schema"] == "sales"
    assert "schema" not in systems["crm"]["tables"]["lead"]
    assert systems["crm"]["tables"]["loyalty"]["schema"] == "extra"


def test_one_system_refuses_a_table_two_datasets_describe(tmp_path: Path) -> None:
    copy = tmp_path / "copy.yml"
    copy.write_text(BILLING.read_text(encoding="utf-8").replace("fides_key: billing", "fides_key: billing2"))
    with pytest.raises(ImportError_) as caught:
        import_fides([BILLING, copy], system="store")
    assert "billing2.invoice: system store already has a table 'invoice' from another dataset" in str(caught.value)
    with pytest.raises(ImportError_, match="'store.eu' cannot name a datavow system"):
        import_fides(SHOP, system="store.eu")
    with pytest.raises(ImportError_, match="name the one system when they all describe that database") as one:
        import_fides([SHOP, BILLING], url="sqlite:///shop.db")
    assert [problem.fields for problem in one.value.problems] == [("system", "url")]
    # with --system, --url names the one database they describe
    assert "url: sqlite:///shop.db" in import_fides([SHOP, BILLING], url="sqlite:///shop.db", system="shop")


def test_cli_imports_several_datasets_as_one_system(tmp_path: Path) -> None:
    result = CliRunner().invoke(datavow_cli(), ["import", "fides", str(SHOP), str(BILLING), "--system", "store"])
    assert result.exit_code == 0, result.output
    refused = CliRunner().invoke(datavow_cli(), ["import", "fides", str(SHOP), str(BILLING), "--url", "sqlite:///s.db"])
    assert "name the one system when they all describe that database" in refused.stderr
    assert "(--system, --url)" in refused.stderr  # the CLI names the options the library's fields are
    assert list(yaml.safe_load(result.stdout)["systems"]) == ["store"]


def test_a_row_pointed_at_that_identifies_people_is_a_link(tmp_path: Path) -> None:
    path = write_dataset(
        tmp_path,
        """\
        dataset:
          - fides_key: crm
            collections:
              - name: employee
                fields:
                  - {name: id, fides_meta: {primary_key: true}}
                  - {name: email, data_categories: [user.contact.email], fides_meta: {identity: email}}
              - name: customer
                fields:
                  - {name: id, fides_meta: {primary_key: true}}
                  - {name: email, data_categories: [user.contact.email], fides_meta: {identity: email}}
                  - name: support_rep_id
                    fides_meta: {references: [{dataset: crm, field: employee.id, direction: to}]}
                  - name: manager_id
                    fides_meta: {references: [{dataset: crm, field: customer.id, direction: to}]}
        """,
    )
    crm = load_map(write_map(tmp_path, import_fides(path, subject="customer"))).model.systems["crm"]
    customer = crm.tables["customer"].references
    # Fides walks from the customer to their rep: the rep is another person, never a parent row
    assert customer["support_rep_id"].owner is False
    assert customer["manager_id"].owner is False  # a reference to its own table names someone else
