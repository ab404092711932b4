"""``datavow audit``: verify the chain and show entries. Each command is a thin layer over
:mod:`datavow.audit`; errors propagate as :class:`~datavow.errors.DatavowError` for the main
CLI to turn into exit codes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.table import Table
from rich.text import Text

from datavow.audit.anchors import anchor_head, read_anchors
from datavow.audit.marks import mark_entries
from datavow.audit.trail import audit_trail
from datavow.audit.verify import verify_chain
from datavow.cli.options import EXIT_NO, application, json_option, state_options
from datavow.cli.output import console, print_json
from datavow.datamap.model.settings import OwnRetention
from datavow.secrets import KEY_ENV, KEY_FILE, fingerprint, short_fingerprint, state_directory

if TYPE_CHECKING:
    from datavow.app import Datavow


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
@click.option(
    "--anchor",
    "anchor_files",
    multiple=True,
    metavar="FILE",
    type=click.Path(path_type=Path, dir_okay=False),
    help="A file of heads 'datavow audit anchor' wrote; every one must still be in the log. Repeatable.",
)
@json_option("the result")
@click.pass_context
def verify(
    ctx: click.Context,
    state_url: str | None,
    map_path: Path,
    expect_head: str | None,
    anchor_files: tuple[Path, ...],
    as_json: bool,
) -> None:
    """Check that the key is the state store's, that every row is in the chain, recompute the
    hashes, check the signatures with the key, each prune against the map's audit retention and
    each anchor given, and name the first entry that is wrong. Exits 0 when the log is intact, 1
    when it is not, 9 when the key is missing or another."""
    app = application(map_path, state_url, create=False)
    store = app.store
    anchors = [anchor for path in anchor_files for anchor in read_anchors(path)]
    key = app.key()
    result = verify_chain(
        store, expect_head=expect_head, key=key, anchors=anchors, retention=_own_retention(app, map_path)
    )
    if as_json:
        print_json({**result.to_dict(), "key": {"fingerprint": fingerprint(key), "matches": True}})
    else:
        console.print(f"key: {short_fingerprint(fingerprint(key))}, the state store's")
        if result.ok:
            console.print(Text.assemble(("✓", "green"), " ", result.message))
            console.print(f"  {result.signing}")
            if result.anchors:
                console.print(f"  {result.anchors} anchored head{'s' if result.anchors != 1 else ''} found in the log")
            console.print(f"  head hash: {result.head_hash}")
            console.print("  Anchor it outside this database (datavow audit anchor FILE); pass the file as --anchor.")
        else:
            console.print(f"✗ {result.message}", style="red")
            if result.entries:
                before = "entry" if result.entries == 1 else f"{result.entries} entries"
                console.print(f"  The {before} before it verified.")
            more = len(result.problems) - 1
            if more > 0:
                console.print(f"  {more} more problem{'s' if more != 1 else ''}:")
                for problem in result.problems[1:]:
                    console.print(f"  - {problem.message}")
    if not result.ok:
        ctx.exit(EXIT_NO)


def _installation_key(app: Datavow) -> bytes | None:
    """The installation's key, checked against the store, or ``None`` when there is none: the
    entries are shown without it, and only what the signatures vouch for is not marked."""
    if KEY_ENV not in os.environ and not (state_directory(app.map_path) / KEY_FILE).exists():
        return None
    return app.key()


def _own_retention(app: Datavow, map_path: Path) -> OwnRetention:
    """The map's ``retention.own``; without a map, no audit retention, so no prune is allowed."""
    return app.loaded.model.retention.own if map_path.exists() else OwnRetention()


@audit.command("anchor")
@state_options
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@json_option("the anchor")
def anchor(state_url: str | None, map_path: Path, file: Path, as_json: bool) -> None:
    """Append the log's signed head to FILE, one JSON line, somewhere the database's writers
    cannot reach; give FILE to verify --anchor later."""
    app = application(map_path, state_url, create=False)
    written = anchor_head(app.store, file, app.key())
    if as_json:
        print_json(written.to_dict())
        return
    click.echo(f"anchored head #{written.seq} ({written.hash}) in {file}")


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
    """Show the latest audit entries, newest first, each marked with what verify would reject."""
    app = application(map_path, state_url, create=False)
    entries = audit_trail(app.store, since=since, about=object_ref, action=action, limit=limit)
    marks = mark_entries(app.store, entries, key=_installation_key(app))
    if as_json:
        print_json([{**entry.to_dict(), "rejected": marks.get(entry.seq)} for entry in entries])
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
    table.add_column("verify", no_wrap=True)
    for entry in entries:
        mark = marks.get(entry.seq)
        cells = (
            str(entry.seq),
            entry.ts.strftime("%Y-%m-%d %H:%M:%S"),
            entry.actor,
            entry.action,
            f"{entry.object_type}:{entry.object_id}",
            entry.reason or "",
            f"✗ {mark}" if mark else "ok",
        )
        table.add_row(*(Text(cell) for cell in cells))  # Text: '[' in a reason is not markup
    console.print(table)
