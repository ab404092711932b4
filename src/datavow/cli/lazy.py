"""Command groups whose commands are imported only when invoked.

``datavow --help`` or a typo must not pay for importing every command's library (the planner,
SQLAlchemy, Alembic, Jinja2, …). A :class:`LazyGroup` knows its commands by name, as
``"module:attribute"`` with their short help, and imports a command's module when it is run or
its own help is asked for. ``tests/test_cli_startup.py`` checks that each registered short help
is the command's own, so the two cannot drift.
"""

from __future__ import annotations

import gc
import importlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import click
from click.utils import make_default_short_help


@dataclass(frozen=True)
class Lazy:
    """A command not imported yet: where it lives and the short help ``--help`` lists it with."""

    target: str
    short_help: str

    def load(self) -> click.Command:
        module_name, _, attribute = self.target.partition(":")
        with _collector_paused():
            module = importlib.import_module(module_name)
        command = getattr(module, attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.target} is not a click command")
        return command


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Importing a command's library makes a few hundred thousand objects that live as long as the
    process; the cyclic garbage collector would scan them again and again as they are made (a
    tenth of a command's start-up). So it waits until the import is done, and then leaves what the
    import made out of its scans (``gc.freeze``). What was garbage before is collected first, so
    that nothing but the import's own objects is kept from it."""
    if not gc.isenabled():
        yield
        return
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


class LazyGroup(click.Group):
    """A group whose commands are partly (or wholly) :class:`Lazy` entries."""

    def __init__(self, *args: Any, lazy: Mapping[str, Lazy] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy: dict[str, Lazy] = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in self.lazy:
            command = self.lazy[cmd_name].load()
            self.add_command(command, cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Like click's, but a command not imported yet is listed with its registered short help,
        shortened as click shortens a docstring."""
        rows: list[tuple[str, str]] = []
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max((len(name) for name in names), default=0)
        for name in names:
            loaded = self.commands.get(name)
            if loaded is None:
                rows.append((name, make_default_short_help(self.lazy[name].short_help, limit)))
            elif not loaded.hidden:
                rows.append((name, loaded.get_short_help_str(limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


__all__ = ["Lazy", "LazyGroup"]
