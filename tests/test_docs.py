"""The docs are checked against the code: every data map key and every command is documented."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args, get_origin

import click
from pydantic import BaseModel

from datavow.cli import main
from datavow.datamap.model import DataMap
from datavow.datamap.validate import strip_annotation

DOCS = Path(__file__).resolve().parent.parent / "docs"


def model_keys(model: type[BaseModel], prefix: str = "") -> dict[str, set[str]]:
    """Every mapping in the map format, by its documented path, with the keys it accepts."""
    found: dict[str, set[str]] = {prefix or "(top level)": set()}
    for name, info in model.model_fields.items():
        key = info.alias or name
        found[prefix or "(top level)"].add(key)
        inner = strip_annotation(info.annotation)
        path = f"{prefix}.{key}" if prefix else key
        if get_origin(inner) is dict:
            inner, path = strip_annotation(get_args(inner)[1]), path + ".<name>"
        elif get_origin(inner) is list:
            inner = strip_annotation(get_args(inner)[0])
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            for sub, keys in model_keys(inner, path).items():
                found.setdefault(sub, set()).update(keys)
    return found


def documented_sections(text: str) -> dict[str, set[str]]:
    sections: dict[str, set[str]] = {}
    current: list[str] = []
    for line in text.splitlines():
        if line.startswith("#"):
            current = re.findall(r"`([^`]+)`", line)
            for path in current:
                sections.setdefault(path, set())
        elif line.startswith("| `") and current:
            key = re.match(r"\| `([^`]+)`", line)
            assert key is not None, line
            for path in current:
                sections[path].add(key.group(1))
    return sections


def test_every_data_map_key_is_documented_and_nothing_else() -> None:
    expected = model_keys(DataMap)
    documented = documented_sections((DOCS / "datamap.md").read_text())
    missing = {path: sorted(keys - documented.get(path, set())) for path, keys in expected.items()}
    missing = {path: keys for path, keys in missing.items() if keys}
    assert not missing, f"undocumented data map keys: {missing}"
    stale = {path: sorted(keys - expected.get(path, set())) for path, keys in documented.items()}
    stale = {path: keys for path, keys in stale.items() if keys}
    assert not stale, f"docs/datamap.md documents keys that do not exist: {stale}"


def commands(group: click.Group, prefix: str = "datavow") -> dict[str, click.Command]:
    found: dict[str, click.Command] = {}
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None, f"{prefix} {name} does not load"
        path = f"{prefix} {name}"
        found[path] = command
        if isinstance(command, click.Group):
            found.update(commands(command, path))
    return found


def test_every_command_and_option_is_documented() -> None:
    text = (DOCS / "commands.md").read_text()
    sections = re.split(r"^## ", text, flags=re.MULTILINE)
    by_heading = {re.findall(r"`([^`]+)`", s.splitlines()[0])[0]: s for s in sections[1:] if "`" in s.splitlines()[0]}
    for path, command in commands(main).items():
        assert path in by_heading, f"{path} has no '## `{path}`' section in docs/commands.md"
        for param in command.params:
            if isinstance(param, click.Option):
                longest = max(param.opts, key=len)
                assert longest in by_heading[path], f"{path}: option {longest} is not documented"
            elif isinstance(param, click.Argument):
                assert param.human_readable_name.upper() in by_heading[path], f"{path}: argument {param.name}"
    stale = set(by_heading) - set(commands(main))
    assert not stale, f"docs/commands.md documents commands that do not exist: {stale}"


def test_readme_gives_exactly_two_setup_commands_and_ci_runs_the_test_one() -> None:
    readme = (DOCS.parent / "README.md").read_text()
    block = re.search(r"```(?:sh|bash|console)\n(.*?)```", readme, flags=re.DOTALL)
    assert block, "the README must open with a shell block of set-up commands"
    lines = [line for line in block.group(1).splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert len(lines) == 2, lines
    assert "datavow demo" in lines[0] and "pytest" in lines[1]
    ci = (DOCS.parent / ".ci" / "run").read_text()
    assert lines[1].strip() in ci.splitlines(), ".ci/run must call the README's test command verbatim"


def test_every_lint_rule_is_documented_with_its_article() -> None:
    from datavow.lint import all_rules

    text = (DOCS / "lint.md").read_text()
    for r in all_rules():
        row = next((line for line in text.splitlines() if line.startswith(f"| `{r.id}` |")), None)
        assert row is not None, f"lint rule {r.id} is not in docs/lint.md"
        assert r.article in row and r.severity.value in row, f"docs/lint.md is stale for {r.id}"
