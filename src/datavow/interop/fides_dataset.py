"""Reading Fides dataset files into fideslang's ``Dataset`` models.

fideslang validates the shape (keys, categories, data types, reference directions); this module
adds what it leaves out and reports every problem at ``file:line:col``. fideslang ignores keys it
does not know; datavow refuses them, because a mistyped ``refrences:`` or ``data_categroies:``
would silently drop a link or make a personal field look harmless.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fideslang.models import Dataset, DatasetCollection, DatasetField
from pydantic import BaseModel, ValidationError

from datavow.datamap.source import PathKey, SourceIndex, read_yaml
from datavow.errors import ImportError_, Location, Problem

# Keys of fideslang 1.x datasets that later versions dropped: accepted and reported as ignored,
# so that older Fides files still import.
LEGACY_KEYS = frozenset(
    {"data_qualifier", "retention", "joint_controller", "third_country_transfers", "fidesctl_meta", "after"}
)


@dataclass
class DatasetFile:
    """The datasets of one file, with where each part of them was written."""

    path: Path
    datasets: list[Dataset]
    raw: list[Any]  # the entries under ``dataset:``, in file order
    index: SourceIndex
    ignored: list[str] = field(default_factory=list)  # "file:line: what", for the review notes

    def where(
        self, dataset: str, collection: str | None = None, field_path: Sequence[str] = (), *rest: str | int
    ) -> Location | None:
        """The position of a dataset, a collection, a (nested) field, or a key inside one."""
        position = self._position_of(dataset)
        if position is None:
            return None
        path: PathKey = ("dataset", position)
        node: Any = self.raw[position]
        steps = ([("collections", collection)] if collection is not None else []) + [("fields", n) for n in field_path]
        for key, name in steps:
            items = node.get(key) if isinstance(node, dict) else None
            found = _position(items, name)
            if found is None:
                break
            path += (key, found)
            node = items[found]  # type: ignore[index]
        return self.index.locate(path + rest)

    def file_order(self, dataset: Dataset) -> list[tuple[DatasetCollection, list[DatasetField]]]:
        """The collections and their fields in the order the file gives them (fideslang sorts
        them by name; a composite primary key and a reviewer both want the file's order)."""
        position = self._position_of(dataset.fides_key)
        raw_collections: Any = self.raw[position].get("collections") if position is not None else None

        def rank(items: Any, name: str) -> int:
            found = _position(items, name)
            return found if found is not None else len(items) if isinstance(items, list) else 0

        collections = sorted(dataset.collections, key=lambda c: rank(raw_collections, c.name))
        result = []
        for collection in collections:
            found = _position(raw_collections, collection.name)
            raw_fields = raw_collections[found].get("fields") if found is not None else None
            result.append((collection, sorted(collection.fields, key=lambda f: rank(raw_fields, f.name))))
        return result

    def _position_of(self, dataset: str) -> int | None:
        # the entry as written; a key written as a number (12) is read by fideslang as text ('12')
        keys = (str(entry.get("fides_key")) if isinstance(entry, dict) else None for entry in self.raw)
        return next((i for i, key in enumerate(keys) if key == dataset), None)


def _position(items: Any, name: str) -> int | None:
    if not isinstance(items, list):
        return None
    return next((i for i, item in enumerate(items) if isinstance(item, dict) and str(item.get("name")) == name), None)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside ``Optional[List[Model]]`` and the like, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, list, typing.Annotated):
        for argument in typing.get_args(annotation):
            found = _model_in(argument)
            if found is not None:
                return found
    return None


def _unknown_keys(model: type[BaseModel], raw: Any, path: PathKey) -> Iterator[PathKey]:
    if not isinstance(raw, dict):
        return
    known = dict(model.model_fields)
    if "fides_meta" in known:
        known["fidesops_meta"] = known["fides_meta"]  # the older name, which fideslang still reads
    for key, value in raw.items():
        if key not in known:
            yield path + (key,)
            continue
        sub = _model_in(known[key].annotation)
        if sub is None:
            continue
        if isinstance(value, list):
            for i, item in enumerate(value):
                yield from _unknown_keys(sub, item, path + (key, i))
        else:
            yield from _unknown_keys(sub, value, path + (key,))


