"""Loading and validating data maps: every problem at once, each at its file:line:col."""

from __future__ import annotations

from pathlib import Path

import pytest

from datavow import MapError, load_map
from datavow.datamap.model import Duration, FieldStrategy, TableErasure
from datavow.datamap.source import MISSING_FILE

VALID = """\
organization:
  name: Shop bv
  country: BE
  contact: {email: privacy@shop.example}
subjects:
  customer: Customers
purposes:
  service:
    name: Selling and delivering
    basis: contract
    subjects: [customer]
    categories: [user.contact, user.name]
    retention: 2 years
systems:
  shop:
    url: sqlite:///shop.db
    tables:
      customers:
        subject: customer
        identity: {email: email}
        primary_key: id
        erase: anonymize
        fields:
          id: ~
          email: {category: user.contact.email, erase: hash}
          name: {category: user.name, erase: nullify}
      orders:
        references: {customer_id: customers.id}
        retention: {keep: 7 years, after: placed_at}
        erase: delete
        fields: {id: ~, customer_id: ~, placed_at: ~}
"""

# Ten mistakes of different kinds; each planted line is marked, so the expected line numbers
# follow the text rather than being typed twice.
TEN_MISTAKES = """\
organization:
  name: Shop bv
  country: BE
  colour: blue                                  # MISTAKE unknown key 'colour'
  contact: {email: privacy@shop.example}
recipients:
  mailer: {name: Mailer Inc, kind: processor, country: XX}    # MISTAKE 'XX' is not an ISO 3166-1
  courier: {name: Courier, kind: controler, country: BE}      # MISTAKE 'controler' is not allowed
subjects:
  customer: Customers
  customer: Clients                             # MISTAKE 'customer' is defined twice
purposes:
  service:                                      # MISTAKE missing the required key 'name'
    basis: contract
  marketing:
    name: Newsletters
    basis: consent
    subjects: [customers]                       # MISTAKE unknown subject 'customers'
    retention: 1 year
systems:
  shop:
    url: sqlite:///shop.db
    tables:
      customers:
        subject: customer
        identity: [email]                       # MISTAKE expected a mapping
        fields: {id: ~, email: user.contact.email}
      orders:
        references: {customer_id: customer.id}  # MISTAKE table 'customer'
        fields: {id: ~, customer_id: ~}
      visits:
        retention: {keep: 90 dayz, after: at}   # MISTAKE '90 dayz' is not a period
        fields: {id: ~, at: ~}
      reviews:
        fields:
          id: ~
          text: {category: user.contnt, erase: nullify}   # MISTAKE unknown data category 'user.contnt'
"""


