"""``datavow requests`` (the lifecycle: list, show, verify, extend, deny) and ``datavow request``
(the person's rights: restrict, object, lift, status). Each command is a thin layer over
:mod:`datavow.requests`; errors propagate as :class:`~datavow.errors.DatavowError` for the main
CLI to turn into exit codes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from datavow.cli.options import (
    EXIT_NO,
    actor_option,
    application,
    identities_from,
    identity_options,
    json_option,
    state_options,
)
from datavow.cli.output import console, print_json
from datavow.requests.lifecycle import (
    RequestRecord,
    Status,
    deny,
    extend,
    get,
    list_requests,
    request_identities,
    verify,
)
from datavow.requests.lifecycle.clock import DUE_SOON
from datavow.requests.lifecycle.letters import denial_letter, extension_letter
from datavow.requests.lifecycle.verification import check_code, send_code
from datavow.requests.restriction import Restriction, object_to

# --------------------------------------------------------------------------- datavow requests


@click.command("list")
@state_options
@click.option(
    "--status",
    type=click.Choice([s.value for s in Status]),
    help="Only requests in this state.",
)
@click.option("--overdue", is_flag=True, help="Only open requests past their deadline.")
@click.option(
    "--due-within",
    type=click.IntRange(min=0),
    metavar="DAYS",
    help="Only open requests due within DAYS days (7: due soon).",
)
@json_option("the requests")
def list_command(
    state_url: str | None,
    map_path: Path,
    status: str | None,
    overdue: bool,
    due_within: int | None,
    as_json: bool,
) -> None:
    """List requests, soonest deadline first."""
    window = timedelta(days=due_within) if due_within is not None else None
    app = application(map_path, state_url, create=False)
    store = app.store
    records = list_requests(store, status=status, due_within=window, overdue=overdue)
    if as_json:
        print_json([record.to_dict() for record in records])
        return
    if not records:
        click.echo("No requests match.")
        return
    now = datetime.now(UTC)
    table = Table(caption="* extended (Art. 12(3))" if any(r.extended_to for r in records) else None)
    for column in ("id", "kind", "status", "deadline", "left"):
        table.add_column(column, justify="right" if column in ("id", "left") else "left", no_wrap=True)
    table.add_column("identities", overflow="fold", min_width=10)
    for record in records:
        table.add_row(
            str(record.id),
            record.kind.value,
            _status_text(record),
            f"{record.deadline:%Y-%m-%d}" + ("*" if record.extended_to else ""),
            _left(record, now),
            Text(", ".join(record.identity_kinds)),
        )
    console.print(table)


@click.command("show")
@click.argument("request_id", metavar="ID", type=int)
@state_options
@click.option("--reveal", is_flag=True, help="Also show the identity values (unsealed with the secret key).")
@json_option("the request")
def show(state_url: str | None, map_path: Path, request_id: int, reveal: bool, as_json: bool) -> None:
    """Show one request: its state, clock, identities and result."""
    app = application(map_path, state_url, create=False)
    store = app.store
    record = get(store, request_id)
    identities = request_identities(store, app.loaded, request_id) if reveal else None
    data = record.to_dict()
    if identities is not None:
        data["identities"] = {kind: list(values) for kind, values in identities.items()}
    if as_json:
        print_json(data)
        return
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    for key, value in data.items():
        if value is None:
            continue
        if isinstance(value, (dict, list)):
            shown = json.dumps(value, ensure_ascii=False)
        elif key.endswith("_at") or key in ("deadline", "extended_to"):
            shown = f"{datetime.fromisoformat(value):%Y-%m-%d %H:%M} UTC"
        else:
            shown = str(value)
        table.add_row(key.replace("_", " "), Text(shown))
    console.print(table)


@click.command("verify")
@click.argument("request_id", metavar="ID", type=int)
@state_options
@click.option("--send", is_flag=True, help="Mail a new 6-digit code to the request's e-mail address.")
@click.option("--code", metavar="CODE", help="The code the person gave back.")
@click.option("--manual", metavar="HOW", help="The identity was verified another way; say how.")
@json_option("the code sent, or the verified request,")
@actor_option
def verify_command(
    state_url: str | None,
    map_path: Path,
    request_id: int,
    send: bool,
    code: str | None,
    manual: str | None,
    as_json: bool,
    actor: str,
) -> None:
    """Verify the person's identity: send a code, check the code they give back, or record a
    verification done another way."""
    if sum((send, code is not None, manual is not None)) != 1:
        raise click.UsageError("give exactly one of --send, --code CODE or --manual HOW")
    app = application(map_path, state_url, create=False)
    store = app.store
    if send:
        sent = send_code(store, app.loaded, request_id, actor)
        if as_json:
            print_json(sent.to_dict())
            return
        console.print(
            f"Code sent to {sent.sent_to}; it works until {sent.expires_at:%H:%M} UTC. "
            f"Then: datavow requests verify {request_id} --code CODE"
        )
        return
    if code is not None:
        record = check_code(store, request_id, code, actor)
    else:
        method = (manual or "").strip()
        if not method:
            raise click.BadParameter("say how the identity was verified", param_hint="--manual")
        record = verify(store, request_id, actor, method=method)
    if as_json:
        print_json(record.to_dict())
        return
    console.print(Text.assemble(("✓", "green"), f" request {record.id} is verified"))


@click.command("extend", short_help="Extend a request's deadline by 1 or 2 months, with a reason.")
@click.argument("request_id", metavar="ID", type=int)
@state_options
@click.option("--months", type=click.IntRange(1, 2), required=True, help="1 or 2 further months.")
@click.option("--reason", required=True, help="Why more time is needed; it goes to the person.")
@json_option("the request and the letter")
@actor_option
def extend_command(
    state_url: str | None, map_path: Path, request_id: int, months: int, reason: str, as_json: bool, actor: str
) -> None:
    """Extend a request's deadline (Art. 12(3)) and print the letter that tells the person."""
    app = application(map_path, state_url, create=False)
    record = extend(app.store, request_id, months, reason, actor)
    letter = extension_letter(app.loaded, record)
    if as_json:
        print_json({"request": record.to_dict(), "letter": letter})
        return
    click.echo(f"Request {record.id} is now due {record.deadline:%Y-%m-%d}. Send the person this letter:\n")
    click.echo(letter)


