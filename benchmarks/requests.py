"""Data subject requests at scale on PostgreSQL: datavow against SQL written by hand, in one run.

Builds the demo companies on PostgreSQL, gives them the indexes a production deployment has for
identity lookups, then measures, each against hand-written SQL doing the same reads and changes
for the same people in the same run (issue 3, "Performance"):

1. one access request end to end (plan, discovery, encrypted export package): median and p95;
2. one erasure end to end (plan, discovery, erase), and access and erasure through the state
   store (``submit_request``: received, verified and run): median;
3. a batch of erasures as ONE plan (one discovery and one erase for all the people): time and
   people per second;
4. peak memory of an access export for a person with 1,000,000 rows, each side in a fresh process.

The per-person measurements use MIRA Software (``platform`` + ``business``, both systems): its
requests are written in SQL by hand in ``requests_raw.py`` (``HandWritten``); the other two companies are built for
size only. Run::

    python benchmarks/requests.py                     # scale 20, on a throwaway cluster (~5 min)
    python benchmarks/requests.py --tiny              # what CI runs: well under a minute
    python benchmarks/requests.py --scale 185         # the issue's size: >= 1,000,000 people, >= 20,000,000 rows
    python benchmarks/requests.py --url postgresql://me@localhost/bench --scale 185 --reuse

Without ``--url`` it starts a throwaway PostgreSQL cluster the way the test suite does
(``tests/servers.py``). Erasures change the database: with ``--reuse`` a later run samples people
who are still there. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from requests_raw import BENCH_SCHEMA, B, HandWritten, P  # this folder's modules: benchmarks run as scripts
from rss import peak_rss_bytes

from datavow.connectors.databases import Databases
from datavow.datamap import LoadedMap, load_map
from datavow.errors import RequestError
from datavow.plan import compile_plan, identity_formats, parse_identities
from datavow.plan.identities import parse_value
from datavow.plan.matching import postgresql_index_expression
from datavow.requests import submit_request
from datavow.requests.erasure import erase
from datavow.requests.export import ExportInfo, export_access
from datavow.requests.reading import find_person, snapshots
from datavow.requests.service import RunOptions
from datavow.secrets import create_key, load_key, state_directory
from datavow.store import Store, default_state_url, open_store

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
COMPANY = "mira-software"  # the company whose requests HandWritten writes in SQL
DEFAULT_SCALE = 20.0
FULL_SCALE = 185.0  # 1.6 million people and 20.1 million rows across the three companies
FULL_RUN = {"scale": DEFAULT_SCALE, "samples": 200, "batch": 10_000, "memory_rows": 1_000_000}
TINY = {"scale": 0.1, "samples": 5, "batch": 20, "memory_rows": 2_000}
WARM_UP = 2  # requests per measurement run first and not counted: reflection, statement caches
PHASE_ENV = "DATAVOW_BENCH_PHASE"  # what a memory child process runs (JSON, no password in argv)

# Stable labels: tests/test_benchmarks.py checks that each is printed.
ACCESS_MEDIAN = "access, one person: median"
ACCESS_P95 = "access, one person: p95"
ERASE_MEDIAN = "erasure, one person: median"
ERASE_P95 = "erasure, one person: p95"
ERASE_STEP_MEDIAN = "erasure, one person: erase step median"
LIBRARY_ACCESS_MEDIAN = "access, library call, one tenant: median"
STORE_ACCESS_MEDIAN = "access via state store, one tenant: median"
LIBRARY_ERASE_MEDIAN = "erasure, library call, one tenant: median"
LIFECYCLE_MEDIAN = "erasure via state store, one tenant: median"
# Printed below the table: the state store's time over the library call it wraps (issue 15).
STORE_ACCESS_ADDED = "access via state store, over the library call"
LIFECYCLE_ADDED = "erasure via state store, over the library call"
BATCH_TIME = "batch erasure as one plan: time"
BATCH_RATE = "batch erasure as one plan: people/s"
MEMORY_PEAK = "access export, heavy person: peak RSS"
MEMORY_GROWTH = "access export, heavy person: RSS growth"
MEMORY_TIME = "access export, heavy person: time"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- the database


@contextmanager
def database(url: str | None, settings: Mapping[str, str] | None = None) -> Iterator[str]:
    """``url``, or a fresh database on a throwaway cluster started like the test suite's, with
    ``settings`` added to its configuration."""
    if url is not None:
        yield url
        return
    sys.path.insert(0, str(ROOT))
    from tests.servers import ServerUnavailable, start_postgres

    try:
        server = start_postgres(settings)
    except ServerUnavailable as exc:
        raise SystemExit(f"{exc}\n(or pass --url postgresql://user@host/database)") from None
    try:
        log(f"started a throwaway PostgreSQL cluster in {server.base_dir}")
        yield server.url_for(server.create_database("bench"))
    finally:
        server.stop()


def psycopg_url(url: str) -> sa.URL:
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise SystemExit(f"this benchmark runs on PostgreSQL, not {parsed.get_backend_name()}")
    return parsed.set(drivername="postgresql+psycopg")


def raw_connection(url: sa.URL) -> psycopg.Connection[Any]:
    args = url.translate_connect_args(username="user", database="dbname")
    query: dict[str, Any] = dict(url.query)  # a repeated key's values come as a tuple
    return psycopg.connect(**args, **query, autocommit=True)


def one_value(db: psycopg.Connection[Any], query: str) -> Any:
    """The first column of the one row ``query`` returns."""
    row = db.execute(query).fetchone()
    assert row is not None, query
    return row[0]


# --------------------------------------------------------------------------- the demo


@dataclass
class Demo:
    maps: dict[str, Path]  # company -> datavow.yaml
    scale: float
    people: int
    rows: int
    build_seconds: float
    reused: bool


def prepare_demo(url: sa.URL, folder: Path, scale: float, companies: list[str], reuse: bool) -> Demo:
    """Build the companies (or reuse what an earlier run built), index them, and write their maps."""
    # Imported here, not above: the demo brings Faker, which the memory children must not carry.
    from datavow.demo import MAP_FILE, PASSWORD_VARIABLE, build_demo, company, packaged_map, point_map

    engine = sa.create_engine(url)
    text = url.render_as_string(hide_password=False)
    if url.password is not None:  # the maps name the variable, never the password
        os.environ[PASSWORD_VARIABLE] = str(url.password)
        text = url.set(password="PASSWORDMARK").render_as_string(hide_password=False)
        text = text.replace("PASSWORDMARK", "${" + PASSWORD_VARIABLE + "}")
    try:
        engine.connect().close()
    except sa.exc.OperationalError as exc:
        raise SystemExit(f"cannot reach {url.render_as_string(hide_password=True)}: {exc.orig}") from None
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {BENCH_SCHEMA}")
        conn.exec_driver_sql(
            f"CREATE TABLE IF NOT EXISTS {BENCH_SCHEMA}.built "
            "(company text PRIMARY KEY, scale float, people bigint, rows bigint, seconds float)"
        )
        built = {row[0]: row[1:] for row in conn.exec_driver_sql(f"SELECT * FROM {BENCH_SCHEMA}.built")}
    if reuse and all(name in built and _complete(engine, name, company(name).systems) for name in companies):
        maps = {}
        for name in companies:
            systems = company(name).systems
            targets = {s: (text, f"{name.replace('-', '_')}_{s}") for s in systems}
            maps[name] = folder / name / MAP_FILE
            maps[name].parent.mkdir(parents=True)
            maps[name].write_text(point_map(packaged_map(name), targets), encoding="utf-8")
            create_key(state_directory(maps[name]))  # the run's own installation, as the demo makes one
        chosen = [built[name] for name in companies]
        log(f"reusing the demo built at scale {chosen[0][0]:g}")
        demo = Demo(maps, chosen[0][0], sum(b[1] for b in chosen), sum(b[2] for b in chosen), 0.0, True)
    else:
        log(f"building {', '.join(companies)} at scale {scale:g} ...")
        started = time.perf_counter()
        results = build_demo(
            folder,
            url=url.render_as_string(hide_password=False),
            scale=scale,
            companies=companies,
            force=True,
            progress=_progress,
        )
        seconds = time.perf_counter() - started
        with engine.begin() as conn:
            for result in results:
                conn.execute(
                    sa.text(
                        f"INSERT INTO {BENCH_SCHEMA}.built VALUES (:c, :s, :p, :r, :t) ON CONFLICT (company) "
                        "DO UPDATE SET scale = :s, people = :p, rows = :r, seconds = :t"
                    ),
                    {"c": result.name, "s": scale, "p": result.people, "r": result.total_rows, "t": seconds},
                )
        maps = {result.name: result.map_path for result in results}
        demo = Demo(maps, scale, sum(r.people for r in results), sum(r.total_rows for r in results), seconds, False)
        log(f"built {demo.people:,} people and {demo.rows:,} rows in {seconds:.0f} s")
    started = time.perf_counter()
    for name, path in maps.items():
        for created in lookup_indexes(load_map(path), engine):
            log(f"  index {name}: {created}")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")
    log(f"indexed and analysed in {time.perf_counter() - started:.0f} s")
    engine.dispose()
    return demo


def _complete(engine: sa.Engine, name: str, systems: Mapping[str, sa.MetaData]) -> bool:
    inspector = sa.inspect(engine)
    for system, metadata in systems.items():
        schema = f"{name.replace('-', '_')}_{system}"
        if schema not in inspector.get_schema_names():
            return False
        if set(metadata.tables) - set(inspector.get_table_names(schema=schema)):
            return False
    return True


def _progress(name: str, label: str, done: int, total: int) -> None:
    if done == total:
        log(f"  {name} {label}: {total:,} rows")


def lookup_indexes(loaded: LoadedMap, engine: sa.Engine) -> list[str]:
    """The indexes a deployment needs so that discovery never scans a table: on every e-mail, text
    and national id identity column an expression index on the form datavow compares it in
    (``postgresql_index_expression``), and ``lower(trim(col))`` on e-mail columns for the
    hand-written SQL; a plain index on every other identity column and every reference's columns,
    unless an index already starts with them. Phone identities are not indexed: none is looked up here."""
    formats = identity_formats(loaded)
    created = []
    with engine.begin() as conn:
        inspector = sa.inspect(conn)
        quote = conn.dialect.identifier_preparer.quote
        for ref in loaded.tables():
            schema, name = ref.schema, ref.table_name
            indexes = inspector.get_indexes(name, schema=schema)
            named = {ix["name"] for ix in indexes}
            have = [tuple(ix["column_names"]) for ix in indexes]
            have.append(tuple(inspector.get_pk_constraint(name, schema=schema)["constrained_columns"]))
            wanted: list[tuple[str, str, tuple[str, ...] | None]] = []  # name, expression, plain columns
            for kind, columns in ref.table.identity.items():
                for column in columns:
                    form = formats.get(kind)
                    if form in ("email", "text", "national_id"):
                        matched = postgresql_index_expression(quote(column), form)
                        # named by its expression: a demo built by an earlier datavow gets the new one
                        digest = hashlib.sha256(matched.encode()).hexdigest()[:8]
                        wanted.append((f"{name}_{column}_matched_{digest}", matched, None))
                        stale = sorted(
                            ix for ix in named if ix is not None and ix.startswith(f"{name}_{column}_matched")
                        )
                        for index in stale:
                            if index != f"{name}_{column}_matched_{digest}"[:63]:
                                owner = f"{quote(schema)}." if schema else ""
                                conn.exec_driver_sql(f"DROP INDEX {owner}{quote(index)}")
                    if form == "email":
                        wanted.append((f"{name}_{column}_folded", f"lower(trim({quote(column)}))", None))
                    elif form != "phone":
                        wanted.append((f"{name}_{column}_lookup", quote(column), (column,)))
            for reference in ref.table.references.values():
                referring = tuple(reference.columns)
                wanted.append((f"{name}_{'_'.join(referring)}_ref", ", ".join(map(quote, referring)), referring))
            for index, expression, plain in wanted:
                if index[:63] in named or plain is not None and any(had[: len(plain)] == plain for had in have):
                    continue
                target = f"{quote(schema)}.{quote(name)}" if schema else quote(name)
                conn.exec_driver_sql(f"CREATE INDEX {quote(index[:63])} ON {target} ({expression})")
                if plain is not None:
                    have.append(plain)
                created.append(f"{name} ({expression})")
    return created


# --------------------------------------------------------------------------- datavow


class Datavow:
    """The same requests through datavow's library, as a service holding its engines would run them."""

    def __init__(self, loaded: LoadedMap, databases: Databases, key: bytes, folder: Path) -> None:
        self.loaded, self.databases, self.key, self.folder = loaded, databases, key, folder
        self.engines = databases.engines(loaded, ["platform", "business"])
        self.phases: dict[str, list[float]] = {"discovery": [], "export": [], "erase": []}

    def _find(self, emails: Sequence[str], sources: Mapping[str, Any]) -> tuple[Any, Any]:
        started = time.perf_counter()
        identities = parse_identities(self.loaded, {"email": list(emails)})
        plan = compile_plan(self.loaded, identities.keys(), all_tenants=True)
        discovery = find_person(self.loaded, plan, identities, sources)
        self.phases["discovery"].append((time.perf_counter() - started) * 1000)
        return identities, discovery

    def access(self, emails: Sequence[str]) -> dict[str, int]:
        """As ``run_request`` reads: discovery and export in one snapshot per system."""
        with snapshots(self.engines) as connections:
            identities, discovery = self._find(emails, connections)
            started = time.perf_counter()
            rows = self._package(identities, discovery, connections, "access.zip.dvs")
        self.phases["export"].append((time.perf_counter() - started) * 1000)
        return rows

    def _package(self, identities: Any, discovery: Any, connections: Mapping[str, Any], name: str) -> dict[str, int]:
        """Write the person's access package into the folder, drop it, and give its rows per table."""
        out = self.folder / name
        now = datetime.now(UTC)
        package = export_access(
            self.loaded,
            discovery,
            connections,
            out,
            key=self.key,
            request=ExportInfo("BENCH", now, identities),
            expires_at=now + timedelta(days=1),
        )
        out.unlink()
        return {table.label: table.rows for table in package.tables}

    def erase(self, emails: Sequence[str]) -> dict[str, int]:
        _, discovery = self._find(emails, self.engines)
        started = time.perf_counter()
        result = erase(self.loaded, discovery, self.engines, key=self.key, now=datetime.now(UTC))
        self.phases["erase"].append((time.perf_counter() - started) * 1000)
        return _changed(result)

    def _tenant_plan(self, email: str, tenant: int | None) -> tuple[Any, Any, dict[str, sa.Engine]]:
        identities = parse_identities(self.loaded, {"email": [email]})
        plan = compile_plan(self.loaded, identities.keys(), tenant=None if tenant is None else str(tenant))
        return identities, plan, self.databases.engines(self.loaded, plan.systems())

    def access_library(self, email: str, tenant: int | None) -> dict[str, int]:
        """What ``run_request`` wraps for an access, without the state store: plan for the tenant,
        discovery and export in one snapshot per system, on the engines the process keeps."""
        identities, plan, engines = self._tenant_plan(email, tenant)
        with snapshots(engines) as connections:
            discovery = find_person(self.loaded, plan, identities, connections)
            return self._package(identities, discovery, connections, "library-access.zip.dvs")

    def erase_library(self, email: str, tenant: int | None) -> dict[str, int]:
        """What ``run_request`` wraps for an erasure, without the state store: plan for the tenant,
        discovery, erase, on the engines the process keeps."""
        identities, plan, engines = self._tenant_plan(email, tenant)
        discovery = find_person(self.loaded, plan, identities, engines)
        return _changed(erase(self.loaded, discovery, engines, key=self.key, now=datetime.now(UTC)))

    def via_store(self, store: Store, kind: str, email: str, tenant: int | None) -> dict[str, Any]:
        """What a front end calls (``submit_request``): received from the controller (the tenant),
        verified as it arrives and run at once; it plans for the request's tenant, uses the engines
        the databases keep, and keeps what discovery found in the store."""
        options = RunOptions(key=self.key, export_dir=self.folder / "store-exports")
        done = submit_request(
            store,
            self.loaded,
            kind,
            {"email": email},
            source="controller",
            tenant=None if tenant is None else str(tenant),
            actor="benchmark",
            databases=self.databases,
            verified_by="benchmark",
            options=options,
        )
        return done.record.result or {}

    def access_via_store(self, store: Store, email: str, tenant: int | None) -> dict[str, int]:
        result = self.via_store(store, "access", email, tenant)
        Path(result["package"]).unlink()
        return dict(result["tables"])

    def erase_via_store(self, store: Store, email: str, tenant: int | None) -> dict[str, int]:
        steps = self.via_store(store, "erasure", email, tenant).get("steps", [])
        counts = {s["step"]: s["deleted"] + s["anonymised"] + s["minimised"] for s in steps}
        return {label: count for label, count in counts.items() if count}


