"""The demo companies' data maps, shipped with the package, and pointing them at their data.

The maps are written by hand, with comments that explain them; pointing one at where the demo put
its data edits only each system's ``url`` (and ``schema``) in the text, so the comments stay.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources

import yaml

from datavow.errors import DemoError


def packaged_map(name: str) -> str:
    """The text of the demo company ``name``'s ``datavow.yaml``, as shipped."""
    return resources.files("datavow.demo").joinpath("maps", f"{name}.yaml").read_text(encoding="utf-8")


def point_map(text: str, targets: Mapping[str, tuple[str, str | None]]) -> str:
    """``text`` with each system's ``url`` (and ``schema``, when not None) set from ``targets``."""
    root = yaml.compose(text)  # nodes know where in the text they are
    systems = _required(root, "systems")
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement) in the text
    for key, node in systems.value if isinstance(systems, yaml.MappingNode) else []:
        if key.value not in targets:
            continue
        url, schema = targets[key.value]
        url_node = _required(node, "url")
        if url_node.value != url:
            edits.append((url_node.start_mark.index, url_node.end_mark.index, _scalar(url)))
        if schema is None:
            continue
        schema_node = _child(node, "schema")
        if schema_node is not None:
            edits.append((schema_node.start_mark.index, schema_node.end_mark.index, _scalar(schema)))
        else:  # a new line under url, at its indentation
            line_end = text.find("\n", url_node.end_mark.index)
            line_end = len(text) if line_end < 0 else line_end
            indent = " " * _key_column(node, "url")
            edits.append((line_end, line_end, f"\n{indent}schema: {_scalar(schema)}"))
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def _child(node: yaml.Node, name: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == name:
                found: yaml.Node = value
                return found
    return None


def _required(node: yaml.Node | None, name: str) -> yaml.Node:
    found = _child(node, name) if node is not None else None
    if found is None:
        raise DemoError(f"the packaged demo map has no '{name}:' where expected (a bug in the demo)")
    return found


def _key_column(node: yaml.Node, name: str) -> int:
    column: int = next(key.start_mark.column for key, _ in node.value if key.value == name)
    return column


def _scalar(value: str) -> str:
    # A double-quoted YAML scalar is a JSON string: safe for any URL, '#' and ': ' included.
    plain = value.replace("_", "").replace("-", "").replace(".", "").isalnum()
    return value if plain else json.dumps(value)
