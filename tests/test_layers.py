"""The layers of the package, in the order the architecture documents: a module imports only from
its own part and from parts below it. Imports made inside functions count too, so a late import
cannot hide a dependency that runs upward."""

from __future__ import annotations

import ast
from pathlib import Path

import datavow

PACKAGE = Path(datavow.__file__).parent

#: Lowest first. A part may import from its own part and from any part of a lower rank; parts of
#: the same rank are independent of each other. ``docs/architecture.md`` draws the same order.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "lazy"),
    ("language", "findings", "secrets", "pdf", "taxonomy", "driver_errors"),
    ("datamap",),
    ("store", "interop"),
    ("audit", "connectors"),
    ("plan",),
    ("lint", "changes"),
    ("documents",),
    ("check", "consent"),
    ("requests",),
    ("retention",),
    ("incidents", "rotation"),
    ("app",),
    ("demo",),
    ("cli",),
    ("__init__", "__main__"),
)

RANK = {part: rank for rank, parts in enumerate(LAYERS) for part in parts}


def _part(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py")


def _imported_parts(path: Path) -> set[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[tuple[str, int]] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "datavow":
                names = [f"datavow.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            pieces = name.split(".")
            if pieces[0] == "datavow" and len(pieces) > 1:
                found.add((pieces[1], node.lineno))
    return found


def test_every_part_has_a_layer() -> None:
    parts = {_part(path) for path in PACKAGE.rglob("*.py")}
    assert parts - set(RANK) == set(), "add the new part to LAYERS and to docs/architecture.md"


def test_no_import_runs_up_the_layers() -> None:
    upward: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        part = _part(path)
        for target, line in sorted(_imported_parts(path)):
            if target == part or target not in RANK:
                continue
            if RANK[target] >= RANK[part]:
                upward.append(f"{path.relative_to(PACKAGE)}:{line} imports datavow.{target}")
    assert upward == []


def test_the_layer_check_sees_an_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "probe.py"
    module.write_text("def f() -> None:\n    from datavow.cli import main\n", encoding="utf-8")
    assert ("cli", 2) in _imported_parts(module)