def _changed(result: Any) -> dict[str, int]:
    """Rows changed per step of a complete erasure; a failed one ends the run."""
    if not result.complete:
        raise SystemExit(f"datavow's erasure failed: {result.to_dict()['systems']}")
    return {step.step: step.changed for step in result.steps if step.changed}


# --------------------------------------------------------------------------- measuring


@dataclass
class Measurement:
    name: str
    unit: str
    datavow: float | None
    raw: float | None
    target: str
    met: bool | None
    higher_is_better: bool = False

    @property
    def ratio(self) -> float | None:
        """datavow's cost against the raw SQL's: time, memory, or inverse throughput."""
        if not self.datavow or not self.raw:
            return None
        return self.raw / self.datavow if self.higher_is_better else self.datavow / self.raw


@dataclass
class Added:
    """What going through the state store adds to the library call it wraps (medians)."""

    name: str
    through_store: float
    library: float
    target: float | None  # at most this many ms more

    @property
    def ms(self) -> float:
        return self.through_store - self.library


@dataclass
class Run:
    measurements: list[Measurement] = field(default_factory=list)
    added: list[Added] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def compare(self, what: str, datavow: object, raw: object) -> None:
        if datavow != raw:
            self.problems.append(f"{what}: datavow {datavow} != hand-written SQL {raw}")


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def timed(run: Callable[[], dict[str, int]]) -> tuple[float, dict[str, int]]:
    started = time.perf_counter()
    result = run()
    return (time.perf_counter() - started) * 1000, result