def write(tmp_path: Path, text: str, name: str = "datavow.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_valid_map_loads_with_resolved_parts(tmp_path: Path) -> None:
    loaded = load_map(write(tmp_path, VALID))
    customers = loaded.table("shop", "customers").table
    assert customers.primary_key == ["id"]
    assert customers.erase is TableErasure.anonymize
    assert customers.fields["email"].erase is not None
    assert customers.fields["email"].erase.strategy is FieldStrategy.hash
    orders = loaded.table("shop", "orders").table
    reference = orders.references["customer_id"]
    assert (reference.columns, reference.to, reference.target_columns) == (
        ["customer_id"],
        "customers",
        ["id"],
    )
    assert orders.retention is not None and orders.retention.keep == Duration(7, "year")
    assert loaded.model.purposes["service"].retention is not None
    # a relative SQLite path is taken relative to the map's folder, not the working directory
    assert loaded.system_url("shop") == f"sqlite:///{(tmp_path / 'shop.db').resolve()}"


def test_ten_planted_mistakes_give_ten_located_errors(tmp_path: Path) -> None:
    path = write(tmp_path, TEN_MISTAKES)
    with pytest.raises(MapError) as caught:
        load_map(path)
    expected = [
        (number, line.split("# MISTAKE", 1)[1].strip())
        for number, line in enumerate(TEN_MISTAKES.splitlines(), start=1)
        if "# MISTAKE" in line
    ]
    problems = caught.value.problems
    assert len(expected) == 10
    assert [(p.location.line if p.location else None) for p in problems] == [line for line, _ in expected]
    for problem, (line, words) in zip(problems, expected, strict=False):
        assert problem.location is not None and problem.location.file == str(path)
        assert words in str(problem), f"line {line}: expected {words!r} in {problem}"
        assert problem.hint, f"line {line}: {problem} gives no hint"


def test_problems_render_as_file_line_col_what_and_fix(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("basis: contract", "basis: contrat"))
    with pytest.raises(MapError) as caught:
        load_map(path)
    (problem,) = caught.value.problems
    assert str(problem) == (
        f"{path}:10:12: purposes.service.basis: 'contrat' is not allowed — did you mean 'contract'? "
        "use one of: consent, contract, legal_obligation, vital_interests, public_task, legitimate_interest"
    )


@pytest.mark.parametrize(
    ("replace", "by", "words"),
    [
        ("erase: nullify", "erase: null", "write 'erase: nullify'"),
        ("retention: 2 years", "retention: 2", "not a period"),
        ("keep: 7 years", "keep: 7 yrs", "'7 yrs' is not a period"),
        (
            "primary_key: id",
            "primary_key: uid",
            "'uid' is not a declared field of table 'customers'",
        ),
        (
            "identity: {email: email}",
            "identity: {mail: email}",
            "unknown identity type 'mail'",
        ),
        (
            "after: placed_at",
            "after: customers.created",
            "'created' is not a declared field of table 'customers'",
        ),
        (
            "after: placed_at",
            "after: invoices.at",
            "'invoices' is not reached by following this table's references",
        ),
        (
            "categories: [user.contact, user.name]",
            "categories: [user.contact, user.nam]",
            "did you mean 'user.name'?",
        ),
        ("country: BE", "country: Belgium", "not an ISO 3166-1 alpha-2 country code"),
        ("url: sqlite:///shop.db", "url: 42", "expected text"),
        ("{customer_id: customers.id}", "{customer_id: customers}", "'customers' is not a reference"),
        (
            "{customer_id: customers.id}",
            "{customer_id: {to: customers, to_columns: [uid]}}",
            "'uid' is not a declared field of table 'customers'",
        ),
    ],
)
def test_each_kind_of_mistake_is_explained(tmp_path: Path, replace: str, by: str, words: str) -> None:
    assert replace in VALID
    with pytest.raises(MapError) as caught:
        load_map(write(tmp_path, VALID.replace(replace, by, 1)))
    assert any(words in str(p) for p in caught.value.problems), caught.value.problems


def test_yaml_syntax_error_is_located_not_a_traceback(tmp_path: Path) -> None:
    with pytest.raises(MapError) as caught:
        load_map(
            write(
                tmp_path,
                VALID.replace("  customer: Customers", "  customer: [Customers"),
            )
        )
    (problem,) = caught.value.problems
    assert problem.location is not None and problem.location.line >= 6
    assert "YAML syntax error" in problem.message


def test_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(MapError) as caught:
        load_map(tmp_path / "nope.yaml")
    assert "no such file" in str(caught.value) and "check the path" in str(caught.value)
    (problem,) = caught.value.problems
    assert problem.fields == ("map_path",) and problem.code == MISSING_FILE


def test_environment_variables_fill_urls_and_missing_ones_are_located(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, VALID.replace("url: sqlite:///shop.db", "url: ${SHOP_URL}"))
    loaded = load_map(path)  # loading needs no secrets: URLs are filled only when used
    monkeypatch.delenv("SHOP_URL", raising=False)
    with pytest.raises(MapError) as caught:
        loaded.system_url("shop")
    assert "SHOP_URL is not set" in str(caught.value) and f"{path}:16:" in str(caught.value)
    monkeypatch.setenv("SHOP_URL", "postgresql+psycopg://shop@db.internal/shop")
    assert loaded.system_url("shop") == "postgresql+psycopg://shop@db.internal/shop"


def test_include_adds_systems_and_locates_problems_in_the_included_file(
    tmp_path: Path,
) -> None:
    head, systems = VALID.split("systems:\n")
    write(
        tmp_path,
        "systems:\n" + systems.replace("customers.id", "clients.id"),
        "systems.yaml",
    )
    main = write(tmp_path, head + "include: [systems.yaml]\n")
    with pytest.raises(MapError) as caught:
        load_map(main)
    (problem,) = caught.value.problems
    assert problem.location is not None
    assert problem.location.file.endswith("systems.yaml") and problem.location.line == 15
    write(tmp_path, "systems:\n" + systems, "systems.yaml")
    assert set(load_map(main).model.systems) == {"shop"}


def test_include_may_not_redefine_or_add_other_sections(tmp_path: Path) -> None:
    write(
        tmp_path,
        "subjects:\n  customer: Again\norganization: {name: X}\n",
        "extra.yaml",
    )
    with pytest.raises(MapError) as caught:
        load_map(write(tmp_path, VALID + "include: [extra.yaml]\n"))
    text = str(caught.value)
    assert "subjects.customer is already defined" in text
    assert "'organization' cannot appear in an included file" in text


def test_composite_references_and_cross_system_targets(tmp_path: Path) -> None:
    text = (
        VALID
        + """\
  billing:
    url: sqlite:///billing.db
    tables:
      lines:
        references:
          buyer: {columns: [shop_customer], to: shop.customers, to_columns: [id]}
          pair: {columns: [a, b], to: pairs}
          shop_customer: {to: shop.customers, to_columns: id}
        fields: {shop_customer: ~, a: ~, b: ~}
      pairs:
        primary_key: [a, b]
        fields: {a: ~, b: ~}
"""
    )
    loaded = load_map(write(tmp_path, text))
    refs = loaded.table("billing", "lines").table.references
    assert refs["buyer"].to == "shop.customers" and refs["buyer"].target_columns == ["id"]
    assert refs["pair"].target_columns == ["a", "b"]
    assert (refs["shop_customer"].columns, refs["shop_customer"].target_columns) == (["shop_customer"], ["id"])
    assert loaded.table("shop", "orders").table.references["customer_id"].columns == ["customer_id"]
    broken = text.replace("to_columns: [id]", "to_columns: [id, email]")
    with pytest.raises(MapError, match="the reference has 1 column"):
        load_map(write(tmp_path, broken))
