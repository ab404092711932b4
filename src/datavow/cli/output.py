"""Where commands print: the consoles, and the one way a result is printed as JSON.

Only the modules of commands import this (rich costs a noticeable part of start-up), never the
command registry that ``datavow --help`` reads.

The consoles print text as it is: never as markup (``[red]jane`` stays ``[red]jane``), never with
emoji codes (``file:100:`` stays ``file:100:``). Identities, names from the map and messages are
text a user wrote; styles are given as :class:`rich.text.Text` or ``style=``, never inside a string.
"""

from __future__ import annotations

import json
from typing import Any

import click
from rich.console import Console

console = Console(highlight=False, soft_wrap=True, markup=False, emoji=False)
err_console = Console(stderr=True, highlight=False, soft_wrap=True, markup=False, emoji=False)


def print_json(data: Any) -> None:
    """Print ``data`` as indented JSON; dates, paths and other values print as their text."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


__all__ = ["console", "err_console", "print_json"]