def access_samples(
    run: Run,
    what: str,
    people: Sequence[tuple[str, int | None]],
    sides: Mapping[str, Callable[[str, int | None], dict[str, int]]],
) -> dict[str, list[float]]:
    """One access each side per person (e-mail, tenant), the order of the sides reversed from one
    person to the next; every side must export the rows the raw SQL (side "raw") exports. The
    times of each side after the warm-up."""
    times: dict[str, list[float]] = {side: [] for side in sides}
    for n, (email, tenant) in enumerate(people):
        order = list(sides.items())
        results = {}
        for side, call in order if n % 2 else order[::-1]:  # alternate who goes first: caches
            ms, results[side] = timed(partial(call, email, tenant))
            if n >= WARM_UP:
                times[side].append(ms)
        for side in sides:
            if side != "raw":
                run.compare(f"{what} ({side}) rows of person {n}", results[side], results["raw"])
    return times


def measure_access(run: Run, datavow: Datavow, raw: HandWritten, people: list[str], folder: Path) -> None:
    times = access_samples(
        run,
        "access",
        [(email, None) for email in people],
        {"datavow": lambda email, _: datavow.access([email]), "raw": lambda email, _: raw.access([email], folder)},
    )
    d, r = times["datavow"], times["raw"]
    run.measurements += [
        Measurement(
            ACCESS_MEDIAN,
            "ms",
            median(d),
            median(r),
            "< 50 ms and <= 2x raw",
            median(d) < 50 and median(d) <= 2 * median(r),
        ),
        Measurement(ACCESS_P95, "ms", p95(d), p95(r), "-", None),
    ]
    run.details["access"] = {
        "samples": len(d),
        "datavow_discovery_median_ms": median(datavow.phases["discovery"][WARM_UP:]),
        "datavow_export_median_ms": median(datavow.phases["export"][WARM_UP:]),
    }


