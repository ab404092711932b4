"""Loading ``datavow.yaml`` (and the files it includes) into a :class:`LoadedMap`."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from datavow.datamap.model import DataMap, Reference, System, Table, split_target
from datavow.datamap.resolve import resolve
from datavow.datamap.source import PathKey, SourceIndex, read_yaml
from datavow.datamap.validate import Validator
from datavow.errors import Location, MapError, Problem
from datavow.taxonomy import Taxonomy, default_taxonomy

# Sections an included file may add entries to; everything else belongs to the main file.
_MERGEABLE = ("identities", "recipients", "subjects", "purposes", "measures", "systems")

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass(frozen=True)
class TableRef:
    """One table of one system, with the names the map gives them."""

    system_name: str
    table_name: str
    system: System
    table: Table

    @property
    def schema(self) -> str | None:
        return self.table.schema_ or self.system.schema_

    @property
    def path(self) -> PathKey:
        return ("systems", self.system_name, "tables", self.table_name)

    @property
    def label(self) -> str:
        return f"{self.system_name}.{self.table_name}"

    def target(self, reference: Reference) -> tuple[str, str]:
        """(system, table) a reference of this table points at."""
        return split_target(self.system_name, reference.to)


T = TypeVar("T")


@dataclass(frozen=True)
class LoadedMap:
    """A valid data map, where each of its parts was written, and the taxonomy it uses."""

    model: DataMap
    path: Path
    index: SourceIndex
    taxonomy: Taxonomy
    # What was worked out from the map alone (plans, disclosures), kept for the map's life: a map
    # never changes once loaded, and a service answers many requests with one.
    _derived: dict[Hashable, Any] = field(default_factory=dict, init=False, compare=False, repr=False)

    def derived(self, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()``, worked out once per map and ``key``; ``key`` must name every input
        besides the map. An error is raised each time, never kept."""
        if key not in self._derived:
            self._derived[key] = compute()
        result: T = self._derived[key]
        return result

    @property
    def directory(self) -> Path:
        return self.path.parent

    def fingerprint(self) -> str:
        """SHA-256 over the map file and the files it includes, as they are on disk now: what
        an audit entry records to say which version of the map an action used."""
        digest = hashlib.sha256()
        for file in [self.path, *(self.directory / entry for entry in self.model.include)]:
            digest.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
        return digest.hexdigest()

    def locate(self, *path: str | int) -> Location | None:
        return self.index.locate(tuple(path))

    def tables(self) -> Iterator[TableRef]:
        for system_name, system in self.model.systems.items():
            for table_name, table in system.tables.items():
                yield TableRef(system_name, table_name, system, table)

    def references_to(
        self, target: tuple[str, str], *, same_system: bool = False
    ) -> Iterator[tuple[TableRef, str, Reference]]:
        """Every declared reference that points at ``target`` (system, table), with the table that
        holds it and its name; with ``same_system``, only those of tables in ``target``'s system
        (a database's own foreign keys)."""
        for ref in self.tables():
            if same_system and ref.system_name != target[0]:
                continue
            for name, reference in ref.table.references.items():
                if ref.target(reference) == target:
                    yield ref, name, reference

    def table(self, system_name: str, table_name: str) -> TableRef:
        system = self.model.systems[system_name]
        return TableRef(system_name, table_name, system, system.tables[table_name])

    def system_url(self, system_name: str) -> str:
        """The system's connection URL: ``${VAR}`` filled from the environment, and a relative
        SQLite path taken relative to the map's folder.

        Raises :class:`MapError` naming the line when a variable is not set.
        """
        raw = self.model.systems[system_name].url
        where = self.locate("systems", system_name, "url")
        return resolve_url(raw, self.directory, where)


