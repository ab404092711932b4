"""``datavow consent``: record, withdraw, check, contact, filter, proof, import, export, gpc,
verify. Each command is a thin layer over :mod:`datavow.consent`."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from datavow.cli import flags
from datavow.cli.key import checked_fingerprint
from datavow.cli.options import (
    EXIT_NO,
    actor_option,
    application,
    identities_from,
    identity_options,
    json_option,
    state_options,
)
from datavow.cli.output import print_json
from datavow.consent import (
    CONSENT_CHANNELS,
    CONSENT_SOURCES,
    Answer,
    ConsentEvent,
    consent_allows,
    export_events,
    filter_contactable,
    import_csv,
    may_contact,
    prove,
    record_event,
    record_gpc,
    verify_ledger,
)
from datavow.consent.transfer import parse_time
from datavow.secrets import short_fingerprint

F = TypeVar("F", bound=Callable[..., object])


channel_choice = click.Choice(CONSENT_CHANNELS)


@click.group("consent")
def consent_group() -> None:
    """Consent and communication preferences: an append-only ledger with proof."""


def scope_options(command: F) -> F:
    """What an event is about, where it came from and when."""
    for option in reversed(
        (
            click.option("--purpose", help="A purpose the map declares."),
            click.option("--channel", type=channel_choice, help="A channel (all: every channel)."),
            click.option("--topic", help="A topic (communication.topics, or a purpose's name); needs --channel."),
            click.option(
                "--source", type=click.Choice(CONSENT_SOURCES), default="agent", show_default=True, help="Who gave it."
            ),
            click.option("--detail", help="How it was learnt, in words (e.g. 'phone call')."),
            click.option("--notice", help="The notice text the person saw."),
            click.option(
                "--notice-file", type=click.Path(path_type=Path, dir_okay=False, exists=True), help="... from a file."
            ),
            click.option("--basis", help="The legal basis (default: the purpose's)."),
            click.option("--at", "at_text", metavar="TIME", help="When it happened, ISO 8601 (default: now)."),
            actor_option,
            json_option("the event recorded"),
        )
    ):
        command = option(command)
    return command


def _record(event: str, **given: Any) -> None:
    app = application(given["map_path"], given["state_url"], create=True)
    loaded = app.loaded
    notice = given["notice"]
    if given["notice_file"] is not None:
        notice = given["notice_file"].read_text(encoding="utf-8")
    identities = identities_from(given["emails"], given["phones"], given["identity_pairs"])
    store = app.store
    recorded = record_event(
        store,
        loaded,
        identities,
        purpose=given["purpose"],
        event=event,
        channel=given["channel"],
        topic=given["topic"],
        source=given["source"],
        source_detail=given["detail"],
        notice=notice,
        basis=given["basis"],
        actor=given["actor"],
        at=parse_time(given["at_text"] or ""),
        key=app.key(),
    )
    _print_event(recorded, given["as_json"])


@consent_group.command("record")
@state_options
@identity_options
@scope_options
def record_command(**given: Any) -> None:
    """Record that the person gave consent, or said yes to a channel or topic."""
    _record("granted", **given)


@consent_group.command("withdraw")
@state_options
@identity_options
@scope_options
def withdraw_command(**given: Any) -> None:
    """Record that the person withdrew consent, or said no to a channel or topic (Art. 7(3))."""
    _record("withdrawn", **given)


@consent_group.command("check")
@state_options
@identity_options
@click.option("--purpose", required=True, help="The purpose to ask about.")
@json_option("the answer")
@click.pass_context
def check_command(ctx: click.Context, state_url: str | None, map_path: Path, purpose: str, as_json: bool,
                  emails: Sequence[str], phones: Sequence[str], identity_pairs: Sequence[str]) -> None:  # fmt: skip
    """May the purpose process this person? Exit status 1 when not."""
    app = application(map_path, state_url, create=False)
    loaded = app.loaded
    store = app.store
    answer = consent_allows(store, loaded, _one(emails, phones, identity_pairs), purpose, key=app.key())
    _print_answer(ctx, answer, as_json)


@consent_group.command("contact")
@state_options
@identity_options
@click.option("--channel", type=channel_choice, default="email", show_default=True, help="The channel.")
@click.option("--topic", help="What the message is about (a topic or a purpose's name).")
@json_option("the answer")
@click.pass_context
def contact_command(ctx: click.Context, state_url: str | None, map_path: Path, channel: str, topic: str | None,
                    as_json: bool, emails: Sequence[str], phones: Sequence[str],
                    identity_pairs: Sequence[str]) -> None:  # fmt: skip
    """May we contact this person on a channel about a topic? Exit status 1 when not."""
    app = application(map_path, state_url, create=False)
    loaded = app.loaded
    identity = _one(emails, phones, identity_pairs)
    store = app.store
    answer = may_contact(store, loaded, identity, channel, topic, key=app.key())
    _print_answer(ctx, answer, as_json)


@consent_group.command("filter")
@click.argument("file", type=click.File("r", encoding="utf-8"), default="-")
@state_options
@click.option("--channel", type=channel_choice, default="email", show_default=True, help="The channel.")
@click.option("--topic", help="What the message is about.")
@click.option("--kind", default="email", show_default=True, help="The identity kind FILE lists.")
@json_option("the lines kept and how many were given")
def filter_command(file: Any, state_url: str | None, map_path: Path, channel: str, topic: str | None,
                   kind: str, as_json: bool) -> None:  # fmt: skip
    """Print the lines of FILE (one address each; - for stdin) that may be contacted."""
    app = application(map_path, state_url, create=False)
    loaded = app.loaded
    addresses = [line.strip() for line in file if line.strip()]
    store = app.store
    kept = filter_contactable(store, loaded, addresses, channel, topic, key=app.key(), kind=kind)
    if as_json:
        print_json({"contactable": kept, "given": len(addresses), "channel": channel, "topic": topic})
        return
    for address in kept:
        click.echo(address)
    click.echo(f"{len(kept)} of {len(addresses)} may be contacted on {channel}", err=True)


@consent_group.command("proof")
@state_options
@identity_options
@click.option("--purpose", required=True, help="The purpose to prove the state of.")
@click.option("--channel", type=channel_choice, help="Also answer for contact on this channel.")
@click.option("--topic", help="... about this topic.")
@json_option("the proof")
def proof_command(state_url: str | None, map_path: Path, purpose: str, channel: str | None, topic: str | None,
                  as_json: bool, emails: Sequence[str], phones: Sequence[str],
                  identity_pairs: Sequence[str]) -> None:  # fmt: skip
    """Print the events that establish the person's current state, with the notice each saw."""
    app = application(map_path, state_url, create=False)
    loaded = app.loaded
    identity = _one(emails, phones, identity_pairs)
    store = app.store
    proof = prove(store, loaded, identity, purpose, key=app.key(), channel=channel, topic=topic)
    if as_json:
        print_json(proof.to_dict())
        return
    verdict = "may" if proof.answer.allowed else "may not"
    click.echo(f"{purpose} {verdict} process {identity[0]} {identity[1]}:")
    for reason in proof.answer.reasons:
        click.echo(f"  - {reason}")
    if proof.contact is not None:
        click.echo(f"contact on {channel}{' about ' + topic if topic else ''}: "
                   f"{'yes' if proof.contact.allowed else 'no'}")  # fmt: skip
        for reason in proof.contact.reasons:
            click.echo(f"  - {reason}")
    click.echo(f"\n{len(proof.events)} event(s), oldest first:")
    for event in proof.events:
        scope = "/".join(part for part in (event["purpose"], event["channel"], event["topic"]) if part)
        click.echo(f"#{event['seq']} {event['at']} {event['event']} {scope} (source {event['source']}"
                   f"{': ' + event['source_detail'] if event['source_detail'] else ''}; by {event['actor']}; "
                   f"basis {event['basis'] or '-'})")  # fmt: skip
        click.echo(f"    hash {event['hash']}, follows {event['prev_hash']}")
        if event["notice"]:
            click.echo(f"    notice {event['notice_hash']}:")
            for line in event["notice"].splitlines():
                click.echo(f"      | {line}")
    click.echo(f"\nledger: {proof.chain.message}")


