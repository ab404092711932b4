"""``datavow demo``: build the three demo companies, check them, and show what to try next."""

from __future__ import annotations

import time
from pathlib import Path

import click
from rich.progress import TaskID
from rich.table import Table
from rich.text import Text

from datavow.check import check_map
from datavow.cli.options import progress_bar
from datavow.cli.output import console
from datavow.demo import COMPANIES, build_demo, record_demo
from datavow.findings import Severity


@click.command()
@click.argument("folder", type=click.Path(path_type=Path), default=Path("datavow-demo"))
@click.option("--url", help="Build on this PostgreSQL or MariaDB database instead of SQLite files.")
@click.option("--scale", type=float, default=1.0, show_default=True, help="Multiply the number of people.")
@click.option("--seed", type=int, default=7, show_default=True, help="Seed for the fake data (same seed, same data).")
@click.option("--company", "companies", multiple=True, type=click.Choice(COMPANIES), help="Build only this company.")
@click.option("--force", is_flag=True, help="Replace a demo already in FOLDER.")
def demo(folder: Path, url: str | None, scale: float, seed: int, companies: tuple[str, ...], force: bool) -> None:
    """Build the demo companies in FOLDER, check each, and print a tour."""
    started = time.monotonic()
    with progress_bar(width=34) as progress:
        tasks: dict[str, TaskID] = {}

        def on_progress(company: str, table: str, done: int, total: int) -> None:
            key = f"{company}/{table}"
            if key not in tasks:
                tasks[key] = progress.add_task(key, total=total)
            progress.update(tasks[key], completed=done)

        built = build_demo(
            folder, url=url, scale=scale, seed=seed, companies=companies or COMPANIES, force=force, progress=on_progress
        )
    summary = Table("company", "systems", "tables", "rows", "people", "check")
    reports = []
    for company in built:
        report = check_map(company.map_path)
        record_demo(company, report)
        reports.append((company, report))
        verdict = Text("ok", "green") if report.ok else Text("failed", "red")
        summary.add_row(
            company.title,
            str(len(company.systems)),
            str(len(company.rows)),
            f"{company.total_rows:,}",
            f"{company.people:,}",
            Text.assemble(verdict, f": {report.counts_text(hide_zero=True)}"),
        )
    console.print(summary)
    console.print(f"Built and checked in {time.monotonic() - started:.1f} s in {folder}/\n")
    for company, report in reports:
        errors = [f for f in report.findings if f.severity is Severity.error]
        if errors:
            console.print(Text.assemble((company.title, "bold"), ": what its privacy statement leaves open"))
            for finding in errors:
                console.print(f"  {finding.rule} [{finding.article}]: {finding.message}")
    first = built[0].map_path if built else folder / "mira-software" / "datavow.yaml"
    console.print("\nTry next:", style="bold")
    for command, why in (
        (f"datavow check --map {first}", "lint + drift against the live databases, with a fix for each finding"),
        (f"datavow check --map {first} --json", "the same, for CI"),
        ("datavow rules", "every lint rule and the article it enforces"),
        (f"datavow retention plan --map {first}", "what is past its retention period now, table by table"),
        (f"datavow retention run --map {first}", "delete or anonymise it, in short transactions, audited"),
        (f"datavow statement --map {first} --language nl", "the privacy statement, written from the map (in Dutch)"),
        (f"datavow ropa --map {first} --format xlsx --out ropa.xlsx", "the record of processing (Art. 30)"),
        (
            f'datavow incident open "Lost laptop" --description "An unencrypted laptop was stolen" --map {first}',
            "register a breach: the 72-hour clock starts",
        ),
        (f"datavow audit show --map {first}", "what datavow did, in the audit log"),
        (f"datavow audit verify --map {first}", "prove nobody changed the log"),
        ("datavow import fides DATASET.yml", "bring a Fides dataset into a map"),
    ):
        console.print(f"  {command}", style="bold")
        console.print(f"      {why}", style="dim")