@click.command("deny", short_help="Refuse a request with its reason, and print the letter.")
@click.argument("request_id", metavar="ID", type=int)
@state_options
@click.option("--reason", required=True, help="Why the request is refused; it goes to the person.")
@json_option("the request and the letter")
@actor_option
def deny_command(
    state_url: str | None, map_path: Path, request_id: int, reason: str, as_json: bool, actor: str
) -> None:
    """Refuse a request with its reason (Art. 12(4)) and print the letter, which tells the person
    they may complain to the supervisory authority."""
    app = application(map_path, state_url, create=False)
    record = deny(app.store, request_id, reason, actor)
    letter = denial_letter(app.loaded, record)
    if as_json:
        print_json({"request": record.to_dict(), "letter": letter})
        return
    click.echo(f"Request {record.id} is denied. Send the person this letter:\n")
    click.echo(letter)


# --------------------------------------------------------------------------- datavow request


@click.command("restrict", short_help="Restrict processing of a person, for every purpose or some.")
@state_options
@identity_options
@click.option(
    "--purpose", "purposes", metavar="PURPOSE", multiple=True, help="Restrict this purpose only (repeatable)."
)
@click.option("--reason", required=True, help="The Art. 18(1) ground, e.g. 'accuracy contested'.")
@click.option("--request", "request_id", metavar="ID", type=int, help="The restriction request this answers.")
@json_option("the entries recorded and the rows flagged")
@actor_option
def restrict_command(
    state_url: str | None,
    map_path: Path,
    emails: tuple[str, ...],
    phones: tuple[str, ...],
    identity_pairs: tuple[str, ...],
    purposes: tuple[str, ...],
    reason: str,
    request_id: int | None,
    as_json: bool,
    actor: str,
) -> None:
    """Restrict processing of a person (Art. 18): every purpose, or those named."""
    app = application(map_path, state_url, create=True)
    identities = identities_from(emails, phones, identity_pairs)
    done = app.restrict_person(identities, purposes or None, reason=reason, actor=actor, request_id=request_id)
    if as_json:
        print_json(done.to_dict())
        return
    for entry in done.entries:
        click.echo(f"recorded {entry.describe()}")
    _show_flags(done.flagged, "set")


