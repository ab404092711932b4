"""``datavow key``: make the installation's secret key, and see whether it is the state store's.

Nothing else makes a key: a command that finds none stops with exit code 9 and says what to do.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.text import Text

from datavow.app import Datavow
from datavow.cli import KEY_COMMANDS
from datavow.cli.options import actor_option, application, json_option, progress_bar, state_options
from datavow.cli.output import console, print_json
from datavow.errors import SecretError
from datavow.secrets import fingerprint, short_fingerprint


@click.group("key")
def key_group() -> None:
    """The installation's secret key: create it, check it against the state store, rotate it."""


def checked_fingerprint(app: Datavow) -> str:
    """The fingerprint of the application's key, checked against its state store first (a
    :class:`SecretError`, exit 9, when it is missing or another): what verify commands report."""
    return fingerprint(app.key())


@key_group.command("create")
@state_options
@json_option("where the key is and its fingerprint")
def create_command(state_url: str | None, map_path: Path, as_json: bool) -> None:
    """Create the secret key (.datavow/secret.key beside the map, mode 0600) and record its
    fingerprint in the state store. Refuses if there is a key already."""
    status = application(map_path, state_url, create=True).create_key()
    if as_json:
        print_json(status.to_dict())
        return
    assert status.fingerprint is not None
    console.print(f"Created the secret key in {status.key_file} (mode 0600).")
    console.print(f"  fingerprint: {short_fingerprint(status.fingerprint)}")
    console.print(
        "Back it up now, somewhere other than this machine (a password manager, a vault): without it, the "
        "identities in the state store cannot be read or found, and every command that needs them stops."
    )
    console.print("To give it to another host or a container, set DATAVOW_SECRET_KEY to the file's contents.")


@key_group.command("status")
@state_options
@json_option("the key's status")
@click.pass_context
def status_command(ctx: click.Context, state_url: str | None, map_path: Path, as_json: bool) -> None:
    """Where the key comes from, its fingerprint, and whether it is the state store's. Exits 0 when
    it is, 9 when the key is missing or another."""
    status = application(map_path, state_url, create=False).key_status()
    if as_json:
        print_json(status.to_dict())
    else:
        console.print(f"key from:          {status.source}")
        shown = short_fingerprint(status.fingerprint) if status.fingerprint else "none"
        console.print(f"fingerprint:       {shown}")
        recorded = status.store_fingerprint
        console.print(f"store's key:       {short_fingerprint(recorded) if recorded else 'none recorded yet'}")
        if status.ok:
            done = "the key is the state store's" if recorded else "recorded on first use"
            console.print(Text.assemble(("✓", "green"), " ", done))
        else:
            console.print(Text.assemble(("✗", "red"), " ", f"{status.problem} ({KEY_COMMANDS['secret_key']})"))
    if not status.ok:
        ctx.exit(SecretError.exit_code)


@key_group.command("rotate")
@state_options
@actor_option
@click.option("--batch", type=click.IntRange(min=1), default=500, show_default=True, help="Rows per transaction.")
@json_option("the fingerprints and where the keys are")
def rotate_command(state_url: str | None, map_path: Path, actor: str, batch: int, as_json: bool) -> None:
    """Replace the secret key: seal and hash everything in the state store again under a new key.
    Resumable: run it again after an interruption and it finishes where it stopped."""
    app = application(map_path, state_url, create=False)
    with progress_bar(width=16, quiet=as_json) as bar:
        task = bar.add_task("rotating", total=None)

        def on_progress(step: str, position: str) -> None:
            bar.update(task, description=step, advance=1)

        rotation = app.rotate_key(actor, batch=batch, progress=on_progress)
    if as_json:
        print_json(rotation.to_dict())
        return
    verb = "Finished the rotation" if rotation.resumed else "Rotated the secret key"
    console.print(
        f"{verb}: {short_fingerprint(rotation.old_fingerprint)} → {short_fingerprint(rotation.new_fingerprint)}."
    )
    console.print(f"  the key:         {rotation.key_file} (back it up now)")
    console.print(f"  the retired key: {rotation.retired_file} (opens packages sealed before)")
