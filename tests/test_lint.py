"""Lint rules: a lawful map is clean; each mistake fires its rule, at its line, with its article."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from datavow import load_map
from datavow.cli import main
from datavow.findings import Severity
from datavow.lint import all_rules, run_lint

LAWFUL = """\
organization:
  name: Shop bv
  country: BE
  roles: [controller]
  contact: {email: privacy@shop.example}
  supervisory_authority: {name: Data Protection Authority, country: BE}
recipients:
  host: {name: Hosting bv, kind: processor, country: NL, agreement: DPA 2024-01}
subjects:
  customer: Customers
purposes:
  service:
    name: Selling and delivering
    basis: contract
    subjects: [customer]
    categories: [user.contact, user.name, user.unique_id]
    recipients: [host]
    retention: 2 years
  security:
    name: Keeping the shop secure
    basis: legitimate_interest
    interest: Preventing fraud and abuse
    subjects: [customer]
    categories: [user.device.ip_address]
systems:
  shop:
    url: sqlite:///shop.db
    location: {country: NL, provider: host}
    tables:
      customers:
        subject: customer
        identity: {email: email}
        purposes: [service]
        erase: anonymize
        retention: {keep: 2 years, after: last_order_at}
        fields:
          last_order_at: ~
          id: {category: user.unique_id, erase: keep}
          email: {category: user.contact.email, erase: hash}
          name: {category: user.name, erase: nullify}
      logins:
        subject: customer
        purposes: [security]
        references: {customer_id: customers.id}
        retention: {keep: 90 days, after: at}
        erase: delete
        fields: {id: ~, customer_id: ~, at: ~, ip: user.device.ip_address}