@consent_group.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@state_options
@actor_option
@click.option("--batch-id", help="Name the import (default: the file's SHA-256); a batch is imported once.")
@json_option("how many events were recorded")
def import_command(
    file: Path, state_url: str | None, map_path: Path, actor: str, batch_id: str | None, as_json: bool
) -> None:
    """Import a preference list (CSV) once: every row, or none if any is malformed."""
    app = application(map_path, state_url, create=True)
    result = import_csv(app.store, app.loaded, file, actor=actor, key=app.key(), batch_id=batch_id)
    if as_json:
        print_json(result.to_dict())
        return
    if result.imported_before is not None:
        click.echo(f"{file.name} was already imported on {result.imported_before:%Y-%m-%d %H:%M} UTC "
                   f"(batch {result.batch_id}): 0 new events.")  # fmt: skip
        return
    where = f" (#{result.first_seq}–#{result.last_seq})" if result.events else ""
    click.echo(f"Imported {result.events} event(s) from {file.name}{where}.")
    if result.skipped:
        click.echo(f"Skipped {result.skipped} row(s) imported before (the same row, by checksum).")


@consent_group.command("export")
@state_options
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), help="Write here instead of stdout.")
@click.option("--json", "as_json", is_flag=True, help="Write JSON lines instead of CSV.")
def export_command(state_url: str | None, map_path: Path, out: Path | None, as_json: bool) -> None:
    """Export the whole ledger, identities unsealed: CSV (importable again) or JSON lines."""
    app = application(map_path, state_url, create=False)
    loaded = app.loaded
    store = app.store
    if out is None:
        export_events(store, loaded, sys.stdout, key=app.key(), as_json=as_json)
        return
    with out.open("w", encoding="utf-8", newline="") as handle:
        count = export_events(store, loaded, handle, key=app.key(), as_json=as_json)
    click.echo(f"Exported {count} event(s) to {out}.")