def erasure_pair(
    run: Run,
    raw: HandWritten,
    what: str,
    emails: Sequence[str],
    tenant: int | None,
    sides: Mapping[str, Callable[[], dict[str, int]]],
    datavow_first: bool,
) -> dict[str, float]:
    """Erase the same people each way, from the same state: datavow's sides, putting the rows back
    after each, then the hand-written SQL (or the other way round); every side must change the
    same rows to the same values as the hand-written SQL. Each side's time, and "raw"'s."""
    tables = raw.snapshot(emails, tenant)
    order: list[tuple[str, Callable[[], dict[str, int]]]] = [
        *sides.items(),
        ("raw", partial(raw.erase, emails, tenant)),
    ]
    results: dict[str, tuple[float, dict[str, int], Any]] = {}
    for n, (side, call) in enumerate(order if datavow_first else order[::-1]):
        if n:
            raw.restore(tables)
        ms, counts = timed(call)
        results[side] = (ms, counts, raw.state(tables))
    raw.drop(tables)
    for side in sides:
        run.compare(f"{what} ({side}): rows changed", results[side][1], results["raw"][1])
        run.compare(f"{what} ({side}): rows afterwards", results[side][2], results["raw"][2])
    return {side: ms for side, (ms, _, _) in results.items()}


def erasure_samples(
    run: Run,
    raw: HandWritten,
    what: str,
    people: Sequence[tuple[str, int | None]],
    sides: Mapping[str, Callable[[str, int | None], dict[str, int]]],
) -> dict[str, list[float]]:
    """One erasure pair per person (e-mail, tenant), who goes first alternating; the times of
    each side and of the raw SQL after the warm-up."""
    times: dict[str, list[float]] = {side: [] for side in [*sides, "raw"]}
    for n, (email, tenant) in enumerate(people):
        mine = {side: partial(call, email, tenant) for side, call in sides.items()}
        took = erasure_pair(run, raw, f"{what} of person {n}", [email], tenant, mine, n % 2 == 0)
        if n >= WARM_UP:
            for side, ms in took.items():
                times[side].append(ms)
    return times


