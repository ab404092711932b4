"""Reading YAML while remembering where every key and value came from.

PyYAML's parser gives events with marks; :mod:`datavow.datamap.composer` turns them into plain
Python values, within bounds, and keeps a ``path -> Location`` index beside them, so that any
problem found later (by pydantic, by the resolver, by lint) can be reported at ``file:line:col``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from datavow.datamap.composer import Composer, Refused
from datavow.datamap.composer import PathKey as PathKey  # where the loader's modules take it from
from datavow.errors import Location, Problem

#: The code of the problem a file that is not there gives (a front end may offer a way to make one).
MISSING_FILE = "missing_file"
#: The largest file read as a map (or an included file, or a document to import), in bytes.
MAX_BYTES = 4 * 2**20
# A document libyaml refuses is parsed again by PyYAML up to this many characters (about a second).
_REPARSE_CHARS = 512 * 1024


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


def _loc(file: str, mark: yaml.Mark) -> Location:
    return Location(file, mark.line + 1, mark.column + 1)


def _events(text: str, loader: Any = None) -> Iterator[yaml.Event]:
    """The document's parser events, by libyaml where PyYAML was built with it (parsing a large map
    in Python took longer than importing the whole planner)."""
    return yaml.parse(text, Loader=loader or getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _syntax_problem(name: str, text: str, exc: yaml.YAMLError) -> Problem:
    """A parser's error as a problem at its line and column. A document libyaml refuses is parsed
    again by PyYAML, when small enough to be quick, so that the error reads as PyYAML words it."""
    if getattr(yaml, "CSafeLoader", None) is not None and len(text) <= _REPARSE_CHARS:
        try:
            for _ in _events(text, yaml.SafeLoader):
                pass
        except yaml.YAMLError as pure:
            exc = pure
    if isinstance(exc, yaml.reader.ReaderError):
        # A character YAML does not allow: the error counts characters, not lines.
        found = yaml.reader.Reader.NON_PRINTABLE.search(text)
        offset = found.start() if found else min(exc.position, len(text))
        line = text.count("\n", 0, offset) + 1
        column = offset - (text.rfind("\n", 0, offset) + 1) + 1
        code = ord(text[offset]) if offset < len(text) else 0
        return Problem(
            Location(name, line, column),
            f"YAML error: the character U+{code:04X} is not allowed in YAML",
            'remove it, or write it as an escape such as "\\u0007" inside double quotes',
        )
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or exc.context or "invalid YAML"
        if mark is not None:
            return Problem(_loc(name, mark), f"YAML syntax error: {what}", "fix the indentation or quoting here")
    return Problem(Location(name, 1, 1), f"YAML error: {exc}")


def _read_text(path: Path, name: str) -> str | Problem:
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_BYTES + 1)
    except FileNotFoundError:
        return Problem(None, f"{name}: no such file", "check the path", code=MISSING_FILE, fields=("map_path",))
    except OSError as exc:
        return Problem(None, f"{name}: cannot be read ({exc})", "check the file's permissions")
    if len(data) > MAX_BYTES:
        return Problem(
            Location(name, 1, 1),
            f"the file is larger than {MAX_BYTES // 2**20} MiB, more than a data map needs",
            "split the map into files listed under 'include:', or check that this is the right file",
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Problem(None, f"{name}: cannot be read ({exc})", "save the file as UTF-8")


def read_yaml(path: Path, display: str | None = None) -> tuple[Any, SourceIndex, list[Problem]]:
    """Parse one YAML file into plain values and a position index, within the bounds of
    :mod:`datavow.datamap.composer` and :data:`MAX_BYTES`.

    Syntax errors, values that cannot be read, duplicate keys and passed bounds come back as
    problems at their place, never as exceptions; the value is None when the file cannot be used.
    """
    name = display or str(path)
    index = SourceIndex()
    text = _read_text(path, name)
    if isinstance(text, Problem):
        return None, index, [text]
    composer = Composer(name)
    try:
        data = composer.compose(_events(text))
    except Refused as exc:
        return None, index, [exc.problem]
    except yaml.YAMLError as exc:
        return None, index, [_syntax_problem(name, text, exc)]
    index.values.update(composer.values)
    index.keys.update(composer.keys)
    if composer.invalid:
        return None, index, composer.problems
    if data is None:  # an empty document, or one that is only '~'
        index.values.setdefault((), Location(name, 1, 1))
        return {}, index, composer.problems
    return data, index, composer.problems
