"""The ``datavow`` command: a thin layer that parses input, calls the library, translates errors.

Commands are registered by name and imported when they run (:mod:`datavow.cli.lazy`): ``datavow
--help`` lists them from this registry without importing the library behind them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

import click

from datavow import __version__
from datavow.cli.lazy import Lazy, LazyGroup
from datavow.errors import DatavowError, ImportError_, MapError, Problem, outcome_of

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
    "aware_at": "--aware",
    "occurred": "--occurred-from/--occurred-until",
    "occurred_from": "--occurred-from",
    "occurred_until": "--occurred-until",
    "zone": "--zone",
    "tables": "--table/--system",
    "window": "--since/--until",
    "since": "--since",
    "until": "--until",
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
    "language": "--language",
    "system": "--system",
    "systems": "--system",
    "url": "--url",
    "subject": "--subject",
    "skip_nested": "--skip-nested",
}

# What the CLI adds to a problem of a given code (datavow.datamap.source.MISSING_FILE, ...): a command
# that helps, which the library cannot name.
PROBLEM_COMMANDS: dict[str, str] = {"missing_file": "or run 'datavow demo' for an example map"}


# What the CLI adds to a secret-key error, by its field: the commands that help.
KEY_COMMANDS: dict[str, str] = {
    "secret_key": "'datavow key status' shows where the key is looked for and the store's fingerprint; "
    "only a new installation runs 'datavow key create'",
    "key_rotation": "run 'datavow key rotate' again",
}


def flags(fields: Iterable[str | None]) -> str:
    """The options that set ``fields``, in order, once each ("" when none has one)."""
    found = [FIELD_FLAGS[name] for name in fields if name is not None and name in FIELD_FLAGS]
    return ", ".join(dict.fromkeys(found))


def describe(error: DatavowError) -> str:
    """The error's message, with the option that sets the input it concerns; an import's problems
    each with the options of the inputs they concern."""
    if isinstance(error, ImportError_) and error.problems:
        head = str(error).split("\n", 1)[0]
        return "\n".join([head, *(f"  {describe_problem(problem)}" for problem in error.problems)])
    if error.field in KEY_COMMANDS:
        return f"{error} ({KEY_COMMANDS[error.field]})"
    flag = flags([error.field])
    return f"{error} ({flag})" if flag else str(error)


def describe_problem(problem: Problem) -> str:
    """A problem as the CLI shows it: with the options of its fields and the command that helps."""
    text = str(problem)
    if problem.code in PROBLEM_COMMANDS:
        text += f"{',' if problem.hint else ' —'} {PROBLEM_COMMANDS[problem.code]}"
    flag = flags(problem.fields)
    return f"{text} ({flag})" if flag else text


class DatavowGroup(LazyGroup):
    """Turns every :class:`DatavowError` into a clear message and its exit code; no tracebacks."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MapError as exc:
            _report_map_error(ctx, exc)
            sys.exit(outcome_of(exc).exit_code)
        except DatavowError as exc:
            from rich.text import Text

            from datavow.cli.output import err_console

            err_console.print(Text.assemble(("error:", "bold red"), " ", describe(exc)))
            sys.exit(outcome_of(exc).exit_code)


def _report_map_error(ctx: click.Context, exc: MapError) -> None:
    from datavow.cli.output import err_console, print_json

    if ctx.meta.get("datavow.json"):
        problems = [
            {
                "file": p.location.file if p.location else None,
                "line": p.location.line if p.location else None,
                "column": p.location.column if p.location else None,
                "message": p.message,
                "hint": p.hint,
            }
            for p in exc.problems
        ]
        print_json({"ok": False, "problems": problems})
        return
    count = len(exc.problems)
    err_console.print(f"The data map has {count} problem{'s' if count != 1 else ''}:", style="bold red")
    for problem in exc.problems:
        err_console.print(f"  {describe_problem(problem)}")


def _lazy(target: str, short_help: str) -> Lazy:
    return Lazy(f"datavow.cli.{target}", short_help)


