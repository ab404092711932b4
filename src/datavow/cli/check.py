"""``datavow check`` and ``datavow rules``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from datavow.check import check_and_record
from datavow.cli.options import actor_option, application, json_option, map_option
from datavow.cli.output import console, print_json
from datavow.findings import Severity
from datavow.lint import all_rules

_STYLE = {Severity.error: "bold red", Severity.warning: "yellow", Severity.info: "cyan"}


@click.command()
@map_option
@click.option("--no-drift", is_flag=True, help="Lint only; do not connect to the databases.")
@click.option("--system", "systems", multiple=True, help="Check drift for this system only (repeatable).")
@click.option("--select", multiple=True, help="Run only this lint rule (repeatable).")
@click.option("--ignore", multiple=True, help="Skip this lint rule (repeatable).")
@json_option("the report")
@click.option("--record", is_flag=True, help="Write the result to the audit log (map.checked).")
@click.option(
    "--state",
    "state_url",
    metavar="URL",
    envvar="DATAVOW_STATE_URL",
    help="State store for --record (default: .datavow/state.db beside the map).",
)
@actor_option
@click.pass_context
def check(
    ctx: click.Context,
    map_path: Path,
    no_drift: bool,
    systems: tuple[str, ...],
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    as_json: bool,
    record: bool,
    state_url: str | None,
    actor: str,
) -> None:
    """Check the data map against the law (lint) and the live databases (drift).

    Exit code 0: no errors; 1: errors found; 2: the map itself is invalid.
    """
    ctx.meta["datavow.json"] = as_json
    report = check_and_record(
        map_path,
        (lambda: application(map_path, state_url, create=True).store) if record else None,
        actor,
        drift=not no_drift,
        systems=systems or None,
        select=select or None,
        ignore=ignore,
    )
    if report.recorded is not None and not as_json:
        console.print(f"recorded as audit entry #{report.recorded.seq}", style="dim")
    if as_json:
        print_json(report.to_dict())
    else:
        for finding in report.findings:
            where = f"{finding.location}: " if finding.location else ""
            style = _STYLE[finding.severity]
            article = f" [{finding.article}]" if finding.article else ""
            console.print(
                Text.assemble(where, (finding.severity.value, style), " ", (finding.rule, "bold"), ": ")
                + Text(finding.message + article)
            )
            if finding.hint:
                console.print(f"    fix: {finding.hint}", style="dim")
        counts = report.counts_text()
        drift = (
            f"; drift checked on {', '.join(report.drift_systems)}" if report.drift_systems else "; drift not checked"
        )
        verdict = Text("ok", "bold green") if report.ok else Text("failed", "bold red")
        console.print(Text.assemble(verdict, f": {counts}{drift}"))
    sys.exit(0 if report.ok else 1)


@click.command()
@json_option("the rules")
def rules(as_json: bool) -> None:
    """List the lint rules: id, severity, the article each enforces, and the fix."""
    found = all_rules()
    if as_json:
        print_json([r.to_dict() for r in found])
        return
    table = Table("rule", "severity", "article", "what it catches")
    for r in found:
        table.add_row(r.id, r.severity.value, r.article, r.summary)
    console.print(table)
