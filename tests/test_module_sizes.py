"""Modules stay small enough to read in one sitting, and docs/architecture.md's table of parts
gives each part's size as it is (within a margin, so that a small change does not stale it)."""

from __future__ import annotations

import re
from pathlib import Path

import datavow

PACKAGE = Path(datavow.__file__).parent
ARCHITECTURE = PACKAGE.parents[1] / "docs" / "architecture.md"
LIMIT = 500
#: The demo companies' worlds are data (names, products, schedules), not logic.
DATA = {"demo/mira_network/world.py", "demo/mira_software/world.py", "demo/miralix/world.py"}
SIZE_ROW = re.compile(r"^\| `(datavow(?:\.[a-z_]+)*)` \| (\d[\d,]*) \|")


def lines_of(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def part_sizes() -> dict[str, int]:
    """Lines per part: each top-level module, and each package or subpackage with all it holds."""
    sizes: dict[str, int] = {}
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE)
        if "migrations" in relative.parts:
            continue
        parts = relative.with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        for depth in range(1, len(parts) + 1):
            name = "datavow." + ".".join(parts[:depth])
            is_package = (PACKAGE.joinpath(*parts[:depth]) / "__init__.py").exists()
            if depth == len(parts) or is_package:
                if depth == len(parts) and not is_package and depth > 1:
                    continue  # a module inside a package is counted in its package only
                sizes[name] = sizes.get(name, 0) + lines_of(path)
    return sizes


def test_no_module_is_over_the_limit() -> None:
    large = {
        str(path.relative_to(PACKAGE)): lines_of(path)
        for path in PACKAGE.rglob("*.py")
        if str(path.relative_to(PACKAGE)) not in DATA and "migrations" not in path.parts
    }
    assert {name: size for name, size in large.items() if size > LIMIT} == {}, "split it by noun"


def test_architecture_gives_each_parts_size() -> None:
    documented = {}
    for line in ARCHITECTURE.read_text(encoding="utf-8").splitlines():
        if row := SIZE_ROW.match(line):
            documented[row.group(1)] = int(row.group(2).replace(",", ""))
    actual = part_sizes()
    assert set(documented) == set(actual), "docs/architecture.md's table of sizes names other parts than exist"
    stale = {
        name: (size, actual[name])
        for name, size in documented.items()
        if abs(actual[name] - size) > max(60, actual[name] // 7)
    }
    assert stale == {}, "update the sizes in docs/architecture.md (documented, actual)"
