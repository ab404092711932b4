"""Shape validation that finds every problem in one run.

Validating the whole document with one pydantic call would stop the cross-reference checks at
the first malformed table. Instead each entity (a recipient, a purpose, a system, a table) is
validated on its own: a broken table is reported and left out, and the rest of the map is still
resolved and checked.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from datavow.datamap import model as m
from datavow.datamap.source import PathKey, SourceIndex
from datavow.errors import Problem

# Which dict-of-entity fields are validated entry by entry, and the type of an entry.
_SPLIT: dict[type[BaseModel], dict[str, Any]] = {
    m.DataMap: {
        "recipients": m.Recipient,
        "subjects": m.SubjectEntry,
        "purposes": m.Purpose,
        "measures": m.Measure,
        "systems": m.System,
        "identities": m.IdentityType,
    },
    m.System: {"tables": m.Table},
}


_TYPE_WORDS = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "float_type": "a number",
    "list_type": "a list",
    "dict_type": "a mapping of keys to values",
    "model_type": "a mapping of keys to values",
    "model_attributes_type": "a mapping of keys to values",
}


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return f"'{str(value).lower()}'"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"'{value}'"


class Validator:
    """Validates raw map data piece by piece, collecting problems with their positions."""

    def __init__(self, index: SourceIndex) -> None:
        self.index = index
        self.problems: list[Problem] = []
        self._adapters: dict[Any, TypeAdapter[Any]] = {}

    # -- entry points

    def validate_map(self, raw: Any) -> m.DataMap | None:
        result = self._validate(m.DataMap, raw, ())
        return result if isinstance(result, m.DataMap) else None

    # -- recursion

    def _adapter(self, kind: Any) -> TypeAdapter[Any]:
        if kind not in self._adapters:
            self._adapters[kind] = TypeAdapter(kind)
        return self._adapters[kind]

    def _validate(self, kind: Any, raw: Any, path: PathKey) -> Any:
        split = _SPLIT.get(kind) if isinstance(kind, type) else None
        if split is None or not isinstance(raw, dict):
            return self._validate_whole(kind, raw, path)
        shallow = {k: v for k, v in raw.items() if k not in split}
        entries: dict[str, dict[str, Any]] = {}
        whole_ok = True
        for field, entry_kind in split.items():
            if field not in raw:
                continue
            container = raw[field]
            if container is None:
                container = {}
            if not isinstance(container, dict):
                self._report(
                    path + (field,),
                    "expected a mapping of names to entries, got " + _describe(container),
                    f"write each entry as 'name: ...' under '{field}:'",
                )
                whole_ok = False
                continue
            good: dict[str, Any] = {}
            for name, value in container.items():
                entry_path = path + (field, name)
                if not isinstance(name, str) or not m.NAME_PATTERN.match(name):
                    self._report(
                        entry_path,
                        f"'{name}' is not a valid name",
                        "use letters, digits, '_' and '-', starting with a letter",
                        key=True,
                    )
                    continue
                validated = self._validate(entry_kind, value, entry_path)
                if validated is not None:
                    good[name] = validated
            entries[field] = good
        base = self._validate_whole(kind, shallow, path)
        if base is None or not whole_ok:
            # Keep resolving what did validate: the problems already reported make the load
            # fail, and the partial object only serves to find further problems in one run.
            partial = kind.model_construct(**entries)
            return partial if path == () else None
        return base.model_copy(update=entries)

    def _validate_whole(self, kind: Any, raw: Any, path: PathKey) -> Any:
        try:
            return self._adapter(kind).validate_python(raw)
        except ValidationError as exc:
            model = kind if isinstance(kind, type) and issubclass(kind, BaseModel) else _model_of(kind)
            for error in exc.errors(include_url=False):
                self._translate(error, path, model)
            return None

    # -- messages

    def _report(self, path: PathKey, message: str, hint: str = "", *, key: bool = False) -> None:
        self.problems.append(Problem(self.index.locate(path, key=key), message, hint))

    def _translate(self, error: ErrorDetails, base: PathKey, model: type[BaseModel] | None) -> None:
        loc = tuple(part for part in error["loc"] if not _is_internal(part))
        path = base + loc
        kind = error["type"]
        where = ".".join(str(p) for p in path) or "the map"
        given = error.get("input")
        if kind == "extra_forbidden":
            allowed = _allowed_keys(model, loc[:-1])
            key = str(loc[-1]) if loc else "?"
            guess = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            hint = f"did you mean '{guess[0]}'?" if guess else ""
            if allowed:
                hint = (hint + " " if hint else "") + "allowed here: " + ", ".join(allowed)
            self._report(path, f"unknown key '{key}'", hint, key=True)
        elif kind == "missing":
            key = str(loc[-1]) if loc else "?"
            parent = path[:-1]
            self._report(
                parent,
                f"'{'.'.join(str(p) for p in parent) or 'the map'}' is missing the required key '{key}'",
                f"add '{key}: ...' here",
                key=True,
            )
        elif kind in ("enum", "literal_error"):
            expected = str(error.get("ctx", {}).get("expected", ""))
            options = re.findall(r"'([^']*)'", expected)
            guess = difflib.get_close_matches(str(given), options, n=1, cutoff=0.5) if options else []
            hint = (f"did you mean '{guess[0]}'? " if guess else "") + (
                "use one of: " + ", ".join(options) if options else ""
            )
            self._report(path, f"{where}: {_describe(given)} is not allowed", hint.strip())
        elif kind in _TYPE_WORDS:
            self._report(
                path,
                f"{where}: expected {_TYPE_WORDS[kind]}, got {_describe(given)}",
                "see docs/datamap.md for this key's form",
            )
        else:
            message, _, hint = str(error["msg"]).removeprefix("Value error, ").partition(" — ")
            self._report(path, f"{where}: {message}", hint)


def _is_internal(part: Any) -> bool:
    # pydantic adds function names for Annotated validators and union member names to locs
    return isinstance(part, str) and ("[" in part or part.startswith("function-"))


def strip_annotation(annotation: Any) -> Any:
    """Strip ``Annotated`` and ``Optional`` (preferring a model member of a union), keeping list
    and dict visible."""
    while True:
        origin = get_origin(annotation)
        if origin is typing.Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in get_args(annotation) if a is not type(None)]
            models = [a for a in members if _model_of(a) is not None]
            annotation = models[0] if models else members[0]
        else:
            return annotation


def _model_of(kind: Any) -> type[BaseModel] | None:
    """The model inside ``kind``, looking through Optional, Annotated, list and dict."""
    while True:
        kind = strip_annotation(kind)
        origin = get_origin(kind)
        if origin in (list, tuple):
            kind = get_args(kind)[0]
        elif origin is dict:
            kind = get_args(kind)[1]
        else:
            return kind if isinstance(kind, type) and issubclass(kind, BaseModel) else None


def _allowed_keys(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> list[str]:
    """The keys a mapping accepts at ``loc`` inside ``model`` (by their YAML names)."""
    current: Any = model
    for part in loc:
        current = strip_annotation(current)
        origin = get_origin(current)
        if origin is dict:
            current = get_args(current)[1]
        elif origin in (list, tuple):
            current = get_args(current)[0]
        elif isinstance(current, type) and issubclass(current, BaseModel):
            fields = {info.alias or name: info for name, info in current.model_fields.items()}
            if part not in fields:
                return []
            current = fields[part].annotation
        else:
            return []
    current = strip_annotation(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [info.alias or name for name, info in current.model_fields.items()]
    return []