def interpolate(text: str, where: Location | None) -> str:
    """Replace ``${VAR}`` (or ``${VAR:-default}``) with the environment's value."""

    def fill(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        value = os.environ.get(name)
        if value is None:
            if default is not None:
                return default
            raise MapError(
                [
                    Problem(
                        where,
                        f"the environment variable {name} is not set",
                        f"export {name}=... before running datavow, or write ${{{name}:-default}}",
                    )
                ]
            )
        return value

    return _ENV.sub(fill, text)


def resolve_url(raw: str, base: Path, where: Location | None) -> str:
    """A system's database URL with ``${VAR}`` filled in and a relative SQLite path made relative to
    the map's folder (``base``); a URL that does not parse is a map problem at ``where``."""
    url_text = interpolate(raw, where)
    try:
        url = make_url(url_text)
    except (ArgumentError, ValueError) as exc:  # ValueError: e.g. a port that is not a number
        raise MapError(
            [
                Problem(
                    where,
                    f"'{_redact(url_text)}' is not a database URL",
                    "write a SQLAlchemy URL such as 'sqlite:///shop.db' or 'postgresql+psycopg://user@host/db'",
                )
            ]
        ) from exc
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        path = Path(url.database)
        if not path.is_absolute():
            url = url.set(database=str((base / path).resolve()))
        return url.render_as_string(hide_password=False)
    return url_text


def _redact(url_text: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url_text)


def load_map(path: str | Path) -> LoadedMap:
    """Load, validate and resolve a data map. Raises :class:`MapError` with every problem."""
    main = Path(path)
    raw, index, problems = read_yaml(main, str(main))
    if raw is None:
        raise MapError(problems)
    if not isinstance(raw, dict):
        raise MapError(
            problems
            + [
                Problem(
                    index.locate(()),
                    "the data map must be a mapping of sections",
                    "start with 'organization:' — see docs/datamap.md",
                )
            ]
        )
    raw = _include(raw, main, index, problems)
    validator = Validator(index)
    data_map = validator.validate_map(raw)
    problems.extend(validator.problems)
    taxonomy = default_taxonomy()
    if data_map is not None:
        taxonomy, found = resolve(data_map, raw, index, taxonomy)
        problems.extend(found)
    if problems or data_map is None:
        raise MapError(problems)
    return LoadedMap(model=data_map, path=main.resolve(), index=index, taxonomy=taxonomy)


def _include(raw: dict[str, Any], main: Path, index: SourceIndex, problems: list[Problem]) -> dict[str, Any]:
    """Merge the sections of each file listed under ``include:`` into the main document."""
    includes = raw.get("include") or []
    if not isinstance(includes, list):
        return raw  # the validator reports the wrong type
    merged = dict(raw)
    for position, entry in enumerate(includes):
        where = index.locate(("include", position))
        if not isinstance(entry, str):
            continue
        target = main.parent / entry
        if target.exists() and not target.is_file():  # a folder, a device, a pipe that would never end
            problems.append(Problem(where, f"{entry} is not a file", "list the map's YAML files under 'include:'"))
            continue
        part, part_index, part_problems = read_yaml(target, str(target))
        if part_problems and part is None:
            problems.extend(Problem(p.location or where, p.message, p.hint) for p in part_problems)
            continue
        problems.extend(part_problems)
        if not isinstance(part, dict):
            problems.append(Problem(where, f"{entry} must be a mapping of sections", "see docs/datamap.md#include"))
            continue
        for section, entries in part.items():
            key_where = part_index.locate((section,), key=True)
            if section not in _MERGEABLE:
                problems.append(
                    Problem(
                        key_where,
                        f"'{section}' cannot appear in an included file",
                        "included files may only add " + ", ".join(_MERGEABLE),
                    )
                )
                continue
            if not isinstance(entries, dict):
                problems.append(Problem(key_where, f"'{section}' must be a mapping of names to entries"))
                continue
            target_section = dict(merged.get(section) or {})
            for name, value in entries.items():
                if name in target_section:
                    first = index.locate((section, name), key=True)
                    problems.append(
                        Problem(
                            part_index.locate((section, name), key=True),
                            f"{section}.{name} is already defined" + (f" at {first}" if first else ""),
                            "rename one of them",
                        )
                    )
                    continue
                target_section[name] = value
            merged[section] = target_section
        for sub_path, loc in part_index.values.items():
            if sub_path and sub_path[0] in _MERGEABLE:
                index.values.setdefault(sub_path, loc)
        for sub_path, loc in part_index.keys.items():
            if sub_path and sub_path[0] in _MERGEABLE:
                index.keys.setdefault(sub_path, loc)
    return merged
