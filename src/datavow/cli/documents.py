"""``datavow ropa``, ``datavow statement`` and ``datavow statement diff``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from datavow.cli.options import application, json_option, map_option
from datavow.cli.output import console, print_json
from datavow.documents.diff import compare_statements
from datavow.documents.ropa_formats import FORMATS, write_record
from datavow.documents.statement import Statement, write_statements

_templates_option = click.option(
    "--templates",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="A folder of your own templates (<language>/statement.j2, …) overriding the built-in wording.",
)


def _emit(content: str | bytes, out: Path | None) -> None:
    if out is None:
        if isinstance(content, bytes):
            raise click.UsageError("this format is binary: write it to a file with --out")
        click.echo(content, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(content) if isinstance(content, bytes) else out.write_text(content, encoding="utf-8")
    console.print(f"wrote {out}", style="dim")


@click.command("ropa", short_help="Write the record of processing, as a controller and as a processor.")
@map_option
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="html", show_default=True, help="Output format.")
@click.option("--language", "lang", metavar="LANG", help="Labels in this language (default: the map's).")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), help="Write here (needed for xlsx and pdf).")
@_templates_option
def ropa(map_path: Path, fmt: str, lang: str | None, out: Path | None, templates: Path | None) -> None:
    """Write the record of processing (Art. 30(1) controller record, Art. 30(2) per controller served).

    A field the map cannot fill is marked missing with the lint rule that flags it.
    """
    written = write_record(application(map_path).loaded, fmt, language=lang, templates=templates)
    _emit(written.content, out)
    if written.missing:
        console.print(f"{written.missing} field(s) missing; `datavow check --no-drift` names the gaps", style="yellow")


def _write(statement: Statement, fmt: str, templates: Path | None) -> str | bytes:
    if fmt == "md":
        return statement.markdown()
    if fmt == "html":
        return statement.html(templates)
    return statement.pdf(templates)


@click.group("statement", invoke_without_command=True)
@map_option
@click.option(
    "--language",
    "langs",
    metavar="LANG",
    multiple=True,
    help="Write in this language (repeatable); 'all' for every one the map publishes.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["md", "html", "pdf"]), default="md", show_default=True, help="Output format."
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="A file; with several languages, a folder (statement.<lang>.<format>).",
)
@click.option(
    "--trace", is_flag=True, help="List every paragraph with the map paths it comes from, instead of the statement."
)
@_templates_option
@click.pass_context
def statement(
    ctx: click.Context,
    map_path: Path,
    langs: tuple[str, ...],
    fmt: str,
    out: Path | None,
    trace: bool,
    templates: Path | None,
) -> None:
    """Write the privacy statement from the map, in Markdown, HTML or PDF."""
    if ctx.invoked_subcommand is not None:
        return
    statements = write_statements(application(map_path).loaded, langs, templates=templates)
    for written in statements:
        code = written.language
        if trace:
            for topic, text, sources in written.trace():
                click.echo(f"{code}\t{topic}\t{' '.join(sources)}\t{text}")
            continue
        target = out / f"statement.{code}.{fmt}" if out is not None and len(statements) > 1 else out
        _emit(_write(written, fmt, templates), target)


@statement.command("diff")
@click.argument("old")
@click.argument("new")
@click.option(
    "--language",
    "lang",
    metavar="LANG",
    default="en",
    show_default=True,
    help="Compare the statements in this language.",
)
@json_option("the changed sentences")
@_templates_option
def statement_diff_command(old: str, new: str, lang: str, as_json: bool, templates: Path | None) -> None:
    """Show which sentences of the statement change between two maps (OLD and NEW: files, or REV:path).

    Exit code 0: the statement is the same; 1: it changes.
    """
    changes = compare_statements(old, new, lang, templates)
    if as_json:
        print_json([change.to_dict() for change in changes])
    else:
        for change in changes:
            sign, style = ("-", "red") if change.change == "removed" else ("+", "green")
            console.print(f"{sign} [{change.topic}] {change.text}", style=style)
            console.print(f"    from: {' '.join(change.sources)}", style="dim")
        console.print(f"{len(changes)} sentence(s) changed" if changes else "the statement does not change")
    sys.exit(1 if changes else 0)


__all__ = ["ropa", "statement"]