@consent_group.command("gpc")
@state_options
@identity_options
@click.option("--at", "at_text", metavar="TIME", help="When the signal was received, ISO 8601 (default: now).")
@actor_option
@json_option("the events recorded")
def gpc_command(state_url: str | None, map_path: Path, at_text: str | None, actor: str, as_json: bool,
                emails: Sequence[str], phones: Sequence[str], identity_pairs: Sequence[str]) -> None:  # fmt: skip
    """Record a Global Privacy Control signal (Sec-GPC: 1): an opt-out of selling, sharing and
    targeted advertising."""
    app = application(map_path, state_url, create=True)
    loaded = app.loaded
    identities = identities_from(emails, phones, identity_pairs)
    store = app.store
    events = record_gpc(store, loaded, identities, actor=actor, key=app.key(), at=parse_time(at_text or ""))
    if as_json:
        print_json([event.to_dict() for event in events])
    elif not events:
        click.echo("No purpose of the map sells, shares or targets advertising: nothing to opt out of.")
    for event in events if not as_json else ():
        _print_event(event, False)


@consent_group.command("verify")
@state_options
@click.option("--rebuild", is_flag=True, help="Derive the current state from the ledger again first.")
@json_option("the verdict")
@click.pass_context
def verify_command(ctx: click.Context, state_url: str | None, map_path: Path, rebuild: bool, as_json: bool) -> None:
    """Check that the key is the state store's, then the ledger's chain, its anchors in the audit log,
    and its derived state. Exit status 1 when broken, 9 when the key is missing or another."""
    app = application(map_path, state_url, create=False)
    key = checked_fingerprint(app)
    check = verify_ledger(app.store, rebuild=rebuild)
    if check.rebuilt is not None:
        click.echo(f"Rebuilt the current state: {check.rebuilt} row(s).", err=True)
    if as_json:
        print_json({**check.to_dict(), "key": {"fingerprint": key, "matches": True}})
    else:
        click.echo(f"key: {short_fingerprint(key)}, the state store's")
        click.echo(("ok: " if check.ok else "BROKEN: ") + check.message)
        for problem in check.problems[1:]:
            click.echo(f"  {problem}")
        if check.fields:
            click.echo(f"fix: run again with {flags(check.fields)}")
    if not check.ok:
        ctx.exit(EXIT_NO)


def _one(emails: Sequence[str], phones: Sequence[str], pairs: Sequence[str]) -> tuple[str, str]:
    found = [(kind, value) for kind, values in identities_from(emails, phones, pairs).items() for value in values]
    if len(found) != 1:
        raise click.UsageError("name the person by exactly one identity: --email, --phone or --identity KIND=VALUE")
    return found[0]


def _print_answer(ctx: click.Context, answer: Answer, as_json: bool) -> None:
    if as_json:
        print_json(answer.to_dict())
    else:
        click.echo("yes" if answer.allowed else "no")
        for reason in answer.reasons:
            click.echo(f"  - {reason}")
    if not answer.allowed:
        ctx.exit(EXIT_NO)


def _print_event(event: ConsentEvent, as_json: bool) -> None:
    if as_json:
        print_json(event.to_dict())
        return
    click.echo(f"Recorded #{event.seq}: {event.event} for {event.scope.describe()} at {event.at:%Y-%m-%d %H:%M} UTC.")
