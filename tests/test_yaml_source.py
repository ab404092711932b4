"""The map's YAML is parsed by libyaml where PyYAML has it; values, positions and error messages are
those PyYAML's own parser gives."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from datavow.datamap import source
from datavow.datamap.source import read_yaml

TRICKY = """\
organization:   {name: "Bäckerei Ørsted", country: SE}   # flow style, non-ASCII
purposes:
  mail:
    name: >
      folded text
      over two lines
    basis: consent
    subjects: [customer,
      employee]
anchor: &base {keep: 90 days}
uses: *base
'quoted key': 'it''s'
numbers: [1, 2.5, 0x1F, ~, yes, 2024-01-31]
tabs: "a\\tb"
emoji: "🙂 after an astral character, columns still count characters"
"""


def _pure(text: str, loader: type[yaml.SafeLoader] | None = None) -> Iterator[yaml.Event]:
    return yaml.parse(text, Loader=yaml.SafeLoader)


def test_libyaml_gives_the_values_and_positions_pyyaml_gives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert getattr(yaml, "CSafeLoader", None) is not None, "PyYAML without libyaml: this test checks nothing"
    path = tmp_path / "map.yaml"
    path.write_text(TRICKY + "after: {x: 1}\n", encoding="utf-8")
    fast = read_yaml(path)
    monkeypatch.setattr(source, "_events", _pure)
    pure = read_yaml(path)
    assert fast[0] == pure[0] == yaml.safe_load(path.read_text(encoding="utf-8"))
    assert fast[0]["uses"] == {"keep": "90 days"}
    assert (fast[1].keys, fast[1].values, fast[2]) == (pure[1].keys, pure[1].values, pure[2])
    assert fast[1].keys[("after",)].line == TRICKY.count("\n") + 1


def test_a_syntax_error_reads_as_pyyaml_words_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "map.yaml"
    path.write_text("organization:\n  name: a: b\n", encoding="utf-8")
    fast = read_yaml(path)[2]
    monkeypatch.setattr(source, "_events", _pure)
    assert fast == read_yaml(path)[2]
    assert [problem.message for problem in fast] == ["YAML syntax error: mapping values are not allowed here"]
