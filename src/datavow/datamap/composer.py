"""Turning YAML parser events into plain values and their positions, within bounds.

PyYAML's own composer and constructor recurse once per level of nesting, expand every alias again
where it is used and let a value that does not parse escape as a ``ValueError``: a hostile or
sloppy map could crash the loader or run it out of time and memory. This composer walks the event
stream with an explicit stack, so that no document reaches Python's recursion limit; counts what
aliases expand to, refusing a document whose aliases would make more than :data:`MAX_ALIAS_VALUES`
values (a "billion laughs" is refused after a handful of events); refuses nesting deeper than
:data:`MAX_DEPTH` and documents of more than :data:`MAX_VALUES` values; and reads each scalar by
the tags of YAML's core schema only, turning a value that cannot be read (``2026-02-30``,
``!!int abc``, a number of thousands of digits) into a problem
at its place. The caller bounds the document's size before parsing.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from datavow.errors import Location, Problem, shown

#: The deepest nesting of mappings and lists a document may have (a data map needs about ten).
MAX_DEPTH = 64
#: How many values the aliases (``*name``) of one document may add in all.
MAX_ALIAS_VALUES = 10_000
#: How many values (mappings, lists and scalars, with what aliases repeat) one document may hold: a
#: large real map holds a few thousand, about one every 25 characters.
MAX_VALUES = 25_000
#: The longest number written in a map, in characters; longer ones are refused before being read.
MAX_NUMBER_LENGTH = 100
#: Whole numbers must fit in 64 bits, as every database column and counter datavow uses.
INT_RANGE = (-(2**63), 2**63 - 1)

PathKey = tuple[str | int, ...]

_TAG = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL, _TIME = (_TAG + name for name in ("str", "int", "float", "bool", "null", "timestamp"))
_MAP, _SEQ, _MERGE, _VALUE = _TAG + "map", _TAG + "seq", _TAG + "merge", _TAG + "value"
# What each scalar tag a map may use is read as, in words for a message.
_SCALAR_WORDS = {
    _STR: "text",
    _INT: "a whole number",
    _FLOAT: "a number",
    _BOOL: "true or false",
    _NULL: "an empty value",
    _TIME: "a date",
}
_NUMBER_TAGS = (_INT, _FLOAT)

# A scalar's tag, from its text and whether it was written plain or quoted (PyYAML's resolver).
_resolve: Callable[[type[yaml.Node], str, Any], str] = Resolver().resolve
_constructor = SafeConstructor()


class Refused(Exception):
    """A document the composer stops reading at once: it passes a bound, or an alias cannot be
    followed. Carries the one problem to report."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


@dataclass
class _Anchor:
    """A finished anchored value: what an alias to it copies."""

    value: Any
    location: Location
    path: PathKey | None  # None: it was not placed in the document (a key, a value left out)
    values: list[tuple[PathKey, Location]]  # the index entries under it, by absolute path
    keys: list[tuple[PathKey, Location]]
    size: int  # how many values it holds, itself included
    height: int  # how many levels of nesting it holds (0 for a scalar)


@dataclass
class _Frame:
    """A mapping or list being built."""

    container: dict[Any, Any] | list[Any]
    path: PathKey | None
    location: Location
    anchor: str | None
    values_from: int
    keys_from: int
    size: int = 1
    height: int = 1
    # A mapping alternates keys and values: whether the next node is a key, and the key it belongs to.
    expects_key: bool = True
    key: Any = None
    keep: bool = False  # whether the value being read goes into the mapping
    seen: dict[Any, Location] = field(default_factory=dict)  # a mapping's keys so far, with where

    def child_path(self) -> PathKey | None:
        """The path of the node that comes next, or None when it is not placed in the document."""
        if self.path is None:
            return None
        if isinstance(self.container, list):
            return self.path + (len(self.container),)
        if self.expects_key or not self.keep:
            return None
        return self.path + (self.key if isinstance(self.key, str) else str(self.key),)