@click.command("object", short_help="Record an objection to a purpose.")
@state_options
@identity_options
@click.option("--purpose", required=True, metavar="PURPOSE", help="The purpose the person objects to.")
@click.option("--reason", help="The person's grounds (required unless the purpose is direct marketing).")
@click.option("--request", "request_id", metavar="ID", type=int, help="The objection request this answers.")
@json_option("the entry recorded")
@actor_option
def object_command(
    state_url: str | None,
    map_path: Path,
    emails: tuple[str, ...],
    phones: tuple[str, ...],
    identity_pairs: tuple[str, ...],
    purpose: str,
    reason: str | None,
    request_id: int | None,
    as_json: bool,
    actor: str,
) -> None:
    """Record an objection to a purpose (Art. 21); to direct marketing it is absolute."""
    app = application(map_path, state_url, create=True)
    identities = identities_from(emails, phones, identity_pairs)
    entry = object_to(app.store, app.loaded, identities, purpose, reason, actor, request_id=request_id)
    if as_json:
        print_json(entry.to_dict())
        return
    click.echo(f"recorded {entry.describe()}")


@click.command("lift")
@click.argument("restriction_id", metavar="ID", type=int)
@state_options
@click.option("--reason", required=True, help="Why the restriction or objection no longer applies.")
@json_option("the entry lifted, the reminder and the rows cleared")
@actor_option
def lift_command(
    state_url: str | None, map_path: Path, restriction_id: int, reason: str, as_json: bool, actor: str
) -> None:
    """Lift a restriction or objection, with the reason; prints what the person must be told."""
    app = application(map_path, state_url, create=False)
    done = app.lift_restriction(restriction_id, reason, actor)
    if as_json:
        print_json(done.to_dict())
        return
    click.echo(f"lifted {done.lifted.restriction.describe()}")
    click.echo(done.lifted.reminder)
    _show_flags(done.cleared, "cleared")  # none while another restriction of the person keeps them set


def _show_flags(changed: dict[str, int], verb: str) -> None:
    for table, rows in changed.items():
        click.echo(f"restriction flag {verb} on {rows} row(s) of {table}")


@click.command("status")
@state_options
@identity_options
@click.option("--purpose", metavar="PURPOSE", help="Ask whether this purpose may process the person.")
@json_option("the answer and the active entries")
@click.pass_context
def status_command(
    ctx: click.Context,
    state_url: str | None,
    map_path: Path,
    emails: tuple[str, ...],
    phones: tuple[str, ...],
    identity_pairs: tuple[str, ...],
    purpose: str | None,
    as_json: bool,
) -> None:
    """Is this person restricted? With --purpose: may that purpose process them? Exit code 0:
    yes they are free / allowed; 1: restricted / not allowed."""
    app = application(map_path, state_url, create=True)
    identities = identities_from(emails, phones, identity_pairs)
    status = app.restriction_status(identities, purpose)
    if as_json:
        print_json(status.to_dict())
    else:
        console.print(("✓ " if status.allowed else "✗ ") + status.why, style="green" if status.allowed else "red")
        if status.active:
            console.print(_ledger_table(status.active))
    if not status.allowed:
        ctx.exit(EXIT_NO)


def _ledger_table(entries: Sequence[Restriction]) -> Table:
    table = Table()
    for column in ("id", "kind", "purpose", "since", "article", "reason"):
        table.add_column(column, justify="right" if column == "id" else "left", no_wrap=column != "reason")
    for entry in entries:
        cells = (
            str(entry.id),
            entry.kind.value,
            entry.purpose or "(every purpose)",
            f"{entry.created_at:%Y-%m-%d}",
            entry.article,
            entry.reason or "",
        )
        table.add_row(*(Text(cell) for cell in cells))
    return table


def _status_text(record: RequestRecord) -> Text:
    style = {Status.completed: "green", Status.denied: "red", Status.forwarded: "cyan"}.get(record.status, "")
    return Text(record.status.value, style=style)


def _left(record: RequestRecord, now: datetime) -> Text:
    """Days to the deadline of an open request; negative and red when overdue."""
    if not record.is_open:
        return Text("")
    days = (record.deadline - now).days
    return Text(f"{days}d", style="bold red" if record.is_overdue(now) else ("yellow" if days < DUE_SOON.days else ""))