def measure_erasure(run: Run, datavow: Datavow, raw: HandWritten, people: list[str]) -> None:
    times = erasure_samples(
        run, raw, "erasure", [(email, None) for email in people], {"datavow": lambda email, _: datavow.erase([email])}
    )
    d, r = times["datavow"], times["raw"]
    step = median(datavow.phases["erase"][-len(d) :])
    run.measurements += [
        Measurement(
            ERASE_MEDIAN, "ms", median(d), median(r), "< 100 ms and <= 2x raw", median(d) <= min(100, 2 * median(r))
        ),
        Measurement(ERASE_P95, "ms", p95(d), p95(r), "-", None),
        Measurement(ERASE_STEP_MEDIAN, "ms", step, median(r), "-", None),
    ]
    run.details["erasure"] = {
        "samples": len(d),
        "datavow_discovery_median_ms": median(datavow.phases["discovery"][-len(d) :]),
        "datavow_erase_median_ms": median(datavow.phases["erase"][-len(d) :]),
    }


def measure_store_access(
    run: Run, datavow: Datavow, raw: HandWritten, people: list[tuple[str, int]], store: Store, folder: Path
) -> None:
    times = access_samples(
        run,
        "state-store access",
        people,
        {
            "library": datavow.access_library,
            "datavow": partial(datavow.access_via_store, store),
            "raw": lambda email, tenant: raw.access([email], folder, tenant),
        },
    )
    d, lib, r = times["datavow"], times["library"], times["raw"]
    run.measurements += [
        Measurement(LIBRARY_ACCESS_MEDIAN, "ms", median(lib), median(r), "-", None),
        Measurement(STORE_ACCESS_MEDIAN, "ms", median(d), median(r), "-", None),
    ]
    run.added.append(Added(STORE_ACCESS_ADDED, median(d), median(lib), None))
    run.details["store_access"] = {
        "samples": len(d),
        "raw_p95_ms": p95(r),
        "datavow_p95_ms": p95(d),
        "library_median_ms": median(lib),
        "library_p95_ms": p95(lib),
    }


def measure_lifecycle(
    run: Run, datavow: Datavow, raw: HandWritten, people: list[tuple[str, int]], store: Store
) -> None:
    sides: dict[str, Callable[[str, int | None], dict[str, int]]] = {
        "library": datavow.erase_library,
        "datavow": partial(datavow.erase_via_store, store),
    }
    times = erasure_samples(run, raw, "state-store erasure", people, sides)
    d, lib, r = times["datavow"], times["library"], times["raw"]
    run.measurements += [
        Measurement(LIBRARY_ERASE_MEDIAN, "ms", median(lib), median(r), "<= 2x raw", median(lib) <= 2 * median(r)),
        Measurement(LIFECYCLE_MEDIAN, "ms", median(d), median(r), "< 100 ms", median(d) < 100),
    ]
    run.added.append(Added(LIFECYCLE_ADDED, median(d), median(lib), 15.0))
    run.details["lifecycle"] = {
        "samples": len(d),
        "raw_p95_ms": p95(r),
        "datavow_p95_ms": p95(d),
        "library_median_ms": median(lib),
        "library_p95_ms": p95(lib),
    }


