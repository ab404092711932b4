"""``datavow request access|erase|rectify`` and ``datavow requests run``: executing requests."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC
from pathlib import Path
from typing import Any

import click

from datavow.app import Datavow
from datavow.cli.options import (
    actor_option,
    application,
    identities_from,
    identity_options,
    progress_bar,
    split_pair,
    state_options,
)
from datavow.cli.output import console
from datavow.plan import compile_plan, explain, parse_identities, render_plan
from datavow.plan.guard import why_refused
from datavow.requests import get, receive, verify
from datavow.requests.lifecycle import RequestRecord, Status
from datavow.requests.reading import find_person


def _corrections(pairs: Sequence[str]) -> dict[str, str]:
    return dict(split_pair(pair, "CATEGORY=VALUE or SYSTEM.TABLE.FIELD=VALUE", "--set") for pair in pairs)


def _run(
    app: Datavow,
    record: RequestRecord,
    actor: str,
    *,
    out: Path | None,
    corrections: dict[str, str],
    as_json: bool,
) -> None:
    with progress_bar(width=40, quiet=as_json) as bar:
        task = bar.add_task(f"request #{record.id} ({record.kind.value})", total=None)

        def progress(system: str, step: str, done: int, total: int) -> None:
            bar.update(task, description=f"{step}", completed=done, total=total)

        done = app.run_request(record.id, actor, export_dir=out, corrections=corrections, progress=progress)
    _show_result(done, as_json)


def _show_result(record: RequestRecord, as_json: bool) -> None:
    result: dict[str, Any] = dict(record.result or {})
    if as_json:
        click.echo(
            json.dumps(
                {"id": record.id, "kind": record.kind.value, "status": record.status.value, "result": result},
                indent=2,
                default=str,
            )
        )
        return
    console.print(f"request #{record.id} ({record.kind.value}): [bold]{record.status.value}[/]")
    if not result.get("found", True):
        _show_not_found(result.get("still_held") or [])
    if "package" in result:
        console.print(f"  export package: {result['package']} ({result['rows']} rows, expires {result['expires_at']})")
        console.print(
            f"  it is encrypted; open it for delivery: datavow requests package {record.id} --out DIR",
            style="dim",
            markup=False,
        )
    for step in result.get("steps", []):
        parts = [f"{name} {step[name]}" for name in ("deleted", "anonymised", "kept", "minimised") if step.get(name)]
        held = f" (held until {step['held_until']} for {step['hold_purpose']})" if step.get("held_until") else ""
        if step.get("shared"):
            parts.append(f"kept {step['shared']} shared with {step['shared_with']} others")
        if parts:
            console.print(f"  {step['step']}: {', '.join(parts)}{held}", markup=False)
    for item in result.get("fields", []):
        console.print(f"  {item['field']}: {item['rows']} rows corrected", markup=False)
    for table, rows in (result.get("flagged") or {}).items():
        console.print(f"  {table}: restriction flag set on {rows} rows", markup=False)


def _show_not_found(held: list[dict[str, Any]]) -> None:
    if not held:
        console.print("  no personal data held about this person")
        return
    console.print("  nothing more to erase now; still held from earlier erasures:")
    for item in held:
        if item.get("held_until"):
            why = f"held until {item['held_until']} for {item['hold_purpose']}"
        elif item.get("referenced") == item["rows"]:
            why = "kept while rows under a legal hold refer to them"
        else:
            why = f"held for {item['hold_purpose']} until its period starts and ends"
        console.print(f"  {item['step']}: {item['rows']} rows {why}", markup=False)


def _dry_run(app: Datavow, identities: dict[str, list[str]], tenant: str | None, as_json: bool) -> None:
    loaded = app.loaded
    values = parse_identities(loaded, identities)
    plan = compile_plan(loaded, values.keys(), tenant=tenant)
    discovery = app.databases.retrying(
        lambda: find_person(loaded, plan, values, app.engines(plan.systems()), refuse_strangers=False)
    )
    if as_json:
        click.echo(json.dumps(explain(loaded, plan, discovery), indent=2, default=str))
    else:
        console.print(render_plan(loaded, plan, discovery))
        refusal = why_refused(discovery.reach) if discovery.reach is not None else None
        if refusal is not None:
            console.print(f"refused when run: {refusal}", markup=False)
        console.print("dry run: nothing was recorded or changed", style="dim")


def _request_command(name: str, kind: str, help_text: str, short_help: str) -> click.Command:
    def command(
        state_url: str | None,
        map_path: Path,
        emails: tuple[str, ...],
        phones: tuple[str, ...],
        identity_pairs: tuple[str, ...],
        tenant: str | None,
        source: str,
        verified_by: str | None,
        dry_run: bool,
        as_json: bool,
        actor: str,
        out: Path | None = None,
        corrections: tuple[str, ...] = (),
        portability: bool = False,
    ) -> None:
        app = application(map_path, state_url, create=True)
        loaded = app.loaded
        identities = identities_from(emails, phones, identity_pairs)
        if not identities:
            raise click.UsageError("name the person: --email, --phone or --identity KIND=VALUE")
        fixes = _corrections(corrections)
        if dry_run:
            _dry_run(app, identities, tenant, as_json)
            return
        request_kind = "portability" if portability else kind
        store = app.store
        record = receive(
            store,
            loaded,
            request_kind,
            identities,
            source=source,
            tenant=tenant,
            actor=actor,
            databases=app.databases,
        )
        if record.status is Status.forwarded:
            console.print(
                f"request #{record.id} was forwarded to the controller {record.forwarded_to} "
                "(Art. 28(3)(e)): as processor, datavow does not act on it"
            )
            return
        if verified_by is None:
            console.print(
                f"request #{record.id} received, due {record.due_at:%Y-%m-%d}. Verify the person, then run it:"
            )
            console.print(f"  datavow requests verify {record.id} --send   (mails a code)", markup=False)
            console.print(f"  datavow requests run {record.id}", markup=False)
            return
        verify(store, record.id, actor, method=verified_by)
        _run(app, record, actor, out=out, corrections=fixes, as_json=as_json)

    command.__doc__ = help_text
    command = actor_option(command)
    command = click.option("--json", "as_json", is_flag=True, help="Print the result (or the plan) as JSON.")(command)
    command = click.option(
        "--dry-run", is_flag=True, help="Show the plan and the rows each step reaches; record and change nothing."
    )(command)
    command = click.option(
        "--verified-by", metavar="HOW", help="The person's identity is already verified (say how): run the request now."
    )(command)
    command = click.option(
        "--source",
        type=click.Choice(["data_subject", "controller", "agent"]),
        default="data_subject",
        show_default=True,
        help="Who sent the request.",
    )(command)
    command = click.option("--tenant", help="Processor mode: the controller (tenant) whose data this concerns.")(
        command
    )
    command = identity_options(command)
    command = state_options(command)
    if kind == "access":
        command = click.option("--portability", is_flag=True, help="Record it as a portability request (Art. 20).")(
            command
        )
        command = click.option(
            "--out",
            type=click.Path(path_type=Path, file_okay=False),
            help="Folder for the encrypted package (default: .datavow/exports beside the map).",
        )(command)
    if kind == "rectification":
        command = click.option(
            "--set",
            "corrections",
            metavar="CATEGORY=VALUE",
            multiple=True,
            required=True,
            help="A corrected value, by data category (user.contact.email=...) or field (system.table.column=...); "
            "repeatable.",
        )(command)
    return click.command(name, short_help=short_help)(command)


erase_command = _request_command(
    "erase",
    "erasure",
    "Erase a person's data (Art. 17), keeping what legal holds require.",
    "Erase a person's data, keeping what legal holds require.",
)
access_command = _request_command(
    "access",
    "access",
    "Give a person a copy of their data and the Art. 15 letter, as an encrypted package.",
    "Give a person a copy of their data and the letter, encrypted.",
)
rectify_command = _request_command(
    "rectify",
    "rectification",
    "Correct a person's data everywhere it lives (Art. 16).",
    "Correct a person's data everywhere it lives.",
)


@click.command("run")
@click.argument("request_ids", metavar="ID...", type=int, nargs=-1, required=True)
@state_options
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), help="Folder for an access package.")
@click.option("--set", "corrections", metavar="CATEGORY=VALUE", multiple=True, help="Rectification values.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@actor_option
def run_command(
    state_url: str | None,
    map_path: Path,
    request_ids: tuple[int, ...],
    out: Path | None,
    corrections: tuple[str, ...],
    as_json: bool,
    actor: str,
) -> None:
    """Execute verified requests, or finish interrupted ones. Several erasure (or restriction)
    requests run as one batch: one plan, one statement per table for all of them."""
    from datavow.requests.service import RunOptions, run_batch

    app = application(map_path, state_url, create=False)
    loaded = app.loaded
    store = app.store
    if len(request_ids) > 1:
        options = RunOptions(key=app.key(create=True))
        done = run_batch(store, loaded, request_ids, options, actor, databases=app.databases)
        for record in done[:1]:
            _show_result(record, as_json)
        if not as_json:
            console.print(f"  {len(done)} requests completed as one batch (#{done[0].id}…#{done[-1].id})")
        return
    record = get(store, request_ids[0])
    _run(app, record, actor, out=out, corrections=_corrections(corrections), as_json=as_json)


@click.command("package", short_help="Decrypt a completed access request's package into a folder.")
@click.argument("request_id", metavar="ID", type=int)
@state_options
@click.option(
    "--out",
    "folder",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="An empty (or new) folder to write the package's files into.",
)
@actor_option
def package_command(state_url: str | None, map_path: Path, request_id: int, folder: Path, actor: str) -> None:
    """Decrypt the package of a completed access or portability request into an empty folder, to
    send it to the person. Refused once the package has expired; audited."""
    from datavow.requests.export.delivery import open_package

    app = application(map_path, state_url, create=False)
    key = app.key()
    store = app.store
    opened = open_package(store, request_id, folder, key=key, actor=actor)
    for file in opened.files:
        console.print(f"  {opened.folder / file.name} ({file.size:,} bytes)", markup=False)
    console.print(
        f"request #{opened.request_id}: {len(opened.files)} files written to {opened.folder}; the package "
        f"expires {opened.expires_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC. Send them to the person by a secure channel.",
        markup=False,
    )