def _label(raw: Any, loc: Sequence[str | int]) -> str:
    """``('collections', 2, 'fields', 0, 'fides_meta', 'identity')`` -> ``orders.email: fides_meta.identity``."""
    names = [str(raw.get("fides_key", "?")) if isinstance(raw, dict) else "?"]
    rest: list[str] = []
    node: Any = raw
    steps = list(loc)
    while steps:
        key = steps.pop(0)
        if key in ("collections", "fields") and steps and isinstance(steps[0], int) and not rest:
            position = int(steps.pop(0))
            items = node.get(key) if isinstance(node, dict) else None
            node = items[position] if isinstance(items, list) and position < len(items) else None
            names.append(str(node.get("name", f"#{position + 1}")) if isinstance(node, dict) else f"#{position + 1}")
            continue
        rest.append(f"[{key}]" if isinstance(key, int) else ("." if rest else "") + str(key))
    return ".".join(names) + (": " + "".join(rest) if rest else "")


def _validate(
    position: int, entry: Any, index: SourceIndex, problems: list[Problem], ignored: list[str]
) -> Dataset | None:
    base: PathKey = ("dataset", position)
    if not isinstance(entry, dict):
        problems.append(Problem(index.locate(base), "a dataset must be a mapping with 'fides_key' and 'collections'"))
        return None
    for path in _unknown_keys(Dataset, entry, base):
        where = index.locate(path, key=True)
        if path[-1] in LEGACY_KEYS:
            ignored.append(f"{where}: {path[-1]}")
            continue
        problems.append(
            Problem(
                where,
                f"{_label(entry, path[2:-1])}: unknown key '{path[-1]}'",
                "fix its spelling, or remove it (fideslang would ignore it silently)",
            )
        )
    try:
        return Dataset.model_validate(entry)
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(part for part in error["loc"] if isinstance(part, (str, int)))
            message = error["msg"].removeprefix("Value error, ")
            problems.append(
                Problem(
                    index.locate(base + loc),
                    f"{_label(entry, loc)}: {message}",
                    "see https://ethyca.github.io/fideslang/resources/dataset/",
                )
            )
        return None


def _read_file(path: Path, problems: list[Problem]) -> DatasetFile | None:
    name = str(path)
    if not path.is_file():
        problems.append(Problem(None, f"{name}: no such file", "give the path of a Fides dataset YAML file"))
        return None
    raw, index, found = read_yaml(path, name)
    problems.extend(found)
    if raw is None or found:
        return None
    if not isinstance(raw, dict) or "dataset" not in raw:
        problems.append(
            Problem(
                index.locate(()),
                f"{name} holds no Fides datasets",
                "a Fides dataset file starts with 'dataset:' and a list of datasets",
            )
        )
        return None
    entries = raw["dataset"]
    if not isinstance(entries, list) or not entries:
        problems.append(Problem(index.locate(("dataset",)), "'dataset:' must be a list of one or more datasets"))
        return None
    ignored = [f"{index.locate((key,), key=True)}: the Fides '{key}' resources" for key in raw if key != "dataset"]
    datasets = [_validate(i, entry, index, problems, ignored) for i, entry in enumerate(entries)]
    return DatasetFile(
        path=path, datasets=[d for d in datasets if d is not None], raw=entries, index=index, ignored=ignored
    )


def fail(problems: list[Problem], what: str) -> ImportError_:
    """One error carrying every problem, in file order, like :class:`~datavow.errors.MapError`."""

    def order(problem: Problem) -> tuple[str, int, int]:
        loc = problem.location
        return (loc.file, loc.line, loc.column) if loc else ("", 0, 0)

    ordered = sorted(problems, key=order)
    count = len(ordered)
    head = f"cannot import {what}: {count} problem{'s' if count != 1 else ''}:\n"
    return ImportError_(head + "\n".join(f"  {p}" for p in ordered), problems=ordered)


def read_dataset_files(paths: Sequence[Path], problems: list[Problem]) -> list[DatasetFile]:
    """Parse and validate each file: the datasets that validated, and every problem found
    added to ``problems`` (so that converting the valid ones can add its own)."""
    files = [_read_file(path, problems) for path in paths]
    keys: dict[str, Location | None] = {}
    for dataset_file in files:
        for dataset in dataset_file.datasets if dataset_file else []:
            where = dataset_file.where(dataset.fides_key, None, (), "fides_key") if dataset_file else None
            if dataset.fides_key in keys:
                problems.append(
                    Problem(
                        where,
                        f"the dataset '{dataset.fides_key}' is given twice"
                        + (f" (first at {keys[dataset.fides_key]})" if keys[dataset.fides_key] else ""),
                        "import each dataset once",
                    )
                )
            keys.setdefault(dataset.fides_key, where)
    return [f for f in files if f is not None]