def measure_batch(run: Run, datavow: Datavow, raw: HandWritten, people: list[str]) -> None:
    took = erasure_pair(
        run, raw, f"batch of {len(people)}", people, None, {"datavow": partial(datavow.erase, people)}, True
    )
    d, r = took["datavow"], took["raw"]
    d_rate, r_rate = len(people) / (d / 1000), len(people) / (r / 1000)
    run.measurements += [
        Measurement(BATCH_TIME, "s", d / 1000, r / 1000, "<= 1.5x raw", d <= 1.5 * r),
        Measurement(BATCH_RATE, "people/s", d_rate, r_rate, "> 2,000/s", d_rate > 2000, higher_is_better=True),
    ]
    run.details["batch"] = {
        "people": len(people),
        "datavow_discovery_s": datavow.phases["discovery"][-1] / 1000,
        "datavow_erase_s": datavow.phases["erase"][-1] / 1000,
    }


def measure_memory(
    run: Run,
    url: sa.URL,
    map_path: Path,
    raw_db: psycopg.Connection[Any],
    heavy: tuple[str, int],
    rows: int,
    folder: Path,
) -> None:
    """Give one user ``rows`` more login events, then export them in a fresh process each way."""
    email, tenant = heavy
    with raw_db.transaction():
        before = one_value(raw_db, f"SELECT coalesce(max(id), 0) FROM {P}.login_events")
        raw_db.execute(
            f"INSERT INTO {P}.login_events (customer_id, user_id, email_entered, at, success, ip_address, user_agent) "
            "SELECT u.customer_id, u.id, u.email, timestamp '2025-01-01' + g * interval '1 second', mod(g, 5) > 0, "
            f"'10.0.' || mod(g, 250) || '.' || mod(g, 7), 'benchmark' FROM {P}.users u, generate_series(1, %(n)s) g "
            "WHERE lower(trim(u.email)) = %(e)s AND u.customer_id = %(t)s",
            {"n": rows, "e": email, "t": tenant},
        )
    raw_db.execute(f"ANALYZE {P}.login_events")
    try:
        phase = {
            "url": url.render_as_string(hide_password=False),
            "map": str(map_path),
            "email": email,
            "folder": str(folder),
        }
        raw = in_fresh_process("raw", phase)
        mine = in_fresh_process("datavow", phase)
    finally:
        raw_db.execute(f"DELETE FROM {P}.login_events WHERE id > %(id)s", {"id": before})
    run.compare("rows of the heavy person's export", mine["rows"], raw["rows"])
    run.measurements += [
        Measurement(MEMORY_PEAK, "MB", mine["peak_mb"], raw["peak_mb"], "< 200 MB", mine["peak_mb"] < 200),
        Measurement(MEMORY_GROWTH, "MB", _growth(mine), _growth(raw), "-", None),
        Measurement(MEMORY_TIME, "s", mine["seconds"], raw["seconds"], "-", None),
    ]
    run.details["memory"] = {"added_rows": rows, "exported_rows": mine["rows"], "datavow": mine, "raw": raw}


def _growth(result: dict[str, Any]) -> float:
    """Peak RSS during the export over the RSS before it (the modules both children import)."""
    return float(result["peak_mb"] - result["start_mb"])


def in_fresh_process(side: str, phase: dict[str, str]) -> dict[str, Any]:
    """One export in its own interpreter, so that its peak memory is its own."""
    env = {**os.environ, PHASE_ENV: json.dumps({**phase, "side": side})}
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve())], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"the {side} export failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run_phase(phase: dict[str, str]) -> dict[str, Any]:
    """In the child: one access export of the heavy person, and what it cost."""
    url, folder = psycopg_url(phase["url"]), Path(phase["folder"])
    start_mb = _peak_rss_mb()
    started = time.perf_counter()
    if phase["side"] == "raw":
        with raw_connection(url) as db:
            counts = HandWritten(db, os.urandom(32)).access([phase["email"]], folder)
    else:
        loaded = load_map(phase["map"])
        with Databases() as databases:
            counts = Datavow(loaded, databases, os.urandom(32), folder).access([phase["email"]])
    return {
        "rows": sum(counts.values()),
        "seconds": time.perf_counter() - started,
        "start_mb": start_mb,
        "peak_mb": _peak_rss_mb(),
    }


def _peak_rss_mb() -> float:
    return peak_rss_bytes() / 1e6


# --------------------------------------------------------------------------- people


@dataclass
class People:
    access: list[str]
    erasure: list[str]
    lifecycle: list[tuple[str, int]]  # e-mail and the tenant (platform customer) of the account
    batch: list[str]
    heavy: tuple[str, int]  # the account that gets many login events


