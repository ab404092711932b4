"""The library's public surface is what docs/api.md documents: each package's ``__all__``, no more
and no less, and every name in it explains itself with a docstring."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest

API = Path(__file__).resolve().parents[1] / "docs" / "api.md"
SECTION = re.compile(r"^## `(datavow(?:\.[a-z_]+)*)`$")
ROW = re.compile(r"^\| `([A-Za-z_][A-Za-z0-9_]*)` \|")


def documented() -> dict[str, list[str]]:
    """The names docs/api.md lists, per package, in the page's order."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in API.read_text(encoding="utf-8").splitlines():
        if heading := SECTION.match(line):
            current = sections.setdefault(heading.group(1), [])
        elif current is not None and (row := ROW.match(line)):
            current.append(row.group(1))
    return sections


PACKAGES = sorted(documented())


def test_the_page_documents_every_package_with_a_surface() -> None:
    root = Path(importlib.import_module("datavow").__file__ or "").parent
    packages = {"datavow"} | {
        f"datavow.{path.parent.name}" for path in root.glob("*/__init__.py") if path.parent.name != "cli"
    }
    packages |= {"datavow.errors", "datavow.check"}
    assert packages - set(PACKAGES) == set(), "document each package's __all__ in docs/api.md"


@pytest.mark.parametrize("package", PACKAGES)
def test_all_is_the_documented_surface(package: str) -> None:
    module = importlib.import_module(package)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{package} has no __all__"
    assert sorted(exported) == sorted(documented()[package]), f"docs/api.md and {package}.__all__ differ"
    missing = [name for name in exported if not hasattr(module, name)]
    assert missing == [], f"{package}.__all__ names what it does not define"


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_explains_itself(package: str) -> None:
    module = importlib.import_module(package)
    silent = []
    for name in getattr(module, "__all__", []):
        value = getattr(module, name)
        if not (inspect.isclass(value) or inspect.isfunction(value)):
            continue
        doc = inspect.getdoc(value) or ""
        if not doc or doc.startswith(f"{value.__name__}("):  # a dataclass's generated signature says nothing
            silent.append(name)
    assert silent == [], f"give these a docstring: {silent}"