"""


def lint(tmp_path: Path, text: str) -> list[tuple[str, int, Severity]]:
    path = tmp_path / "datavow.yaml"
    path.write_text(text)
    return [(f.rule, f.location.line if f.location else 0, f.severity) for f in run_lint(load_map(path))]


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_lawful_map_is_clean(tmp_path: Path) -> None:
    assert lint(tmp_path, LAWFUL) == []


# (rule id, text to replace, replacement, the line the finding points at: text found there after the change)
CASES = [
    (
        "field-without-purpose",
        "categories: [user.contact, user.name, user.unique_id]",
        "categories: [user.contact, user.unique_id]",
        "name: {category: user.name",
    ),
    (
        "purpose-without-retention",
        "  security:\n",
        "  news:\n    name: News\n    basis: consent\n    subjects: [customer]\n"
        "    categories: [user.contact.email]\n  security:\n",
        "  news:",
    ),
    ("retention-not-enforced", "        retention: {keep: 2 years, after: last_order_at}\n", "", "retention: 2 years"),
    ("controller-contact-missing", "contact: {email: privacy@shop.example}", "contact: {name: Shop}", "contact:"),
    ("legitimate-interest-unstated", "    interest: Preventing fraud and abuse\n", "", "basis: legitimate_interest"),
    (
        "legal-obligation-without-law",
        "basis: legitimate_interest\n    interest: Preventing fraud and abuse",
        "basis: legal_obligation",
        "basis: legal_obligation",
    ),
    (
        "special-category-without-condition",
        "categories: [user.device.ip_address]",
        "categories: [user.device.ip_address, user.health_and_medical]",
        "user.health_and_medical]",
    ),
    (
        "criminal-data-without-law",
        "categories: [user.device.ip_address]",
        "categories: [user.device.ip_address, user.criminal_history]",
        "user.criminal_history]",
    ),
    ("transfer-without-safeguard", "country: NL, agreement", "country: IN, agreement", "country: IN"),
    ("derogation-unnamed", "country: NL, agreement", "country: IN, safeguard: derogation, agreement", "country: IN"),
    ("processor-without-controllers", "roles: [controller]", "roles: [controller, processor]", "roles:"),
    ("recipient-without-country", "kind: processor, country: NL, agreement", "kind: processor, agreement", "host:"),
    ("processor-without-agreement", ", agreement: DPA 2024-01", "", "host:"),
    (
        "field-without-erasure",
        "name: {category: user.name, erase: nullify}",
        "name: {category: user.name}",
        "name: {category: user.name}",
    ),
    ("identity-not-erasable", "email: {category: user.contact.email, erase: hash}", "email: ~", "email: ~"),
    (
        "personal-table-without-subject",
        "        subject: customer\n        purposes: [security]\n        references: {customer_id: customers.id}\n",
        "        purposes: [security]\n",
        "      logins:",
    ),
    (
        "reference-ownership-ambiguous",
        "        subject: customer\n        purposes: [security]\n",
        "        purposes: [security]\n",
        "references: {customer_id",
    ),
    ("subject-table-without-identity", "        identity: {email: email}\n", "", "      customers:"),
    (
        "purpose-without-subjects",
        "    subjects: [customer]\n    categories: [user.device",
        "    categories: [user.device",
        "  security:",
    ),
    ("purpose-without-categories", "\n    categories: [user.device.ip_address]", "", "  security:"),
    ("representative-missing", "  country: BE\n  roles", "  country: US\n  roles", "  country: US"),
    (
        "authority-missing",
        "  supervisory_authority: {name: Data Protection Authority, country: BE}\n",
        "",
        "organization:",
    ),
    ("inline-credentials", "url: sqlite:///shop.db", "url: postgresql://shop:hunter2@db/shop", "url: postgresql"),
    ("unused-purpose", "purposes: [security]", "purposes: [service]", "  security:"),
    (
        "automated-decision-without-ground",
        "    interest: Preventing fraud and abuse\n",
        "    interest: Preventing fraud and abuse\n"
        "    automated_decision: {logic: A risk score., consequences: Blocked.}\n",
        "automated_decision:",
    ),
    # What the record of processing and the privacy statement need (datavow.lint.record)
    (
        "system-without-location",
        "systems:\n  shop:\n    url: sqlite:///shop.db\n    location: {country: NL, provider: host}\n",
        "documents: {languages: [en]}\nsystems:\n  shop:\n    url: sqlite:///shop.db\n",
        "  shop:",
    ),
    ("measures-missing", "recipients:\n", "documents: {languages: [en]}\nrecipients:\n", "organization:"),
    ("dpo-undeclared", "recipients:\n", "documents: {languages: [en]}\nrecipients:\n", "organization:"),
    ("cookies-undeclared", "recipients:\n", "documents: {languages: [en]}\nrecipients:\n", "organization:"),
    ("statement-undated", "recipients:\n", "documents: {languages: [en]}\nrecipients:\n", "organization:"),
    (
        "controller-served-without-contact",
        "roles: [controller]",
        "roles: [controller, processor]\n  controllers: {acme: {name: Acme}}",
        "controllers:",
    ),
    ("processor-without-processing", "roles: [controller]", "roles: [controller, processor]", "roles:"),
    (
        "cookie-without-consent",
        "recipients:\n",
        "cookies:\n  placed:\n    track: {name: _t, purpose: security, duration: 1 year}\nrecipients:\n",
        "track:",
    ),
]


@pytest.mark.parametrize(("rule_id", "old", "new", "at"), CASES, ids=[c[0] for c in CASES])
def test_each_rule_fires_at_its_line(tmp_path: Path, rule_id: str, old: str, new: str, at: str) -> None:
    assert old in LAWFUL
    text = LAWFUL.replace(old, new, 1)
    found = [(rule, line) for rule, line, _ in lint(tmp_path, text) if rule == rule_id]
    assert found, f"{rule_id} did not fire"
    assert found[0][1] == line_of(text, at)


def test_every_rule_has_a_case_an_article_and_a_hint() -> None:
    rules = all_rules()
    assert {r.id for r in rules} == {c[0] for c in CASES}
    for r in rules:
        assert r.article.startswith("Art. "), r.id
        assert r.hint and r.summary, r.id


def test_special_category_with_condition_is_lawful(tmp_path: Path) -> None:
    text = LAWFUL.replace(
        "categories: [user.device.ip_address]",
        "categories: [user.device.ip_address, user.health_and_medical]\n    special_condition: explicit_consent",
    )
    assert [r for r, _, _ in lint(tmp_path, text) if r.startswith("special")] == []


def test_adequacy_and_dpf_are_judged_by_country(tmp_path: Path) -> None:
    for country, safeguard, fires in [
        ("CH", None, False),
        ("US", "dpf", False),
        ("IN", "dpf", True),
        ("IN", "adequacy", True),
        ("IN", "scc", False),
        ("JP", None, False),
    ]:
        extra = f", safeguard: {safeguard}" if safeguard else ""
        text = LAWFUL.replace("country: NL, agreement", f"country: {country}{extra}, agreement")
        fired = any(r == "transfer-without-safeguard" for r, _, _ in lint(tmp_path, text))
        assert fired is fires, (country, safeguard)


def test_check_cli_exit_codes_and_json(tmp_path: Path) -> None:
    path = tmp_path / "datavow.yaml"
    runner = CliRunner()
    path.write_text(LAWFUL)
    clean = runner.invoke(main, ["check", "--map", str(path), "--no-drift"])
    assert clean.exit_code == 0, clean.output
    assert "ok: 0 errors" in clean.output
    path.write_text(LAWFUL.replace("    interest: Preventing fraud and abuse\n", ""))
    failed = runner.invoke(main, ["check", "--map", str(path), "--no-drift", "--json"])
    assert failed.exit_code == 1
    report = json.loads(failed.output)
    assert report["ok"] is False and report["counts"]["error"] == 1
    (finding,) = report["findings"]
    assert finding["rule"] == "legitimate-interest-unstated" and finding["article"] == "Art. 6(1)(f)"
    assert finding["line"] == line_of(LAWFUL, "basis: legitimate_interest")
    ignored = runner.invoke(
        main, ["check", "--map", str(path), "--no-drift", "--ignore", "legitimate-interest-unstated"]
    )
    assert ignored.exit_code == 0
    path.write_text(LAWFUL.replace("basis: contract", "basis: contrat"))
    invalid = runner.invoke(main, ["check", "--map", str(path), "--no-drift"])
    assert invalid.exit_code == 2
    assert f"{path}:14:12:" in invalid.output and "Traceback" not in invalid.output
    unknown = runner.invoke(main, ["check", "--map", str(path.with_name("missing.yaml"))])
    assert unknown.exit_code == 2 and "no such file" in unknown.output


def test_check_record_writes_a_verifiable_audit_entry(tmp_path: Path) -> None:
    from datavow.audit import list_entries, verify_chain
    from datavow.store import open_store

    path = tmp_path / "datavow.yaml"
    path.write_text(LAWFUL.replace("    interest: Preventing fraud and abuse\n", ""))
    state = f"sqlite:///{tmp_path / 'state.db'}"
    result = CliRunner().invoke(
        main, ["check", "--map", str(path), "--no-drift", "--record", "--state", state, "--actor", "dpo@shop.example"]
    )
    assert result.exit_code == 1
    with open_store(state, create=False) as store:
        *opening, entry = list_entries(store)
        assert verify_chain(store).ok
    assert [e.action for e in opening] == ["audit.signed"]  # a new log is signed from its first entry
    assert (entry.actor, entry.action, entry.object_type, entry.object_id) == (
        "dpo@shop.example",
        "map.checked",
        "map",
        str(path.resolve()),
    )
    assert entry.details["ok"] is False and entry.details["failed_rules"] == ["legitimate-interest-unstated"]
    assert entry.details["fingerprint"] == load_map(path).fingerprint()
    path.write_text(LAWFUL)
    assert load_map(path).fingerprint() != entry.details["fingerprint"]  # another version of the map