def choose_people(db: psycopg.Connection[Any], samples: int, batch: int, seed: int) -> People:
    """Disjoint random samples of MIRA Software's people, named by e-mail (those still there:
    an erased address is a hash, without an @)."""
    people = db.execute(
        "SELECT DISTINCT lower(trim(x)) FROM ("
        f"SELECT email FROM {P}.users UNION ALL SELECT requester_email FROM {P}.support_tickets "
        f"UNION ALL SELECT email FROM {B}.contacts UNION ALL SELECT email FROM {B}.contact_submissions "
        f"UNION ALL SELECT email FROM {B}.supplier_contacts UNION ALL SELECT billing_email FROM {B}.invoices"
        ") AS known(x) WHERE position('@' in x) > 0"
    ).fetchall()
    users = db.execute(
        f"SELECT DISTINCT ON (1) lower(trim(email)), customer_id FROM {P}.users WHERE position('@' in email) > 0 "
        "ORDER BY 1, 2"
    ).fetchall()
    valid = sorted(email for (email,) in people if _is_email(email))
    accounts = [(email, tenant) for email, tenant in users if _is_email(email)]
    chance = random.Random(seed)
    chance.shuffle(valid)
    chance.shuffle(accounts)
    single = samples + WARM_UP
    if len(accounts) < single + 1 or len(valid) < 3 * single + batch + 1:
        raise SystemExit(
            f"the demo holds {len(valid):,} people ({len(accounts):,} platform users): too few for "
            f"{samples} samples and a batch of {batch:,} — raise --scale or lower --samples/--batch"
        )
    lifecycle, heavy = accounts[:single], accounts[single]
    taken = {email for email, _ in lifecycle} | {heavy[0]}
    rest = [email for email in valid if email not in taken]
    return People(rest[:single], rest[single : 2 * single], lifecycle, rest[2 * single : 2 * single + batch], heavy)


def _is_email(text: str) -> bool:
    try:
        parse_value("email", text)
    except RequestError:
        return False
    return True


# --------------------------------------------------------------------------- report


def report(run: Run, header: list[str], notes: list[str]) -> str:
    lines = [*header, ""]
    columns = f"{'measurement':46}{'datavow':>14}{'raw SQL':>14}{'ratio':>8}   {'target':24}{'met?'}"
    lines += [columns, "-" * len(columns)]
    for m in run.measurements:
        ratio = f"{m.ratio:.1f}x" if m.ratio is not None else "-"
        met = "-" if m.met is None else ("yes" if m.met else "NO")
        lines.append(
            f"{m.name:46}{_value(m.datavow, m.unit):>14}{_value(m.raw, m.unit):>14}{ratio:>8}   {m.target:24}{met}"
        )
    lines += ["", f"{'state store over the library call it wraps':46}{'store':>14}{'library':>14}{'added':>8}   target"]
    for a in run.added:
        met = "-" if a.target is None else f"<= {a.target:g} ms: " + ("yes" if a.ms <= a.target else "NO")
        lines.append(
            f"{a.name:46}{_value(a.through_store, 'ms'):>14}{_value(a.library, 'ms'):>14}{a.ms:>6.1f}ms   {met}"
        )
    lines += [
        "",
        "ratio: datavow's time (or memory) over the hand-written SQL's; for people/s, the raw rate over datavow's",
    ]
    lines += [f"- {note}" for note in notes]
    return "\n".join(lines)


def _value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "people/s":
        return f"{value:,.0f}/s"
    digits = 2 if value < 10 else 1 if value < 1000 else 0
    return f"{value:,.{digits}f} {unit}"


NOT_MEASURED = [
    "per-person requests are measured on mira-software only (platform + business, every table where a person "
    "lives); mira-network and miralix are built for size, their requests are not written in SQL by hand here",
    "the raw access baseline streams each table to CSV; datavow writes JSON and CSV of each table, the Art. 15 "
    "letter and a manifest into a ZIP, encrypted (a table with more rows than one fetch is read twice)",
    "'via state store' is tenant-scoped (platform only): submit_request, verified on arrival, plans with the "
    "request's tenant, and mira-software's platform is multi-tenant; its state store is the default SQLite file "
    "beside the map, and a request commits two transactions there (received, verified and started with what "
    "discovery found; completed), each synced to disk; 'library call' is what it wraps (plan for the tenant, "
    "discovery, erase or export) on the same engines, without the store, and 'over the library call' is the "
    "difference of the two medians",
    "the other rows reuse one set of engines, as a service would; the first requests of each kind warm "
    "caches and are not counted",
    "erasures change the database: each pair runs from the same rows (copied before, put back between the two "
    "sides), and both sides must change the same rows to the same values, or the run fails",
    "rectification, restriction and portability are not measured; MariaDB and SQLite are not measured",
]


