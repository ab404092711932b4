"""Reading YAML while remembering where every key and value came from.

PyYAML's composer gives nodes with marks; we turn them into plain Python values and keep a
``path -> Location`` index beside them, so that any problem found later (by pydantic, by the
resolver, by lint) can be reported at ``file:line:col``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from datavow.errors import Location, Problem

#: The code of the problem a file that is not there gives (a front end may offer a way to make one).
MISSING_FILE = "missing_file"

PathKey = tuple[str | int, ...]


@dataclass
class SourceIndex:
    """Where each part of a loaded document was written.

    ``values`` maps a path to the position of its value; ``keys`` maps a path to the position of
    the key that introduced it (the better place to point at for "unknown key" or "missing key").
    """

    values: dict[PathKey, Location] = field(default_factory=dict)
    keys: dict[PathKey, Location] = field(default_factory=dict)

    def locate(self, path: PathKey, *, key: bool = False) -> Location | None:
        """The position of ``path``, or of its nearest ancestor that has one."""
        table = self.keys if key else self.values
        probe = tuple(path)
        while probe:
            found = table.get(probe) or self.values.get(probe)
            if found is not None:
                return found
            probe = probe[:-1]
        return self.values.get(())

    def merge(self, other: SourceIndex, prefix: PathKey = ()) -> None:
        for path, loc in other.values.items():
            self.values.setdefault(prefix + path, loc)
        for path, loc in other.keys.items():
            self.keys.setdefault(prefix + path, loc)


class _DuplicateKey(Exception):
    def __init__(self, key: str, location: Location, first: Location) -> None:
        super().__init__(key)
        self.key, self.location, self.first = key, location, first


def _loc(file: str, mark: yaml.Mark) -> Location:
    return Location(file, mark.line + 1, mark.column + 1)


def _convert(node: yaml.Node, path: PathKey, file: str, index: SourceIndex, problems: list[Problem]) -> Any:
    index.values[path] = _loc(file, node.start_mark)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        seen: dict[Any, Location] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                problems.append(
                    Problem(
                        _loc(file, key_node.start_mark),
                        "YAML merge keys ('<<') are not supported",
                        "write the keys out in full",
                    )
                )
                continue
            key = yaml.constructor.SafeConstructor().construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                problems.append(Problem(_loc(file, key_node.start_mark), "a key must be plain text"))
                continue
            key_loc = _loc(file, key_node.start_mark)
            if key in seen:
                first = seen[key]
                problems.append(
                    Problem(
                        key_loc,
                        f"'{key}' is defined twice (first at line {first.line})",
                        "keep one of them; YAML would silently drop the first",
                    )
                )
                continue
            seen[key] = key_loc
            child = path + (str(key) if not isinstance(key, str) else key,)
            index.keys[child] = key_loc
            result[key] = _convert(value_node, child, file, index, problems)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, path + (i,), file, index, problems) for i, item in enumerate(node.value)]
    return yaml.constructor.SafeConstructor().construct_object(node)


def _compose(text: str) -> yaml.Node | None:
    """The document's node tree, by libyaml where PyYAML was built with it (parsing a large map in
    Python took longer than importing the whole planner); a document libyaml refuses is parsed
    again by PyYAML, so that an error reads as PyYAML words it."""
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        try:
            return yaml.compose(text, Loader=fast)
        except yaml.YAMLError:
            pass
    return yaml.compose(text, Loader=yaml.SafeLoader)


def read_yaml(path: Path, display: str | None = None) -> tuple[Any, SourceIndex, list[Problem]]:
    """Parse one YAML file into plain values and a position index.

    Syntax errors and duplicate keys come back as problems, never as exceptions.
    """
    name = display or str(path)
    index = SourceIndex()
    problems: list[Problem] = []
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return (
            None,
            index,
            [Problem(None, f"{name}: no such file", "check the path", code=MISSING_FILE, fields=("map_path",))],
        )
    except (OSError, UnicodeDecodeError) as exc:
        return (
            None,
            index,
            [Problem(None, f"{name}: cannot be read ({exc})", "check the file's permissions and encoding (UTF-8)")],
        )
    try:
        node = _compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = _loc(name, mark) if mark is not None else Location(name, 1, 1)
        what = exc.problem or exc.context or "invalid YAML"
        return None, index, [Problem(where, f"YAML syntax error: {what}", "fix the indentation or quoting here")]
    except yaml.YAMLError as exc:
        return None, index, [Problem(Location(name, 1, 1), f"YAML error: {exc}")]
    if node is None:
        index.values[()] = Location(name, 1, 1)
        return {}, index, problems
    try:
        data = _convert(node, (), name, index, problems)
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        where = _loc(name, mark) if mark is not None else Location(name, 1, 1)
        return None, index, [Problem(where, f"YAML value error: {exc.problem}")]
    return data, index, problems
