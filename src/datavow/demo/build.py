"""Building the demo companies into a folder: databases, filled, and a map that points at them."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from datavow.demo.bulk import Database, redact
from datavow.demo.generate import COMPANIES, Progress, company, generate
from datavow.demo.mapfiles import packaged_map, point_map
from datavow.errors import DemoError, ErrorKind
from datavow.secrets import create_key, state_directory

#: The file name of each demo company's data map.
MAP_FILE = "datavow.yaml"
# A server URL's password is never written into the map; the map reads it from here instead.
PASSWORD_VARIABLE = "DATAVOW_DEMO_PASSWORD"

# Drivers datavow installs, for URLs that name none (SQLAlchemy would pick one that is not there).
_DRIVERS = {"postgresql": "psycopg", "mysql": "pymysql", "mariadb": "pymysql"}


@dataclass(frozen=True)
class DemoCompany:
    """One built demo company: where its map is, where its data went, and how much of it."""

    name: str
    title: str
    folder: Path
    map_path: Path
    systems: dict[str, str]  # system -> URL as written in the map
    schemas: dict[str, str]  # system -> schema, on PostgreSQL and MariaDB
    rows: dict[str, int]  # "system.table" -> rows
    subjects: dict[str, int]  # subject category -> people in it
    people: int  # people in the company's data, each counted once

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


@dataclass(frozen=True)
class _Plan:
    """Where one company goes, before anything is touched."""

    name: str
    folder: Path
    connect: dict[str, str]  # system -> URL the builder connects with
    written: dict[str, str]  # system -> URL written into the map
    schemas: dict[str, str]

    def databases(self) -> list[Database]:
        return [Database(self.connect[s], self.schemas.get(s)) for s in self.connect]


def build_demo(
    folder: str | Path,
    *,
    url: str | None = None,
    scale: float = 1.0,
    seed: int = 7,
    companies: Iterable[str] = COMPANIES,
    force: bool = False,
    today: date | None = None,
    progress: Progress | None = None,
) -> list[DemoCompany]:
    """Build each of ``companies`` in ``folder/<company>/`` and return what was built.

    By default each system is a SQLite file next to the company's ``datavow.yaml``. With ``url``
    (a PostgreSQL or MariaDB database), each system is a schema ``<company>_<system>`` there.
    An existing demo is left alone — :class:`DemoError` — unless ``force`` is true, which
    replaces it. Each company gets its own secret key (``.datavow/secret.key`` beside its map).
    ``today`` fixes the day the fake dates count back from (default: today).
    """
    names = _chosen(companies)
    if scale <= 0:
        raise DemoError(f"the scale must be above 0, not {scale}", kind=ErrorKind.INVALID, field="scale")
    server = _server_url(url) if url is not None else None
    root = Path(folder)
    plans = [_plan(root / name, name, server) for name in names]
    if not force:
        for plan in plans:
            _refuse_existing(plan)
    built = []
    for plan in plans:
        _clear(plan)
        plan.folder.mkdir(parents=True, exist_ok=True)
        result = generate(plan.name, plan.connect, scale, seed, schemas=plan.schemas, today=today, progress=progress)
        targets = {s: (plan.written[s], plan.schemas.get(s)) for s in plan.written}
        map_path = plan.folder / MAP_FILE
        map_path.write_text(point_map(packaged_map(plan.name), targets), encoding="utf-8")
        create_key(state_directory(map_path))  # each demo company is an installation with its own key
        built.append(
            DemoCompany(
                plan.name,
                company(plan.name).title,
                plan.folder,
                map_path,
                dict(plan.written),
                dict(plan.schemas),
                result.rows,
                result.people,
                result.distinct_people,
            )
        )
    return built


def _chosen(companies: Iterable[str]) -> list[str]:
    names = [companies] if isinstance(companies, str) else list(companies)
    unknown = [n for n in names if n not in COMPANIES]
    if unknown:
        raise DemoError(
            f"unknown demo compan{'ies' if len(unknown) > 1 else 'y'} {', '.join(unknown)} — "
            f"choose from {', '.join(COMPANIES)}",
            kind=ErrorKind.INVALID,
            field="companies",
        )
    if not names:
        raise DemoError(
            f"no company to build — choose from {', '.join(COMPANIES)}", kind=ErrorKind.INVALID, field="companies"
        )
    return list(dict.fromkeys(names))


def _server_url(text: str) -> URL:
    try:
        url = make_url(text)
    except ArgumentError as exc:
        raise DemoError(
            f"'{text}' is not a database URL — write e.g. "
            "'postgresql://user@localhost/demo' or 'mariadb://user@localhost/demo'",
            kind=ErrorKind.INVALID,
            field="url",
        ) from exc
    backend = url.get_backend_name()
    if backend not in _DRIVERS:
        raise DemoError(
            f"the demo builds on SQLite files, PostgreSQL or MariaDB/MySQL, not {backend} — "
            "leave out the URL for SQLite",
            kind=ErrorKind.INVALID,
            field="url",
        )
    if "+" not in url.drivername:
        url = url.set(drivername=f"{backend}+{_DRIVERS[backend]}")
    return url


def _plan(folder: Path, name: str, server: URL | None) -> _Plan:
    systems = list(company(name).systems)
    if server is None:
        connect = {s: f"sqlite:///{(folder / f'{s}.db').resolve()}" for s in systems}
        return _Plan(name, folder, connect, {s: f"sqlite:///{s}.db" for s in systems}, {})
    written = server.render_as_string(hide_password=False)
    if server.password is not None:
        marker = "DATAVOWDEMOPASSWORD"
        written = server.set(password=marker).render_as_string(hide_password=False)
        written = written.replace(marker, "${" + PASSWORD_VARIABLE + "}")
    schemas = {s: f"{name.replace('-', '_')}_{s}" for s in systems}
    connect = {s: server.render_as_string(hide_password=False) for s in systems}
    return _Plan(name, folder, connect, {s: written for s in systems}, schemas)


def _refuse_existing(plan: _Plan) -> None:
    if plan.folder.exists() and any(plan.folder.iterdir()):
        raise DemoError(
            f"{plan.folder} already holds a demo — build it again with force to replace it, or choose another folder",
            kind=ErrorKind.CONFLICT,
            field="force",
        )
    for database in plan.databases() if plan.schemas else []:  # SQLite files live in the folder
        found = database.existing_tables()
        database.engine.dispose()
        if found:
            tables = ", ".join(sorted(found)[:5])
            raise DemoError(
                f"schema {database.schema} at {redact(database.url)} already has tables ({tables}) — "
                "build the demo again with force to replace them",
                kind=ErrorKind.CONFLICT,
                field="force",
            )


def _clear(plan: _Plan) -> None:
    """Remove what an earlier build left: the company's folder and, on a server, its schemas."""
    if plan.folder.exists():
        shutil.rmtree(plan.folder)
    for database in plan.databases() if plan.schemas else []:
        database.drop_schema()
        database.engine.dispose()