class Composer:
    """Builds one document's plain values from parser events; see the module's docstring.

    ``problems`` collects what is wrong but does not stop reading (a duplicate key); ``invalid``
    is set when a value could not be read, so that the document is not used. ``values`` and
    ``keys`` are where each value and each key was written, by path, in document order.
    """

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self.invalid = False
        self.values: list[tuple[PathKey, Location]] = []
        self.keys: list[tuple[PathKey, Location]] = []
        self._anchors: dict[str, _Anchor] = {}
        self._open_anchors: set[str] = set()
        self._stack: list[_Frame] = []
        self._aliased = 0  # values the aliases so far have repeated
        self._count = 0  # values so far, with the aliases' repeats
        self._documents = 0
        self._root: Any = None

    def compose(self, events: Iterable[yaml.Event]) -> Any:
        """The document's value (None for an empty document). Raises :class:`Refused`, and lets the
        parser's ``yaml.YAMLError`` through."""
        for event in events:
            if isinstance(event, yaml.DocumentStartEvent):
                self._documents += 1
                if self._documents > 1:
                    raise Refused(
                        Problem(
                            self._at(event.start_mark),
                            "YAML syntax error: expected a single document in the stream, but found another document",
                            "remove the second '---' and what follows, or move it to a file of its own",
                        )
                    )
            elif isinstance(event, yaml.ScalarEvent):
                self._scalar(event)
            elif isinstance(event, yaml.AliasEvent):
                self._alias(event)
            elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                self._start(event)
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                self._end()
        return self._root

    # -- events

    def _scalar(self, event: yaml.ScalarEvent) -> None:
        where = self._at(event.start_mark)
        self._counted(1, where)
        value = self._read_scalar(event, where)
        path, values_from = self._next_path(), len(self.values)
        if path is not None:
            self._record(path, where)
        if event.anchor is not None:
            self._check_anchor(event.anchor, where)
        self._remember(event.anchor, value, where, path, values_from, len(self.keys), 1, 0)
        self._place(value, where, 1, 0)

    def _alias(self, event: yaml.AliasEvent) -> None:
        where = self._at(event.start_mark)
        name = event.anchor or ""
        if name in self._open_anchors:
            raise Refused(
                Problem(where, f"the alias *{name} is inside the value it names", "a value cannot contain itself")
            )
        anchor = self._anchors.get(name)
        if anchor is None:
            raise Refused(
                Problem(where, f"the alias *{name} names no anchor before it", f"write '&{name}' on an earlier value")
            )
        self._aliased += anchor.size
        self._counted(anchor.size, where)
        if self._aliased > MAX_ALIAS_VALUES:
            raise Refused(
                Problem(
                    where,
                    f"the aliases up to here repeat more than {MAX_ALIAS_VALUES:,} values",
                    "write the repeated parts out, or repeat fewer of them; see docs/datamap.md",
                )
            )
        self._check_depth(len(self._stack) + anchor.height, where)
        path = self._next_path()
        if path is not None:
            self._copy_index(anchor, path)
        value = anchor.value if anchor.height == 0 else copy.deepcopy(anchor.value)
        self._place(value, where, anchor.size, anchor.height)

    def _start(self, event: yaml.MappingStartEvent | yaml.SequenceStartEvent) -> None:
        where = self._at(event.start_mark)
        mapping = isinstance(event, yaml.MappingStartEvent)
        if event.tag not in (None, "!", _MAP if mapping else _SEQ):
            self._refuse_tag(event.tag or "", where)
        self._check_depth(len(self._stack) + 1, where)
        self._counted(1, where)
        path = self._next_path()
        frame = _Frame({} if mapping else [], path, where, event.anchor, len(self.values), len(self.keys))
        if path is not None:
            self._record(path, where)
        if event.anchor is not None:
            self._check_anchor(event.anchor, where)
            self._open_anchors.add(event.anchor)
        self._stack.append(frame)

    def _end(self) -> None:
        frame = self._stack.pop()
        if frame.anchor is not None:
            self._open_anchors.discard(frame.anchor)
        self._remember(
            frame.anchor, frame.container, frame.location, frame.path, frame.values_from, frame.keys_from,
            frame.size, frame.height,
        )  # fmt: skip
        self._place(frame.container, frame.location, frame.size, frame.height)

    # -- building

    def _next_path(self) -> PathKey | None:
        if not self._stack:
            return ()
        return self._stack[-1].child_path()

    def _place(self, value: Any, where: Location, size: int, height: int) -> None:
        """Put a finished node where it belongs: the root, a list's next item, a mapping's key or value."""
        if not self._stack:
            self._root = value
            return
        frame = self._stack[-1]
        frame.size += size
        frame.height = max(frame.height, height + 1)
        if isinstance(frame.container, list):
            frame.container.append(value)
        elif frame.expects_key:
            frame.key = value
            frame.keep = self._accept_key(frame, value, where)
            frame.expects_key = False
            if frame.keep and frame.path is not None:
                self._record(frame.path + (value if isinstance(value, str) else str(value),), where, key=True)
        else:
            if frame.keep:
                frame.container[frame.key] = value
            frame.expects_key = True

    def _accept_key(self, frame: _Frame, key: Any, where: Location) -> bool:
        if key is _MERGE_KEY:
            self.problems.append(
                Problem(where, "YAML merge keys ('<<') are not supported", "write the keys out in full")
            )
            return False
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            self.problems.append(Problem(where, "a key must be plain text"))
            return False
        if key in frame.seen:
            self.problems.append(
                Problem(
                    where,
                    f"{shown(key)} is defined twice (first at line {frame.seen[key].line})",
                    "keep one of them; YAML would silently drop the first",
                )
            )
            return False
        frame.seen[key] = where
        return True

    def _record(self, path: PathKey, where: Location, *, key: bool = False) -> None:
        (self.keys if key else self.values).append((path, where))

    def _remember(
        self,
        name: str | None,
        value: Any,
        where: Location,
        path: PathKey | None,
        values_from: int,
        keys_from: int,
        size: int,
        height: int,
    ) -> None:
        if name is None:
            return
        self._anchors[name] = _Anchor(
            value, where, path, self.values[values_from:], self.keys[keys_from:], size, height
        )

    def _copy_index(self, anchor: _Anchor, path: PathKey) -> None:
        """Index an alias at ``path`` as PyYAML's composer does: at the places the anchored value was written."""
        if anchor.path is None:
            self._record(path, anchor.location)
            return
        cut = len(anchor.path)
        self.values.extend((path + sub[cut:], where) for sub, where in anchor.values)
        self.keys.extend((path + sub[cut:], where) for sub, where in anchor.keys)

    # -- checks

    def _check_anchor(self, name: str, where: Location) -> None:
        if name in self._anchors or name in self._open_anchors:
            first = self._anchors[name].location if name in self._anchors else None
            raise Refused(
                Problem(
                    where,
                    f"the anchor &{name} is defined twice" + (f" (first at line {first.line})" if first else ""),
                    "give each anchor its own name",
                )
            )

    def _counted(self, values: int, where: Location) -> None:
        self._count += values
        if self._count > MAX_VALUES:
            raise Refused(
                Problem(
                    where,
                    f"the document holds more than {MAX_VALUES:,} values by here",
                    "split the map into files listed under 'include:', or check that this is the right file",
                )
            )

    def _check_depth(self, depth: int, where: Location) -> None:
        if depth > MAX_DEPTH:
            raise Refused(
                Problem(
                    where,
                    f"the document nests deeper than {MAX_DEPTH} levels here",
                    "a data map needs about ten; look for an unclosed '[' or '{', or repeated aliases",
                )
            )

    def _refuse_tag(self, tag: str, where: Location) -> None:
        raise Refused(
            Problem(
                where,
                f"the YAML tag {shown(tag.replace(_TAG, '!!'), 40)} is not supported in a data map",
                "remove the tag: a map holds text, numbers, true or false, dates, lists and mappings",
            )
        )

    # -- scalars

    def _read_scalar(self, event: yaml.ScalarEvent, where: Location) -> Any:
        implied = _resolve(yaml.ScalarNode, event.value, event.implicit)
        tag = implied if event.tag in (None, "!") else event.tag
        if tag == _MERGE and not event.tag:
            return _MERGE_KEY if self._stack and self._stack[-1].expects_key else event.value
        if tag == _VALUE and not event.tag:
            return event.value  # '=' is text in a data map
        if tag not in _SCALAR_WORDS:
            self._refuse_tag(tag or "", where)
        if tag == _STR:
            return event.value
        plain = tag if tag == implied else _resolve(yaml.ScalarNode, event.value, (True, False))
        if tag != plain and not (tag == _FLOAT and plain == _INT):
            fix = "remove the tag, or fix the value"
            return self._bad_scalar(where, event.value, f"is not {_SCALAR_WORDS[tag]}", fix)
        if tag in _NUMBER_TAGS and len(event.value) > MAX_NUMBER_LENGTH:
            return self._bad_scalar(where, event.value, "is a number too long to be read", "quote it if it is text")
        node = yaml.ScalarNode(tag, event.value, style=event.style)
        construct: Callable[[SafeConstructor, yaml.ScalarNode], Any] = SafeConstructor.yaml_constructors[tag]
        try:
            value = construct(_constructor, node)
        except (ValueError, OverflowError) as exc:  # a date that does not exist, a time zone beyond a day
            fix = "write a date that exists, as YYYY-MM-DD," if tag == _TIME else "fix the value,"
            what = f"is not {_SCALAR_WORDS[tag]}: {exc}"
            return self._bad_scalar(where, event.value, what, f"{fix} or quote it if it is text")
        if type(value) is int and not INT_RANGE[0] <= value <= INT_RANGE[1]:
            fix = "write a smaller number, or quote it if it is text"
            return self._bad_scalar(where, event.value, "is a number that does not fit in 64 bits", fix)
        return value

    def _bad_scalar(self, where: Location, written: str, what: str, hint: str) -> None:
        self.problems.append(Problem(where, f"{shown(written, 40)} {what}", hint))
        self.invalid = True

    def _at(self, mark: Any) -> Location:
        # libyaml's marks are a class of their own; every event has one
        return Location(self.file, mark.line + 1, mark.column + 1) if mark is not None else Location(self.file, 1, 1)


class _MergeKey:
    """The ``<<`` key, which a map refuses (it would merge mappings behind the reader's back)."""


_MERGE_KEY = _MergeKey()
