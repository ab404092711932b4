"""The ``datavow`` command: a thin layer that parses input, calls the library, translates errors."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from rich.console import Console

from datavow import __version__
from datavow.errors import DatavowError, MapError, outcome_of

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


# The option that sets each input a library error may name as its ``field``: the library says what is
# wrong in words, the CLI adds where to fix it.
FIELD_FLAGS: dict[str, str] = {
    "email": "--email",
    "phone": "--phone",
    "identity": "--email/--phone/--id",
    "corrections": "--set",
    "force": "--force",
    "state_url": "--state",
    "map_path": "--map",
    "select": "--select",
    "expect_head": "--expect-head",
    "manual": "--manual",
    "send": "--send",
    "rebuild": "--rebuild",
    "title": "--title",
    "description": "--description",
    "occurred": "--occurred-from/--occurred-until",
    "zone": "--zone",
    "tables": "--table/--system",
    "window": "--since/--until",
    "time_columns": "--time-column",
    "tenant": "--tenant",
    "risk": "--risk",
    "reasoning": "--reasoning",
    "kinds": "--kind",
    "priority": "--priority",
    "consequences": "--consequences",
    "measures": "--measures",
    "exemption": "--exemption",
    "exemption_reason": "--exemption-reason",
    "resolution": "--resolution",
    "lessons": "--lessons",
    "procedure_changes": "--changes",
    "delay_reason": "--delay-reason",
    "given_at": "--at",
    "audience": "--to",
}


def describe(error: DatavowError) -> str:
    """The error's message, with the option that sets the input it concerns."""
    flag = FIELD_FLAGS.get(error.field) if error.field else None
    return f"{error} ({flag})" if flag else str(error)


class DatavowGroup(click.Group):
    """Turns every :class:`DatavowError` into a clear message and its exit code; no tracebacks."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MapError as exc:
            if ctx.meta.get("datavow.json"):
                click.echo(
                    json.dumps(
                        {
                            "ok": False,
                            "problems": [
                                {
                                    "file": p.location.file if p.location else None,
                                    "line": p.location.line if p.location else None,
                                    "column": p.location.column if p.location else None,
                                    "message": p.message,
                                    "hint": p.hint,
                                }
                                for p in exc.problems
                            ],
                        },
                        indent=2,
                    )
                )
            else:
                count = len(exc.problems)
                err_console.print(f"[bold red]The data map has {count} problem{'s' if count != 1 else ''}:[/]")
                for problem in exc.problems:
                    err_console.print(f"  {problem}", markup=False)
            sys.exit(outcome_of(exc).exit_code)
        except DatavowError as exc:
            err_console.print("[bold red]error:[/] ", end="")
            err_console.print(describe(exc), markup=False)
            sys.exit(outcome_of(exc).exit_code)


@click.group(cls=DatavowGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="datavow")
def main() -> None:
    """datavow makes a privacy statement true and provable.

    Declare your data map once (datavow.yaml); datavow checks it against the law and your
    databases, and proves what it did in a tamper-evident audit log.
    """


def _register() -> None:
    from datavow.cli import request_run  # noqa: F401 - adds run/access/erase/rectify to the groups below
    from datavow.cli.audit import audit
    from datavow.cli.check import check, rules
    from datavow.cli.consent import consent_group
    from datavow.cli.demo import demo
    from datavow.cli.documents import ropa, statement
    from datavow.cli.importing import import_group
    from datavow.cli.incident import incident_group
    from datavow.cli.requests import request_group, requests_group
    from datavow.cli.retention import retention_group, worker_command
    from datavow.cli.taxonomy import taxonomy
    from datavow.cli.tenant import tenant_group

    commands = (check, rules, taxonomy, demo, import_group, audit, requests_group, request_group)
    for command in (*commands, retention_group, worker_command, tenant_group, consent_group, incident_group):
        main.add_command(command)
    for command in (ropa, statement):
        main.add_command(command)


_register()

__all__ = ["main"]
