"""``datavow request access|erase|rectify`` and ``datavow requests run``: executing requests."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.text import Text

from datavow.app import Datavow
from datavow.cli.options import (
    actor_option,
    application,
    identities_from,
    identity_options,
    json_option,
    progress_bar,
    split_pair,
    state_options,
)
from datavow.cli.output import console, print_json
from datavow.plan import render_plan

if TYPE_CHECKING:
    # a dry run records nothing: the command imports the state store's side only when it runs
    from datavow.requests.lifecycle import RequestRecord
    from datavow.requests.service import Progress
    from datavow.requests.submission import Submitted


def _corrections(pairs: Sequence[str]) -> dict[str, str]:
    return dict(split_pair(pair, "CATEGORY=VALUE or SYSTEM.TABLE.FIELD=VALUE", "--set") for pair in pairs)


@contextmanager
def _progress(title: str, *, quiet: bool) -> Iterator[Progress]:
    """A bar titled ``title`` while a request runs; the steps it reports replace the title."""
    with progress_bar(width=40, quiet=quiet) as bar:
        task = bar.add_task(title, total=None)

        def progress(system: str, step: str, done: int, total: int) -> None:
            bar.update(task, description=f"{step}", completed=done, total=total)

        yield progress


def _result_json(record: RequestRecord) -> dict[str, Any]:
    return {"id": record.id, "kind": record.kind.value, "status": record.status.value, "result": record.result or {}}


def _show_result(record: RequestRecord, as_json: bool) -> None:
    result: dict[str, Any] = dict(record.result or {})
    if as_json:
        print_json(_result_json(record))
        return
    console.print(Text.assemble(f"request #{record.id} ({record.kind.value}): ", (record.status.value, "bold")))
    if not result.get("found", True):
        _show_not_found(result.get("still_held") or [])
    if "package" in result:
        console.print(f"  export package: {result['package']} ({result['rows']} rows, expires {result['expires_at']})")
        console.print(
            f"  it is encrypted; open it for delivery: datavow requests package {record.id} --out DIR",
            style="dim",
        )
    for step in result.get("steps", []):
        parts = [f"{name} {step[name]}" for name in ("deleted", "anonymised", "kept", "minimised") if step.get(name)]
        held = f" (held until {step['held_until']} for {step['hold_purpose']})" if step.get("held_until") else ""
        if step.get("shared"):
            parts.append(f"kept {step['shared']} shared with {step['shared_with']} others")
        if parts:
            console.print(f"  {step['step']}: {', '.join(parts)}{held}")
    for item in result.get("fields", []):
        console.print(f"  {item['field']}: {item['rows']} rows corrected")
    for table, rows in (result.get("flagged") or {}).items():
        console.print(f"  {table}: restriction flag set on {rows} rows")


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
        console.print(f"  {item['step']}: {item['rows']} rows {why}")


def _dry_run(app: Datavow, identities: dict[str, list[str]], tenant: str | None, as_json: bool) -> None:
    preview = app.preview_request(identities, tenant=tenant)
    if as_json:
        print_json(preview.steps())
        return
    console.print(render_plan(preview.loaded, preview.plan, preview.discovery))
    if preview.refusal is not None:
        console.print(f"refused when run: {preview.refusal}")
    console.print("dry run: nothing was recorded or changed", style="dim")


def _show_submitted(submitted: Submitted, as_json: bool) -> None:
    from datavow.requests.submission import Outcome

    record = submitted.record
    if submitted.outcome is Outcome.run:
        _show_result(record, as_json)
    elif as_json:
        print_json(submitted.to_dict())
    elif submitted.outcome is Outcome.forwarded:
        console.print(
            f"request #{record.id} was forwarded to the controller {record.forwarded_to} "
            "(Art. 28(3)(e)): as processor, datavow does not act on it"
        )
    else:
        console.print(f"request #{record.id} received, due {record.due_at:%Y-%m-%d}. Verify the person, then run it:")
        console.print(f"  datavow requests verify {record.id} --send   (mails a code)")
        console.print(f"  datavow requests run {record.id}")


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
        app.loaded  # noqa: B018 (the map's problems are reported before a missing identity)
        identities = identities_from(emails, phones, identity_pairs)
        if not identities:
            raise click.UsageError("name the person: --email, --phone or --identity KIND=VALUE")
        fixes = _corrections(corrections)
        if dry_run:
            _dry_run(app, identities, tenant, as_json)
            return
        request_kind = "portability" if portability else kind
        with _progress(f"request ({request_kind})", quiet=as_json or verified_by is None) as progress:
            submitted = app.submit_request(
                request_kind,
                identities,
                source=source,
                actor=actor,
                tenant=tenant,
                verified_by=verified_by,
                export_dir=out,
                corrections=fixes,
                progress=progress,
            )
        _show_submitted(submitted, as_json)

    command.__doc__ = help_text
    command = actor_option(command)
    command = json_option("the request and its result (or the plan)")(command)
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
@json_option("the result (with several IDs, a list: one result per request)")
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
    app = application(map_path, state_url, create=False)
    if len(request_ids) > 1:
        batch = app.run_batch(request_ids, actor)
        if as_json:
            print_json([_result_json(record) for record in batch])
            return
        _show_result(batch[0], as_json)
        console.print(f"  {len(batch)} requests completed as one batch (#{batch[0].id}…#{batch[-1].id})")
        return
    (request_id,) = request_ids
    with _progress(f"request #{request_id}", quiet=as_json) as progress:
        done = app.run_request(
            request_id, actor, export_dir=out, corrections=_corrections(corrections), progress=progress
        )
    _show_result(done, as_json)


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
@json_option("the files written and when the package expires")
@actor_option
def package_command(
    state_url: str | None, map_path: Path, request_id: int, folder: Path, as_json: bool, actor: str
) -> None:
    """Decrypt the package of a completed access or portability request into an empty folder, to
    send it to the person. Refused once the package has expired; audited."""
    from datavow.requests.export.delivery import open_package

    app = application(map_path, state_url, create=False)
    key = app.key()
    store = app.store
    opened = open_package(store, request_id, folder, key=key, actor=actor)
    if as_json:
        print_json(opened.to_dict())
        return
    for file in opened.files:
        console.print(f"  {opened.folder / file.name} ({file.size:,} bytes)")
    console.print(
        f"request #{opened.request_id}: {len(opened.files)} files written to {opened.folder}; the package "
        f"expires {opened.expires_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC. Send them to the person by a secure channel.",
    )
