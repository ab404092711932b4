"""The command starts fast: ``datavow --help`` lists the commands from the registry without
importing them, and a dry run does not import what only other commands need. The registry's
short help is each command's own, so the two cannot drift. And no command module reaches past
the library into SQLAlchemy or the store's tables."""

from __future__ import annotations

import ast
import gc
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

import datavow
from datavow.cli import COMMANDS, main, request_group, requests_group
from datavow.cli.lazy import Lazy, LazyGroup
from tests import test_requests_lifecycle as lifecycle

CLI = Path(datavow.__file__).parent / "cli"
SOURCES = str(Path(datavow.__file__).parent.parent)

#: What only some commands need: none of it is imported for ``--help`` or a dry run.
HEAVY = ("alembic", "faker", "jinja2", "weasyprint", "openpyxl")

#: What a dry run of an e-mail request on SQLite does without: it records nothing (no state store,
#: its models, the audit log or a request's lifecycle), seals nothing (no cryptography), reads
#: fideslang's taxonomy from datavow's own copy, has no phone number or national id to read,
#: compares no drift and speaks no PostgreSQL.
NOT_IN_A_DRY_RUN = (
    "sqlalchemy.orm",
    "datavow.store.engine",
    "datavow.store.models",
    "datavow.store.migrate",
    "datavow.audit",
    "datavow.requests.lifecycle",
    "datavow.requests.service",
    "datavow.connectors.drift",
    "sqlalchemy.dialects.postgresql",
)

shop = lifecycle.shop


def _imported(*args: str, cwd: Path | None = None) -> set[str]:
    """The modules ``python -X importtime -m datavow ARGS`` imports (names only, never timings)."""
    env = {**os.environ, "PYTHONPATH": SOURCES}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "datavow", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        check=True,
    )
    return {m.group(1) for m in re.finditer(r"^import time:.*\|\s+(\S+)$", done.stderr, flags=re.MULTILINE)}


def _roots(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def test_help_imports_no_command_and_no_heavy_library() -> None:
    modules = _imported("--help")
    assert "click" in modules and "datavow.cli" in modules  # the probe sees imports at all
    assert _roots(modules).isdisjoint({*HEAVY, "fideslang", "sqlalchemy", "pydantic", "rich"})
    assert not {name for name in modules if name.startswith("datavow.")} - {
        "datavow.cli",
        "datavow.cli.lazy",
        "datavow.errors",
    }


def test_a_dry_run_loads_the_map_and_the_planner_but_nothing_heavy(shop: datavow.LoadedMap) -> None:
    modules = _imported("request", "access", "--dry-run", "--map", str(shop.path), "--email", "jane@example.com")
    assert {"datavow.datamap", "datavow.plan", "sqlalchemy", "datavow.requests.reading"} <= modules
    assert _roots(modules).isdisjoint({*HEAVY, "fideslang", "cryptography", "phonenumbers", "stdnum"})
    assert sorted(name for name in modules if name.startswith(NOT_IN_A_DRY_RUN)) == []


def _registries() -> list[tuple[str, LazyGroup]]:
    return [("datavow", main), ("datavow request", request_group), ("datavow requests", requests_group)]


@pytest.mark.parametrize("group_name, group", _registries())
def test_each_registered_short_help_is_the_commands_own(group_name: str, group: LazyGroup) -> None:
    assert group.lazy, group_name
    for name, entry in group.lazy.items():
        command = entry.load()
        assert command.name == name or group is main, f"{group_name} {name} loads {command.name}"
        assert entry.short_help == command.get_short_help_str(limit=sys.maxsize), f"{group_name} {name}"


def test_every_top_level_command_is_registered() -> None:
    context = click.Context(main)
    assert set(main.list_commands(context)) == {*COMMANDS, "request", "requests"}


def _forbidden_imports(path: Path) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            if name.split(".")[0] == "sqlalchemy" or name.startswith("datavow.store.models"):
                found.append(f"{path.name}:{node.lineno} imports {name}")
    return found


def test_no_cli_module_imports_sqlalchemy_or_the_stores_models() -> None:
    assert [line for path in sorted(CLI.rglob("*.py")) for line in _forbidden_imports(path)] == []


def test_the_import_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("def f() -> None:\n    from datavow.store import models\n    import sqlalchemy as sa\n")
    assert _forbidden_imports(probe) == ["probe.py:2 imports datavow.store.models", "probe.py:3 imports sqlalchemy"]


@pytest.mark.parametrize("package", ["datavow.connectors", "datavow.store", "datavow.requests"])
def test_every_public_name_of_a_package_imported_lazily_is_found(package: str) -> None:
    module = importlib.import_module(package)
    found = {name: getattr(module, name) for name in module.__all__}
    assert all(value is not None for value in found.values())
    with pytest.raises(AttributeError, match="no_such_name"):
        module.no_such_name  # noqa: B018


def test_a_command_is_imported_with_the_collector_paused_and_its_objects_kept_out_of_later_scans(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    probe = tmp_path / "datavow_probe_command.py"
    probe.write_text("import gc\nimport click\n\nCOLLECTING = gc.isenabled()\ncommand = click.Command('probe')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "datavow_probe_command", raising=False)
    frozen = gc.get_freeze_count()
    command = Lazy("datavow_probe_command:command", "").load()
    assert command.name == "probe"
    assert sys.modules["datavow_probe_command"].COLLECTING is False
    assert gc.isenabled()
    assert gc.get_freeze_count() > frozen