# --------------------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    from datavow.demo import COMPANIES  # see prepare_demo

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a PostgreSQL database to build in (default: a throwaway cluster)")
    parser.add_argument(
        "--scale",
        type=float,
        help=f"demo scale (default {DEFAULT_SCALE:g}; {FULL_SCALE:g} is the "
        "issue's size: >= 1,000,000 people and >= 20,000,000 rows)",
    )
    parser.add_argument("--samples", type=int, help="people per single-request measurement (default 200)")
    parser.add_argument("--batch", type=int, help="people in the batch erasure (default 10,000)")
    parser.add_argument("--memory-rows", type=int, help="rows added to the heavy person (default 1,000,000)")
    parser.add_argument(
        "--companies",
        nargs="+",
        default=list(COMPANIES),
        choices=COMPANIES,
        help="demo companies to build (default: all three; mira-software is measured)",
    )
    parser.add_argument("--reuse", action="store_true", help="keep the demo an earlier run built at --url")
    parser.add_argument(
        "--shared-buffers",
        metavar="SIZE",
        help="the throwaway cluster's shared_buffers, e.g. 6GB (default: PostgreSQL's, 128MB)",
    )
    parser.add_argument("--seed", type=int, default=1, help="which random people (default 1)")
    parser.add_argument(
        "--tiny", action="store_true", help="a CI-sized run: " + ", ".join(f"{k} {v}" for k, v in TINY.items())
    )
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH ('-': stdout, no table)")
    args = parser.parse_args()
    for name, value in (TINY if args.tiny else FULL_RUN).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if COMPANY not in args.companies:
        parser.error(f"--companies must include {COMPANY}: its requests are what is measured")
    return args


def measure(args: argparse.Namespace, url: sa.URL, folder: Path) -> tuple[Demo, Run, str]:
    demo = prepare_demo(url, folder / "demo", args.scale, args.companies, args.reuse)
    loaded = load_map(demo.maps[COMPANY])
    key = load_key(state_directory(loaded.path))
    run = Run()
    with raw_connection(url) as db, Databases() as databases:
        version = str(one_value(db, "SHOW server_version"))
        people = choose_people(db, args.samples, args.batch, args.seed)
        raw = HandWritten(db, key)
        datavow = Datavow(loaded, databases, key, folder)
        (folder / "raw").mkdir()
        log(f"access: {len(people.access)} people ...")
        measure_access(run, datavow, raw, people.access, folder / "raw")
        log(f"erasure: {len(people.erasure)} people ...")
        measure_erasure(run, datavow, raw, people.erasure)
        with open_store(default_state_url(loaded.path)) as store:
            log(f"access via the state store: {len(people.lifecycle)} people ...")
            measure_store_access(run, datavow, raw, people.lifecycle, store, folder / "raw")
            log(f"erasure via the state store: {len(people.lifecycle)} people ...")
            measure_lifecycle(run, datavow, raw, people.lifecycle, store)
        log(f"batch erasure: {len(people.batch):,} people ...")
        measure_batch(run, datavow, raw, people.batch)
        log(f"access export of a person with {args.memory_rows:,} more rows ...")
        measure_memory(run, url, demo.maps[COMPANY], db, people.heavy, args.memory_rows, folder)
    return demo, run, version


def main() -> None:
    if PHASE_ENV in os.environ:  # a memory child: one export, its cost as a JSON line
        print(json.dumps(run_phase(json.loads(os.environ[PHASE_ENV]))))
        return
    args = parse_args()
    # This file is called requests.py: keep its folder off the path, where it would shadow the library.
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
    started = time.perf_counter()
    if args.shared_buffers and args.url:
        raise SystemExit("--shared-buffers sets up the throwaway cluster; with --url, set it on your server")
    settings = {"shared_buffers": args.shared_buffers} if args.shared_buffers else {}
    with tempfile.TemporaryDirectory(prefix="datavow-bench-") as temp, database(args.url, settings) as given:
        demo, run, version = measure(args, psycopg_url(given), Path(temp))
    header = [
        f"datavow requests benchmark: PostgreSQL {version}, demo scale {demo.scale:g}: {demo.people:,} people and "
        f"{demo.rows:,} rows in {len(demo.maps)} companies "
        + (f"(built in {demo.build_seconds:.0f} s)" if not demo.reused else "(reused)")
        + (f", shared_buffers {args.shared_buffers}" if args.shared_buffers else ""),
        f"per person: mira-software (platform + business) against SQL written by hand; {args.samples} samples, a "
        f"batch of {args.batch:,}, {args.memory_rows:,} rows added for the heavy person; whole run "
        f"{time.perf_counter() - started:.0f} s",
    ]
    results = {
        "database": f"PostgreSQL {version}",
        **{k: v for k, v in asdict(demo).items() if k != "maps"},
        "companies": list(demo.maps),
        "samples": args.samples,
        "batch": args.batch,
        "memory_rows": args.memory_rows,
        "measurements": [{**asdict(m), "ratio": m.ratio} for m in run.measurements],
        "added_by_state_store": [{**asdict(a), "ms": a.ms} for a in run.added],
        "details": run.details,
        "problems": run.problems,
        "not_measured": NOT_MEASURED,
    }
    if args.json == "-":
        print(json.dumps(results, indent=2, default=str))
    else:
        print(report(run, header, NOT_MEASURED))
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    if run.problems:
        raise SystemExit("the hand-written SQL and datavow disagree:\n" + "\n".join(run.problems[:20]))


if __name__ == "__main__":
    main()
