"""``datavow import ...``: the commands over :mod:`datavow.interop`.

The main CLI mounts the group: ``main.add_command(import_group)``.
"""

from __future__ import annotations

from pathlib import Path

import click

from datavow.interop.fides import import_fides


@click.group("import")
def import_() -> None:
    """Turn another tool's description of your data into a data map fragment."""


@import_.command("fides")
@click.argument("dataset", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the fragment to this file instead of standard output.",
)
@click.option("--url", help="The database URL of the system (default: ${<DATASET_KEY>_URL}).")
@click.option("--subject", help="The subject category (a key under 'subjects:') of tables holding personal data.")
@click.option("--system", help="Import every dataset as this one system: they describe one database.")
@click.option("--skip-nested", is_flag=True, help="Leave nested fields out, with a comment, instead of failing.")
def fides(
    dataset: tuple[Path, ...],
    output: Path | None,
    url: str | None,
    subject: str | None,
    system: str | None,
    skip_nested: bool,
) -> None:
    """Convert Fides dataset files into a data map fragment to review and include.

    Give several files at once when their datasets reference each other.
    """
    # An ImportError_ reaches the main group, which reports every DatavowError the same way.
    text = import_fides(dataset, url=url, subject=subject, system=system, skip_nested=skip_nested)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise click.FileError(str(output), hint=exc.strerror or str(exc)) from exc
    click.echo(f"wrote {output}: include it from datavow.yaml and review the notes at its top", err=True)


import_group = import_

__all__ = ["fides", "import_", "import_group"]
