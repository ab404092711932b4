"""The CLI prints what people and maps wrote as it is: never as terminal markup, never as emoji.

An identity such as ``[/x]`` once crashed the printer and ``[red]jane`` lost its brackets; a place
such as ``datavow.yaml:100:15`` printed as an emoji. Real things: the shop's map and SQLite
databases, its state store beside the map, the command run in-process.
"""

from __future__ import annotations

from click.testing import CliRunner, Result

from datavow.cli import main
from datavow.datamap import LoadedMap
from tests import test_requests_lifecycle as lifecycle

shop = lifecycle.shop

MARKUP = "[red]contested[/] [/x] [bold] :100: :smile:"


def _run(shop: LoadedMap, *args: str) -> Result:
    result = CliRunner().invoke(main, [*args, "--map", str(shop.path)], env={"DATAVOW_ACTOR": "agent:cli"})
    assert "Traceback" not in result.output and not isinstance(result.exception, AssertionError), result.output
    return result


def test_identities_that_look_like_markup_are_printed_as_written(shop: LoadedMap) -> None:
    closing = _run(shop, "request", "status", "--email", "[/x]")
    assert closing.exit_code == 8
    assert "'[/x]' is not an e-mail address (--email)" in closing.output
    coloured = _run(shop, "request", "status", "--email", "[red]jane")
    assert coloured.exit_code == 8
    assert "'[red]jane' is not an e-mail address (--email)" in coloured.output
    emoji = _run(shop, "request", "status", "--email", "jane:100:")
    assert emoji.exit_code == 8
    assert "'jane:100:' is not an e-mail address (--email)" in emoji.output


def test_text_a_person_gave_is_printed_as_written_in_a_table_and_a_line(shop: LoadedMap) -> None:
    restricted = _run(
        shop, "request", "restrict", "--email", "jane@example.com", "--purpose", "service", "--reason", MARKUP
    )
    assert restricted.exit_code == 0, restricted.output
    status = _run(shop, "request", "status", "--email", "jane@example.com", "--purpose", "service")
    assert status.exit_code == 1
    for word in MARKUP.split():  # the reason, in the table of restrictions, wrapped at its spaces
        assert word in status.output
    assert "💯" not in status.output and "😄" not in status.output


def test_a_place_in_the_map_is_printed_as_file_line_column_never_as_an_emoji(shop: LoadedMap) -> None:
    text = shop.path.read_text(encoding="utf-8")
    lines = text.count("\n")
    shop.path.write_text(text + "\n" * (99 - lines) + "organization: : broken\n", encoding="utf-8")
    checked = _run(shop, "check", "--no-drift")
    assert checked.exit_code == 2
    assert f"{shop.path.name}:100:" in checked.output
    assert "💯" not in checked.output
