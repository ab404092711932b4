"""Options shared by several commands: where the map and the state store are, and the command's
application object built from them; who acts, who the person is, and ``--json``."""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from datavow.app import Datavow
from datavow.store import STATE_URL_ENV

if TYPE_CHECKING:
    from rich.progress import Progress

F = TypeVar("F", bound=Callable[..., object])

#: The exit code of a command whose answer is no: not allowed, not complete, not intact.
EXIT_NO = 1

map_option = click.option(
    "--map",
    "map_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("datavow.yaml"),
    show_default=True,
    envvar="DATAVOW_MAP",
    show_envvar=True,
    help="The data map; the state store defaults to .datavow/state.db beside it.",
)


def json_option(what: str = "the result") -> Callable[[F], F]:
    """``--json``: print ``what`` as JSON instead of text (:func:`datavow.cli.output.print_json`)."""
    return click.option("--json", "as_json", is_flag=True, help=f"Print {what} as JSON.")


def state_options(command: F) -> F:
    """``--state URL`` and ``--map PATH``: where the state store is."""
    command = map_option(command)
    return click.option(
        "--state",
        "state_url",
        metavar="URL",
        envvar=STATE_URL_ENV,
        show_envvar=True,
        help="State store URL (sqlite:///… or postgresql+psycopg://…).",
    )(command)


def application(map_path: Path, state_url: str | None = None, *, create: bool = False) -> Datavow:
    """The command's one application object: the map at ``--map``, the state store named by
    ``--state``, else the one beside the map. Made on the first call, closed when the command ends.

    Readers pass ``create=False``: reading a store that does not exist must fail, not report an
    empty log.
    """
    ctx = click.get_current_context()
    app = ctx.meta.get(_APP)
    if not isinstance(app, Datavow):
        app = ctx.meta[_APP] = ctx.with_resource(Datavow.open(map_path, state_url=state_url, create=create))
    return app


_APP = "datavow.app"


def default_actor() -> str:
    """Who is acting, for the audit log: ``$DATAVOW_ACTOR``, else the operating-system user."""
    return os.environ.get("DATAVOW_ACTOR") or f"user:{getpass.getuser()}"


actor_option = click.option(
    "--actor",
    default=default_actor,
    show_default="$DATAVOW_ACTOR, else user:<login>",
    help="Who is acting, as the audit log records it.",
)


def split_pair(text: str, shape: str, option: str) -> tuple[str, str]:
    """``KEY=VALUE`` -> (key, value), or a usage error naming ``shape`` (e.g. ``KIND=VALUE``)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise click.BadParameter(f"{text!r} is not {shape}", param_hint=option)
    return key.strip(), value


def identity_options(command: F) -> F:
    """``--email``, ``--phone`` and ``--identity KIND=VALUE``, each repeatable: who the person is."""
    command = click.option(
        "--identity",
        "identity_pairs",
        metavar="KIND=VALUE",
        multiple=True,
        help="Another identity the map declares, e.g. user_id=42 (repeatable).",
    )(command)
    command = click.option("--phone", "phones", metavar="NUMBER", multiple=True, help="A phone number (repeatable).")(
        command
    )
    return click.option("--email", "emails", metavar="ADDRESS", multiple=True, help="An e-mail address (repeatable).")(
        command
    )


def identities_from(emails: Sequence[str], phones: Sequence[str], pairs: Sequence[str]) -> dict[str, list[str]]:
    """What ``identity_options`` collected, as ``parse_identities`` takes it."""
    found: dict[str, list[str]] = {}
    for kind, values in (("email", emails), ("phone", phones)):
        if values:
            found[kind] = list(values)
    for pair in pairs:
        kind, value = split_pair(pair, "KIND=VALUE, e.g. user_id=42", "--identity")
        found.setdefault(kind, []).append(value)
    return found


def progress_bar(*, width: int, quiet: bool = False) -> Progress:
    """The bar every long command shows: what, how far, how long; it disappears when done and
    stays out of the way of ``--json`` output (``quiet``)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from datavow.cli.output import console

    return Progress(
        TextColumn(f"{{task.description:<{width}}}", markup=False),  # a table's name is not markup
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=quiet,
    )
