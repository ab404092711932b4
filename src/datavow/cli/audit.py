"""``datavow audit``: verify the chain and show entries. Each command is a thin layer over
:mod:`datavow.audit`; errors propagate as :class:`~datavow.errors.DatavowError` for the main
CLI to turn into exit codes."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from datavow.audit.trail import audit_trail
from datavow.audit.verify import verify_chain
from datavow.cli.options import EXIT_NO, application, json_option, state_options
from datavow.cli.output import print_json


@click.group("audit")
def audit() -> None:
    """Read and verify the tamper-evident audit log."""


@audit.command("verify")
@state_options
@click.option(
    "--expect-head",
    metavar="HASH",
    help="A head hash recorded earlier; fail if it is no longer in the log.",
)
@json_option("the result")
@click.pass_context
def verify(
    ctx: click.Context,
    state_url: str | None,
    map_path: Path,
    expect_head: str | None,
    as_json: bool,
) -> None:
    """Recompute the hash chain and name the first entry that was changed, removed or
    reordered. Exits 0 when the log is intact, 1 when it is not."""
    app = application(map_path, state_url, create=False)
    result = verify_chain(app.store, expect_head=expect_head)
    if as_json:
        print_json(result.to_dict())
    else:
        console = Console(highlight=False)
        if result.ok:
            console.print(f"[green]✓[/] {escape(result.message)}")
            console.print(f"  head hash: {result.head_hash}")
            console.print("  Record it outside this database; pass it as --expect-head next time.")
        else:
            console.print(f"[red]✗ {escape(result.message)}[/]")
            if result.entries:
                before = "entry" if result.entries == 1 else f"{result.entries} entries"
                console.print(f"  The {before} before it verified.")
    if not result.ok:
        ctx.exit(EXIT_NO)


@audit.command("show")
@state_options
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--action", help="An action (request.erased) or a pattern with * (request.*).")
@click.option("--object", "object_ref", metavar="TYPE[:ID]", help="Entries about one object.")
@click.option("--since", metavar="TIME", help="ISO date or time; UTC unless it has an offset.")
@json_option("the entries")
def show(
    state_url: str | None,
    map_path: Path,
    limit: int,
    action: str | None,
    object_ref: str | None,
    since: str | None,
    as_json: bool,
) -> None:
    """Show the latest audit entries, newest first."""
    store = application(map_path, state_url, create=False).store
    entries = audit_trail(store, since=since, about=object_ref, action=action, limit=limit)
    if as_json:
        print_json([entry.to_dict() for entry in entries])
        return
    if not entries:
        click.echo("No audit entries match.")
        return
    table = Table()
    # Numbers, times and actions stay whole so they can be read and grepped; the rest wraps.
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("time (UTC)", no_wrap=True)
    table.add_column("actor", overflow="fold")
    table.add_column("action", no_wrap=True)
    table.add_column("object", overflow="fold")
    table.add_column("reason")
    for entry in entries:
        cells = (
            str(entry.seq),
            entry.ts.strftime("%Y-%m-%d %H:%M:%S"),
            entry.actor,
            entry.action,
            f"{entry.object_type}:{entry.object_id}",
            entry.reason or "",
        )
        table.add_row(*(Text(cell) for cell in cells))  # Text: '[' in a reason is not markup
    Console(highlight=False).print(table)
