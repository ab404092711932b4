"""``datavow taxonomy``: the data categories a map can use."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.table import Table

from datavow.cli.options import application
from datavow.cli.output import console
from datavow.taxonomy import default_taxonomy


@click.command()
@click.option(
    "--map",
    "map_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Include the categories this map adds under 'taxonomy:'.",
)
@click.option("--special", is_flag=True, help="Only the special categories (Art. 9) and criminal data (Art. 10).")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def taxonomy(map_path: Path | None, special: bool, as_json: bool) -> None:
    """List the data categories: fideslang's, datavow's additions, and the map's own."""
    tax = application(map_path).loaded.taxonomy if map_path is not None else default_taxonomy()
    rows = [
        c
        for c in sorted(tax.categories.values(), key=lambda c: c.key)
        if not special or tax.special_article(c.key) is not None
    ]
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "key": c.key,
                        "name": c.name,
                        "parent": c.parent,
                        "special": tax.special_article(c.key),
                        "origin": c.origin,
                    }
                    for c in rows
                ],
                indent=2,
            )
        )
        return
    table = Table("category", "name", "special", "from")
    for c in rows:
        article = tax.special_article(c.key)
        table.add_row(c.key, c.name, {"art9": "Art. 9", "art10": "Art. 10"}.get(article or "", ""), c.origin)
    console.print(table)
