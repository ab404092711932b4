"""``datavow retention plan|run|sweeps`` and ``datavow worker``: retention that enforces itself."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from datavow.cli.options import (
    EXIT_NO,
    actor_option,
    application,
    json_option,
    map_option,
    progress_bar,
    state_options,
)
from datavow.cli.output import console, print_json
from datavow.retention import SweepResult, SystemSweep, plan_retention, run_worker, sweep_report, sweep_retention
from datavow.retention.anchoring import AnchorRun
from datavow.retention.offboarding import DueRun
from datavow.retention.schedule import Stop
from datavow.retention.sweep import default_worker


@click.group("retention")
def retention_group() -> None:
    """Plan and run retention sweeps: delete or anonymise what is past its period."""


system_option = click.option(
    "--system",
    "systems",
    multiple=True,
    metavar="NAME",
    help="Only this system (repeatable); 'datavow' is datavow's own records.",
)


def _when(value: object) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


@retention_group.command("plan")
@map_option
@system_option
@click.option("--at", "at", type=click.DateTime(), help="Judge what is due at this moment (UTC) instead of now.")
@json_option("the plan")
def plan_command(map_path: Path, systems: tuple[str, ...], at: datetime | None, as_json: bool) -> None:
    """Show, for each rule: how many rows are due, the oldest, rows a hold keeps, and what will be
    done (and to which referencing tables). Changes nothing."""
    app = application(map_path)
    now = at.replace(tzinfo=UTC) if at is not None else datetime.now(UTC)
    plan = plan_retention(app.loaded, app.databases, systems=systems, now=now)
    if as_json:
        print_json(plan.to_dict())
        return
    table = Table(title=f"retention at {now:%Y-%m-%d %H:%M} UTC", title_justify="left")
    for column in ("rule", "keep", "after", "due", "oldest", "held", "action"):
        table.add_column(
            column,
            justify="right" if column in ("due", "held") else "left",
            no_wrap=column in ("rule", "due"),
            overflow="fold",
        )
    for rule in plan.rules:
        held = f"{rule.held:,}" if rule.held else ""
        table.add_row(rule.label, rule.period, rule.after, f"{rule.due:,}", _when(rule.oldest), held, rule.does)
    console.print(table)
    for rule in plan.rules:
        if rule.cascade and rule.due:
            console.print(f"  {rule.label}: with rows of {', '.join(rule.cascade)} that reference them")
    if not plan.rules:
        console.print("no table of this map has a retention rule (see docs/datamap.md)", style="dim")
    else:
        console.print(f"{plan.due:,} rows due; nothing was changed. Run 'datavow retention run' to sweep.", style="dim")


def _show(outcome: SystemSweep) -> None:
    style = {"done": "green", "locked": "yellow"}.get(outcome.status, "red")
    error = f" — {outcome.error}" if outcome.error else ""
    console.print(Text.assemble((outcome.system, "bold"), ": ", (outcome.status, style), error))
    for rule in outcome.rules:
        if not rule.changed and not rule.kept:
            continue
        parts = [f"{rule.own:,} {'anonymised' if rule.keeps_rows else 'deleted'}"]
        parts += [f"{label} {rows:,}" for label, rows in rule.cascaded.items()]
        parts += [f"{label} {rows:,} kept (hold)" for label, rows in rule.kept.items()]
        console.print(
            f"  {rule.label}: {', '.join(parts)} ({rule.chunks} chunks, longest "
            f"{rule.longest_transaction * 1000:.0f} ms)",
        )


@retention_group.command("run")
@state_options
@system_option
@click.option("--chunk-rows", type=click.IntRange(min=1), help="Rows per transaction (default: sized to the time).")
@json_option("what was done")
@actor_option
def run_command(
    state_url: str | None,
    map_path: Path,
    systems: tuple[str, ...],
    chunk_rows: int | None,
    as_json: bool,
    actor: str,
) -> None:
    """Sweep now: delete or anonymise every due row, in short transactions, one system at a time
    (locked against any other sweep of it), recorded in the audit log. Safe to stop and run again."""
    app = application(map_path, state_url, create=True)
    stop = Stop()
    with (
        progress_bar(width=36, quiet=as_json) as bar,
        stop.on_signals(),
    ):
        tasks: dict[str, Any] = {}

        def progress(system: str, label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=total or None)
            bar.update(tasks[label], completed=done, total=total or None)

        result = sweep_retention(
            app.loaded,
            app.databases,
            app.store,
            key=app.key(),
            actor=actor,
            systems=systems,
            chunk_rows=chunk_rows,
            progress=progress,
            stop=stop,
        )
    _finish(result, as_json)


def _finish(result: SweepResult, as_json: bool) -> None:
    if as_json:
        print_json(result.to_dict())
    else:
        for outcome in result.systems:
            _show(outcome)
        console.print(
            f"{result.changed:,} rows changed in {result.seconds:.1f} s; the longest transaction took "
            f"{result.longest_transaction * 1000:.0f} ms",
            style="dim",
        )
    if not result.complete:
        raise SystemExit(EXIT_NO)


@retention_group.command("sweeps")
@state_options
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="How many, newest first.")
@json_option("them")
def sweeps_command(state_url: str | None, map_path: Path, limit: int, as_json: bool) -> None:
    """The sweeps recorded in the state store, and when each system is next due."""
    app = application(map_path, state_url, create=False)
    report = sweep_report(app.loaded, app.store, limit=limit)
    if as_json:
        print_json(report.to_dict())
        return
    items = [sweep.to_dict() for sweep in report.sweeps]
    turns = report.schedule
    table = Table(title="sweeps", title_justify="left")
    for column in ("#", "system", "status", "started", "finished", "changed", "worker"):
        table.add_column(column, justify="right" if column in ("#", "changed") else "left")
    for item in items:
        table.add_row(
            str(item["id"]),
            str(item["system"]),
            str(item["status"]),
            str(item["started_at"])[:19],
            str(item["finished_at"] or "")[:19],
            f"{item['changed']:,}",
            str(item["worker"]),
        )
    console.print(table)
    for turn in turns:
        at = f" at {turn.at}" if turn.at else ""
        console.print(f"{turn.system}: every {turn.every}{at}, next {turn.next:%Y-%m-%d %H:%M} UTC")


@click.command("worker")
@state_options
@click.option("--once", is_flag=True, help="Run the sweeps due now, then exit.")
@click.option(
    "--poll",
    type=click.FloatRange(min=1),
    default=60.0,
    show_default=True,
    help="Seconds between looks at the schedule.",
)
@click.option("--name", "worker_name", help="This worker's name in locks and sweeps (default: host:pid).")
@actor_option
def worker_command(
    state_url: str | None, map_path: Path, once: bool, poll: float, worker_name: str | None, actor: str
) -> None:
    """Sweep each system on the schedule the map's 'retention:' gives, until stopped (SIGTERM or
    Ctrl-C finish the current chunk and release the lock). Several workers may share one state
    store: each system is swept by one of them at a time."""
    app = application(map_path, state_url, create=True)
    stop = Stop()
    name = worker_name or default_worker()
    incomplete: list[SystemSweep | DueRun] = []

    def report(outcome: SystemSweep) -> None:
        _show(outcome)
        if outcome.status not in ("done", "locked"):
            incomplete.append(outcome)

    def offboarded(run: DueRun) -> None:
        due = run.offboarding
        what = f"offboarding of {due.controller or due.tenant} in {due.system}"
        if run.error is not None or run.status not in ("done", "locked"):
            incomplete.append(run)
            console.print(Text.assemble((what, "bold"), ": ", (run.status, "red"), f" — {run.error or ''}"))
            return
        parts = ["exported first" if run.exported is not None else ""]
        if run.deletion is not None:
            parts.append(f"{sum(run.deletion.deleted.values()):,} rows deleted")
        console.print(f"{what}: {run.status}, " + ", ".join(p for p in parts if p))

    def anchored(run: AnchorRun) -> None:
        console.print(f"anchored the audit log's head #{run.anchor.seq} in {run.file}")
        if run.mailed_to is not None:
            console.print(f"  and mailed it to {run.mailed_to}")
        if run.mail_error is not None:
            console.print(f"  but could not mail it: {run.mail_error}", style="red")

    with stop.on_signals():
        console.print(
            f"worker {name}: " + ("sweeping what is due" if once else f"watching the schedule every {poll:g} s"),
            style="dim",
        )
        ran = run_worker(
            app.loaded,
            app.databases,
            app.store,
            key=app.key(),
            actor=actor,
            worker=name,
            stop=stop,
            report=report,
            report_offboarding=offboarded,
            once=once,
            poll=poll,
            report_anchor=anchored,
        )
    console.print(f"worker {name}: {ran} run{'s' if ran != 1 else ''} (sweeps and offboardings)", style="dim")
    if once and incomplete:
        raise SystemExit(EXIT_NO)
