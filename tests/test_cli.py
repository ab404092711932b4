"""The `datavow` command end to end, as a person runs it after install."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from datavow.cli import main


def test_demo_builds_checks_records_and_tours(tmp_path: Path) -> None:
    runner = CliRunner()
    folder = tmp_path / "demo"
    result = runner.invoke(main, ["demo", str(folder), "--scale", "0.2"])
    assert result.exit_code == 0, result.output
    assert "Try next:" in result.output and "Built and checked in" in result.output
    # the statements' real gaps are shown, with the article each breaks
    assert "controller-contact-missing [Art. 13(1)(a), 14(1)(a)]" in result.output
    assert "purpose 'recruitment' says nothing about how long" in result.output
    expected_exit = {"mira-software": 0, "mira-network": 1, "miralix": 1}
    for company, code in expected_exit.items():
        map_path = folder / company / "datavow.yaml"
        checked = runner.invoke(main, ["check", "--map", str(map_path), "--json"])
        assert checked.exit_code == code, checked.output
        report = json.loads(checked.output)
        assert not [f for f in report["findings"] if f["rule"].startswith("drift-")], "the demo drifted"
        log = runner.invoke(main, ["audit", "show", "--map", str(map_path), "--json"])
        assert [e["action"] for e in json.loads(log.output)] == ["map.checked", "demo.built"]
        verified = runner.invoke(main, ["audit", "verify", "--map", str(map_path)])
        assert verified.exit_code == 0 and "intact" in verified.output
    again = runner.invoke(main, ["demo", str(folder), "--scale", "0.2"])
    assert again.exit_code == 6 and "--force" in again.output
    assert (
        runner.invoke(main, ["demo", str(folder), "--scale", "0.2", "--company", "miralix", "--force"]).exit_code == 0
    )


def test_errors_are_messages_with_exit_codes_never_tracebacks(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(main, ["check", "--map", str(tmp_path / "none.yaml")])
    assert missing.exit_code == 2 and "no such file" in missing.output
    no_state = runner.invoke(main, ["audit", "verify", "--map", str(tmp_path / "none.yaml")])
    assert no_state.exit_code == 4, no_state.output
    bad_rule = tmp_path / "datavow.yaml"
    bad_rule.write_text("organization: {name: X, country: BE, contact: {email: a@b.be}}\n")
    unknown = runner.invoke(main, ["check", "--map", str(bad_rule), "--select", "no-such-rule"])
    assert unknown.exit_code == 1 and "unknown lint rule" in unknown.output
    for result in (missing, no_state, unknown):
        assert "Traceback" not in result.output