#: ``datavow requests``: the lifecycle, and executing verified requests.
requests_group = LazyGroup(
    "requests",
    help="Data subject requests: list them with their deadlines, verify, extend, deny, run them and "
    "open an access request's package for delivery.",
    lazy={
        "list": _lazy("requests:list_command", "List requests, soonest deadline first."),
        "show": _lazy("requests:show", "Show one request: its state, clock, identities and result."),
        "verify": _lazy(
            "requests:verify_command",
            "Verify the person's identity: send a code, check the code they give back, or record a "
            "verification done another way.",
        ),
        "extend": _lazy("requests:extend_command", "Extend a request's deadline by 1 or 2 months, with a reason."),
        "deny": _lazy("requests:deny_command", "Refuse a request with its reason, and print the letter."),
        "run": _lazy("request_run:run_command", "Execute verified requests, or finish interrupted ones."),
        "package": _lazy("request_run:package_command", "Decrypt a completed access request's package into a folder."),
    },
)

#: ``datavow request``: one person's rights.
request_group = LazyGroup(
    "request",
    help="Act on one person's rights: restrict processing, object to a purpose, ask whether a purpose "
    "may process them.",
    lazy={
        "access": _lazy("request_run:access_command", "Give a person a copy of their data and the letter, encrypted."),
        "erase": _lazy("request_run:erase_command", "Erase a person's data, keeping what legal holds require."),
        "rectify": _lazy("request_run:rectify_command", "Correct a person's data everywhere it lives."),
        "restrict": _lazy("requests:restrict_command", "Restrict processing of a person, for every purpose or some."),
        "object": _lazy("requests:object_command", "Record an objection to a purpose."),
        "lift": _lazy(
            "requests:lift_command",
            "Lift a restriction or objection, with the reason; prints what the person must be told.",
        ),
        "status": _lazy(
            "requests:status_command",
            "Is this person restricted? With --purpose: may that purpose process them? Exit code 0: yes "
            "they are free / allowed; 1: restricted / not allowed.",
        ),
    },
)

#: Every top-level command: name -> where it lives, and its short help.
COMMANDS: dict[str, Lazy] = {
    "check": _lazy("check:check", "Check the data map against the law (lint) and the live databases (drift)."),
    "rules": _lazy("check:rules", "List the lint rules: id, severity, the article each enforces, and the fix."),
    "taxonomy": _lazy(
        "taxonomy:taxonomy", "List the data categories: fideslang's, datavow's additions, and the map's own."
    ),
    "demo": _lazy("demo:demo", "Build the demo companies in FOLDER, check each, and print a tour."),
    "import": _lazy("importing:import_group", "Turn another tool's description of your data into a data map fragment."),
    "audit": _lazy("audit:audit", "Read and verify the tamper-evident audit log."),
    "retention": _lazy(
        "retention:retention_group", "Plan and run retention sweeps: delete or anonymise what is past its period."
    ),
    "worker": _lazy(
        "retention:worker_command",
        "Sweep each system on the schedule the map's 'retention:' gives, until stopped (SIGTERM or Ctrl-C "
        "finish the current chunk and release the lock).",
    ),
    "tenant": _lazy(
        "tenant:tenant_group",
        "Offboard a controller when its contract ends: return its data, delete it, certify the deletion.",
    ),
    "consent": _lazy(
        "consent:consent_group", "Consent and communication preferences: an append-only ledger with proof."
    ),
    "incident": _lazy(
        "incident:incident_group",
        "The incident register: register a breach, analyse, classify, notify, resolve, evaluate.",
    ),
    "key": _lazy(
        "key:key_group", "The installation's secret key: create it, check it against the state store, rotate it."
    ),
    "ropa": _lazy("documents:ropa", "Write the record of processing, as a controller and as a processor."),
    "statement": _lazy("documents:statement", "Write the privacy statement from the map, in Markdown, HTML or PDF."),
}


@click.group(cls=DatavowGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="datavow")
def main() -> None:
    """datavow makes a privacy statement true and provable.

    Declare your data map once (datavow.yaml); datavow checks it against the law and your
    databases, and proves what it did in a tamper-evident audit log.
    """


main.add_command(requests_group)
main.add_command(request_group)

__all__ = [
    "COMMANDS",
    "FIELD_FLAGS",
    "KEY_COMMANDS",
    "DatavowGroup",
    "describe",
    "main",
    "request_group",
    "requests_group",
]
