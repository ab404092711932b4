"""Retention sweep at scale on PostgreSQL: datavow's sweep against a hand-written chunked DELETE, in one run.

Puts ``--rows`` login events (default 20,000,000) on PostgreSQL, half of them past their 90 days
and spread through the table, then deletes the due rows twice from the same data (issue 4,
"Performance"):

- **datavow**: ``run_sweep`` over a data map with one system and the rule
  ``retention: {keep: 90 days, after: at}``, sizing its chunks itself;
- **raw SQL**: a chunked ``DELETE`` written by hand, each chunk its own transaction (``--chunk``
  rows; the variants are in ``retention_raw.py``, ``--baseline all`` times each).

It reports rows deleted per second and the longest single transaction of each side (targets: at
least 0.8x the raw throughput, no transaction longer than 1 s). Between the sides the table is
rebuilt from an untouched copy, indexed, vacuumed and analysed (not timed); both sides must delete
the same rows and leave the same ones, or the run ends with exit code 1. Run::

    python benchmarks/retention.py                    # 20,000,000 rows on a throwaway cluster
    python benchmarks/retention.py --tiny             # what CI runs: 20,000 rows
    python benchmarks/retention.py --url postgresql://me@localhost/bench --rows 2000000 --json out.json

See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import psycopg
import sqlalchemy as sa

# This folder's modules (benchmarks run as scripts): requests.py's throwaway cluster and connections.
from requests import database, log, one_value, psycopg_url, raw_connection
from retention_raw import BASELINES

from datavow.check import check_map
from datavow.datamap import load_map
from datavow.findings import Severity

SYSTEM, TABLE = "app", "login_events"
LABEL = f"{SYSTEM}.{TABLE}"  # how datavow names the rule
SCHEMA = "bench_retention"  # what is swept
SOURCE = "bench_retention_source"  # the untouched rows every side starts from
KEEP = timedelta(days=90)
USERS_PER_ROW = 200  # one user per 200 login events
FULL_ROWS = 20_000_000
DEFAULTS = {"rows": FULL_ROWS, "chunk": 10_000}
TINY = {"rows": 20_000, "chunk": 1_000}
BUILD_STEP = 1_000_000  # rows per INSERT while building, for progress
PASSWORD_VARIABLE = "DATAVOW_BENCH_PASSWORD"  # the map names it, never the password
POLL_SECONDS = 0.05  # how often the server is asked which transactions are open
MAX_SECONDS = 600.0  # a side still sweeping then is stopped, its rate taken over what it did

# Stable labels: tests/test_benchmarks.py checks that each is printed.
THROUGHPUT = "sweep throughput"
LONGEST = "longest transaction"
SEEN_LONGEST = "longest transaction seen by the server"
TOTAL = "sweep time"

MAP = """\
# Written by benchmarks/retention.py: one system, the login log swept after 90 days.
version: 1
organization:
  name: Retention Benchmark bv
  country: BE
  contact: {{email: privacy@bench.example}}
  supervisory_authority: {{name: Data Protection Authority, country: BE}}
taxonomy:
  categories:
    user.behavior.login:
      name: Login data
      description: Login timestamps and where they came from.
subjects:
  user: Users of the application
purposes:
  service:
    name: Providing the application
    basis: contract
    subjects: [user]
    categories: [user.unique_id, user.contact.email]
    retention: Not longer than the account exists.
  security:
    name: Security monitoring
    basis: legitimate_interest
    interest: Keeping accounts safe from abuse.
    subjects: [user]
    categories: [user.contact.email, user.device.ip_address, user.behavior.login]
    retention: {{period: 90 days, after: the login attempt}}
systems:
  {system}:
    url: {url}
    schema: {schema}
    tables:
      users:
        subject: user
        identity: {{email: email}}
        purposes: [service]
        fields:
          id: {{category: user.unique_id, erase: {{strategy: keep, reason: meaningless once the email is erased}}}}
          email: {{category: user.contact.email, erase: hash}}
        erase: anonymize
      {table}:
        description: Every login attempt, also for addresses no user has (user_id is then NULL).
        subject: user
        identity: {{email: email_entered}}
        purposes: [security]
        references:
          user_id: users.id
        fields:
          id: ~
          user_id: ~
          email_entered: user.contact.email
          ip: user.device.ip_address
          at: user.behavior.login
        erase: delete
        retention: {{keep: {days} days, after: at}}
"""


# --------------------------------------------------------------------------- the data


def create_table(schema: str, unlogged: bool = False) -> str:
    kind = "UNLOGGED TABLE" if unlogged else "TABLE"
    # Autovacuum is off on the swept table: it would start at a random moment during one side.
    return (
        f"CREATE {kind} {schema}.{TABLE} (id bigint NOT NULL, user_id bigint, email_entered text, ip text, "
        "at timestamptz NOT NULL) WITH (autovacuum_enabled = off)"
    )


def build_source(db: psycopg.Connection[Any], rows: int, now: datetime) -> None:
    """The rows every side starts from, in id order: even ids are 100 to 365 days old (due), odd
    ids 0 to 80 days (kept), so due rows are on every page; no row is near the 90-day line."""
    users = max(1, rows // USERS_PER_ROW)
    db.execute(f"DROP SCHEMA IF EXISTS {SOURCE} CASCADE")
    db.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    db.execute(f"CREATE SCHEMA {SOURCE}")
    db.execute(f"CREATE SCHEMA {SCHEMA}")
    db.execute(f"CREATE TABLE {SCHEMA}.users (id bigint PRIMARY KEY, email text NOT NULL)")
    db.execute(
        f"INSERT INTO {SCHEMA}.users SELECT g, 'user' || g || '@example.com' FROM generate_series(1, %(n)s) g",
        {"n": users},
    )
    db.execute(create_table(SOURCE, unlogged=True))
    started = time.perf_counter()
    for first in range(1, rows + 1, BUILD_STEP):
        last = min(rows, first + BUILD_STEP - 1)
        db.execute(
            f"INSERT INTO {SOURCE}.{TABLE} SELECT g, "
            "CASE WHEN g %% 5 = 0 THEN NULL ELSE 1 + (g * 7919) %% %(users)s END, "
            "'user' || 1 + (g * 7919) %% %(users)s || '@example.com', "
            "'10.' || g %% 251 || '.' || g %% 241 || '.' || g %% 239, "
            "CASE WHEN g %% 2 = 0 THEN %(now)s - interval '100 days' - (g * 104729) %% (265 * 86400) * interval '1 s' "
            "ELSE %(now)s - (g * 104729) %% (80 * 86400) * interval '1 s' END "
            "FROM generate_series(%(first)s::bigint, %(last)s::bigint) g",
            {"users": users, "now": now, "first": first, "last": last},
        )
        log(f"  built {last:,} of {rows:,} rows ({time.perf_counter() - started:.0f} s)")


@dataclass(frozen=True)
class Tally:
    """A table's rows against the cutoff: those not due, the sum of their ids, and those due."""

    kept: int
    kept_id_sum: int
    due: int


def tally(db: psycopg.Connection[Any], schema: str, cutoff: datetime) -> Tally:
    row = db.execute(
        f"SELECT count(*) FILTER (WHERE at >= %(c)s), coalesce(sum(id) FILTER (WHERE at >= %(c)s), 0), "
        f"count(*) FILTER (WHERE at < %(c)s) FROM {schema}.{TABLE}",
        {"c": cutoff},
    ).fetchone()
    assert row is not None
    return Tally(row[0], int(row[1]), row[2])


def restore(db: psycopg.Connection[Any]) -> float:
    """The swept table as new, from the untouched rows: same rows, same order, indexes, statistics."""
    started = time.perf_counter()
    db.execute(f"DROP TABLE IF EXISTS {SCHEMA}.{TABLE}")
    db.execute(create_table(SCHEMA))
    db.execute(f"INSERT INTO {SCHEMA}.{TABLE} SELECT * FROM {SOURCE}.{TABLE} ORDER BY id")
    db.execute(f"ALTER TABLE {SCHEMA}.{TABLE} ADD PRIMARY KEY (id)")
    db.execute(f"CREATE INDEX {TABLE}_at ON {SCHEMA}.{TABLE} (at)")
    # Hint bits and the visibility map set now, not by whichever side reads the rows first.
    db.execute(f"VACUUM (ANALYZE) {SCHEMA}.{TABLE}")
    try:
        db.execute("CHECKPOINT")  # so that no side pays for writing out the copy
    except psycopg.errors.InsufficientPrivilege:
        pass
    return time.perf_counter() - started


# --------------------------------------------------------------------------- the server's view


class TransactionWatch:
    """Polls ``pg_stat_activity`` from its own connection and keeps the age of the oldest open
    client transaction it saw: a check on each side's own account, within ``POLL_SECONDS``."""

    def __init__(self, url: sa.URL) -> None:
        self.url = url
        self.longest = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TransactionWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with raw_connection(self.url) as db:
            while not self._stop.is_set():
                row = db.execute(
                    "SELECT coalesce(max(extract(epoch FROM clock_timestamp() - xact_start)), 0) "
                    "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
                    "AND backend_type = 'client backend' AND xact_start IS NOT NULL"
                ).fetchone()
                self.longest = max(self.longest, float(row[0]) if row else 0.0)
                self._stop.wait(POLL_SECONDS)


# --------------------------------------------------------------------------- the sides


@dataclass
class Side:
    name: str
    deleted: int
    seconds: float
    longest: float  # the longest transaction, as the side itself measured it
    chunks: int
    complete: bool = True  # False: stopped at --max-seconds
    seen_longest: float = 0.0  # as the server showed it
    left: Tally = Tally(0, 0, 0)  # what the side left
    restore_seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.deleted / self.seconds if self.seconds else 0.0


class RawSweep:
    """Hand-written chunks until none deletes a row (or ``limit`` seconds), each its own transaction."""

    def __init__(self, url: sa.URL, baseline: str, chunk: int, cutoff: datetime, limit: float) -> None:
        self.url, self.baseline, self.chunk, self.cutoff, self.limit = url, baseline, chunk, cutoff, limit
        self.name = f"raw SQL ({baseline})"

    def prepare(self, db: psycopg.Connection[Any]) -> None:
        # The same read of the due rows as datavow's plan before its sweep; not timed.
        db.execute(f"SELECT count(*) FROM {SCHEMA}.{TABLE} WHERE at < %(c)s", {"c": self.cutoff})

    def sweep(self) -> Side:
        delete_chunk = BASELINES[self.baseline][0]
        state: dict[str, Any] = {"table": f"{SCHEMA}.{TABLE}", "cutoff": self.cutoff, "chunk": self.chunk, "after": 0}
        deleted = chunks = 0
        longest = 0.0
        complete = True
        with raw_connection(self.url) as db:
            db.execute("SELECT 1")
            started = time.perf_counter()
            while True:
                if time.perf_counter() - started > self.limit:
                    complete = False
                    break
                began = time.perf_counter()
                with db.transaction():
                    count = delete_chunk(db, state)
                longest = max(longest, time.perf_counter() - began)
                if not count:
                    break
                deleted += count
                chunks += 1
            seconds = time.perf_counter() - started
        return Side(self.name, deleted, seconds, longest, chunks, complete, details={"baseline": self.baseline})


def write_map(folder: Path, url: sa.URL) -> Path:
    path = folder / "datavow.yaml"
    # The map names the variable, never the password (as `datavow demo` writes its maps).
    text = url.render_as_string(hide_password=False)
    if url.password is not None:
        text = url.set(password="PASSWORDMARK").render_as_string(hide_password=False)
        os.environ[PASSWORD_VARIABLE] = str(url.password)
        text = text.replace("PASSWORDMARK", "${" + PASSWORD_VARIABLE + "}")
    path.write_text(MAP.format(system=SYSTEM, url=json.dumps(text), schema=SCHEMA, table=TABLE, days=KEEP.days))
    return path


class DatavowSweep:
    """``run_sweep`` with the engines a service would hold, connected before the clock starts."""

    name = "datavow"

    def __init__(self, map_path: Path, url: sa.URL, now: datetime, due: int, limit: float, problems: list[str]):
        self.map_path, self.url, self.now, self.due, self.limit = map_path, url, now, due, limit
        self.problems = problems
        self.key = os.urandom(32)  # what anonymisation would hash with; a delete rule uses none

    def prepare(self, db: psycopg.Connection[Any]) -> None:
        from datavow.retention import retention_plan

        self.loaded = load_map(self.map_path)
        checked = check_map(self.loaded)  # the map against the law and against the tables just built
        self.problems += [
            f"datavow check: {f.rule}: {f.message}" for f in checked.findings if f.severity is Severity.error
        ]
        self.engine = sa.create_engine(self.url)
        plan = retention_plan(self.loaded, {SYSTEM: self.engine}, now=self.now, key=self.key)
        self.planned = {rule.label: rule.due for rule in plan.rules}
        if self.planned.get(LABEL) != self.due:
            self.problems.append(f"datavow plans {self.planned.get(LABEL)} due rows in {LABEL}, {self.due} are due")

    def sweep(self) -> Side:
        from datavow.retention import run_sweep

        started = time.perf_counter()
        progress = Progress()
        try:
            result = run_sweep(
                self.loaded,
                {SYSTEM: self.engine},
                store=None,
                now=self.now,
                key=self.key,
                progress=progress,
                stop=lambda: time.perf_counter() - started > self.limit,
            )
            seconds = time.perf_counter() - started
        finally:
            self.engine.dispose()
        swept = {rule.label: rule for rule in result.rules}.get(LABEL)
        outcome = {system.system: system for system in result.systems}.get(SYSTEM)
        if swept is None or outcome is None:
            self.problems.append(f"datavow's sweep did not report {LABEL}")
        elif outcome.status not in ("done", "stopped"):
            self.problems.append(f"datavow's sweep of {SYSTEM} ended {outcome.status}: {outcome.error}")
        return Side(
            self.name,
            swept.deleted if swept is not None else 0,
            seconds,
            result.longest_transaction,
            swept.chunks if swept is not None else 0,
            complete=outcome is not None and outcome.status == "done",
            details={"sweep_seconds": result.seconds, "planned": self.planned, "progress": progress.chunks},
        )


class Progress:
    """Logs a sweep's progress every tenth of the due rows, and keeps when each chunk ended."""

    def __init__(self) -> None:
        self.shown = -1
        self.started = time.perf_counter()
        self.chunks: list[tuple[float, int]] = []  # seconds since the start, rows done

    def __call__(self, system: str, label: str, done: int, due: int) -> None:
        self.chunks.append((round(time.perf_counter() - self.started, 3), done))
        # a sweep that walks its key does not count first (due is 0): report every million rows
        step = 10 * done // due if due else done // 1_000_000
        if step > self.shown:
            self.shown = step
            log(f"  {label}: {done:,} of {due:,} rows" if due else f"  {label}: {done:,} rows")


# --------------------------------------------------------------------------- the run


@dataclass(frozen=True)
class Measurement:
    name: str
    unit: str
    datavow: float
    raw: float
    target: str
    met: bool | None

    @property
    def ratio(self) -> float | None:
        return self.datavow / self.raw if self.raw else None


def check_side(side: Side, want: Tally, problems: list[str]) -> None:
    """Every kept row still there, every deleted row a due one, and none due left when complete."""
    kept, kept_sum, due_left = side.left.kept, side.left.kept_id_sum, side.left.due
    if (kept, kept_sum) != (want.kept, want.kept_id_sum):
        problems.append(
            f"{side.name} left {kept:,} rows that were not due (id sum {kept_sum:,}); "
            f"{want.kept:,} were not due (id sum {want.kept_id_sum:,})"
        )
    if side.deleted != want.due - due_left or (side.complete and due_left):
        problems.append(
            f"{side.name} reports {side.deleted:,} rows deleted; {want.due - due_left:,} due rows are gone, "
            f"{due_left:,} are left"
        )


class Sweep(Protocol):
    name: str

    def prepare(self, db: psycopg.Connection[Any]) -> None: ...

    def sweep(self) -> Side: ...


def one_side(db: psycopg.Connection[Any], url: sa.URL, cutoff: datetime, side: Sweep) -> Side:
    log(f"{side.name}: restoring the table ...")
    restoring = restore(db)
    side.prepare(db)
    log(f"{side.name}: sweeping ...")
    with TransactionWatch(url) as watch:
        done = side.sweep()
    done.seen_longest = watch.longest
    done.restore_seconds = restoring
    done.left = tally(db, SCHEMA, cutoff)
    chunks = f"{done.chunks:,} chunks" + ("" if done.complete else ", stopped at --max-seconds")
    log(f"{side.name}: {done.deleted:,} rows in {done.seconds:.1f} s ({done.rate:,.0f}/s, {chunks})")
    return done


def measure(args: argparse.Namespace, url: sa.URL, folder: Path) -> dict[str, Any]:
    now = datetime.now(UTC).replace(microsecond=0)
    cutoff = now - KEEP
    problems: list[str] = []
    map_path = write_map(folder, url)
    baselines = list(BASELINES) if args.baseline == "all" else [args.baseline]
    with raw_connection(url) as db:
        version = str(one_value(db, "SHOW server_version"))
        log(f"building {args.rows:,} rows ...")
        started = time.perf_counter()
        build_source(db, args.rows, now)
        want = tally(db, SOURCE, cutoff)
        build_seconds = time.perf_counter() - started
        log(f"built {want.kept + want.due:,} rows, {want.due:,} due, in {build_seconds:.0f} s")
        sides: list[Side] = []
        for round_ in range(args.rounds):
            order: list[Sweep] = [DatavowSweep(map_path, url, now, want.due, args.max_seconds, problems)]
            order += [RawSweep(url, b, args.chunk, cutoff, args.max_seconds) for b in baselines]
            for sweep in reversed(order) if round_ % 2 else order:
                side = one_side(db, url, cutoff, sweep)
                check_side(side, want, problems)
                sides.append(side)
        db.execute(f"DROP SCHEMA {SOURCE} CASCADE")
    mine = [s for s in sides if s.name == "datavow"]
    theirs = [s for s in sides if s.name != "datavow"]
    best = max(theirs, key=lambda s: s.rate)
    theirs_best = [s for s in theirs if s.name == best.name]
    d_rate, r_rate = _mean([s.rate for s in mine]), _mean([s.rate for s in theirs_best])
    d_long, r_long = max(s.longest for s in mine), max(s.longest for s in theirs_best)
    measurements = [
        Measurement(THROUGHPUT, "rows/s", d_rate, r_rate, ">= 0.8x raw", d_rate >= 0.8 * r_rate),
        Measurement(LONGEST, "s", d_long, r_long, "<= 1 s", d_long <= 1.0),
        Measurement(
            SEEN_LONGEST,
            "s",
            max(s.seen_longest for s in mine),
            max(s.seen_longest for s in theirs_best),
            "<= 1 s",
            max(s.seen_longest for s in mine) <= 1.0,
        ),
        Measurement(TOTAL, "s", _mean([s.seconds for s in mine]), _mean([s.seconds for s in theirs_best]), "-", None),
    ]
    return {
        "database": f"PostgreSQL {version}",
        "rows": want.kept + want.due,
        "due": want.due,
        "chunk": args.chunk,
        "rounds": args.rounds,
        "baseline": best.details["baseline"],
        "build_seconds": build_seconds,
        "measurements": [{**asdict(m), "ratio": m.ratio} for m in measurements],
        "sides": [{**asdict(s), "rate": s.rate} for s in sides],
        "problems": problems,
    }


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


# --------------------------------------------------------------------------- report


def report(results: dict[str, Any], seconds: float) -> str:
    baseline = results["baseline"]
    lines = [
        f"datavow retention benchmark: {results['database']}, {results['rows']:,} rows in {LABEL}, "
        f"{results['due']:,} due (built in {results['build_seconds']:.0f} s); whole run {seconds:.0f} s",
        f"raw SQL: chunks of {results['chunk']:,} rows, '{baseline}': {BASELINES[baseline][1]}; "
        f"datavow sizes its own chunks; {results['rounds']} round(s)",
        "",
    ]
    columns = f"{'measurement':40}{'datavow':>14}{'raw SQL':>14}{'ratio':>8}   {'target':14}{'met?'}"
    lines += [columns, "-" * len(columns)]
    for m in results["measurements"]:
        ratio = f"{m['ratio']:.2f}x" if m["ratio"] is not None else "-"
        met = "-" if m["met"] is None else ("yes" if m["met"] else "NO")
        lines.append(
            f"{m['name']:40}{_value(m['datavow'], m['unit']):>14}{_value(m['raw'], m['unit']):>14}{ratio:>8}   "
            f"{m['target']:14}{met}"
        )
    lines += ["", "ratio: datavow's number over the raw SQL's (rows/s: higher is better; seconds: lower is better)"]
    lines += [
        "",
        f"{'side':28}{'deleted':>12}{'chunks':>8}{'seconds':>10}{'rows/s':>12}{'longest':>10}{'seen':>8}   {'ended'}",
    ]
    for s in results["sides"]:
        lines.append(
            f"{s['name']:28}{s['deleted']:>12,}{s['chunks']:>8,}{s['seconds']:>10.2f}{s['rate']:>12,.0f}"
            f"{s['longest']:>10.3f}{s['seen_longest']:>8.2f}   {'done' if s['complete'] else 'stopped (--max-seconds)'}"
        )
    lines.append(
        "longest: as the side timed its transactions; seen: the oldest open transaction pg_stat_activity showed"
    )
    return "\n".join(lines)


def _value(value: float, unit: str) -> str:
    if unit == "rows/s":
        return f"{value:,.0f}/s"
    return f"{value:,.{3 if value < 10 else 1}f} {unit}"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a PostgreSQL database to build in (default: a throwaway cluster)")
    parser.add_argument("--rows", type=int, help=f"login events to build, half of them due (default {FULL_ROWS:,})")
    parser.add_argument("--chunk", type=int, help="rows per chunk of the raw DELETE (default 10,000)")
    parser.add_argument(
        "--baseline",
        default=next(iter(BASELINES)),
        choices=[*BASELINES, "all"],
        help="the hand-written chunking (default: %(default)s; all: each, the fastest is compared)",
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=MAX_SECONDS,
        help="stop a side's sweep after this long and compare the rates so far (default: %(default)g)",
    )
    parser.add_argument("--rounds", type=int, default=1, help="sweeps per side, alternating which goes first")
    parser.add_argument(
        "--tiny", action="store_true", help="a CI-sized run: " + ", ".join(f"{k} {v:,}" for k, v in TINY.items())
    )
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH ('-': stdout, no table)")
    args = parser.parse_args()
    for name, value in (TINY if args.tiny else DEFAULTS).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.rows < 2 or args.chunk < 1 or args.rounds < 1:
        parser.error("--rows must be at least 2, --chunk and --rounds at least 1")
    return args


def main() -> None:
    args = parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="datavow-bench-") as temp, database(args.url) as given:
        url = psycopg_url(given)
        results = measure(args, url, Path(temp))
    if args.json == "-":
        print(json.dumps(results, indent=2, default=str))
    else:
        print(report(results, time.perf_counter() - started))
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    if results["problems"]:
        raise SystemExit("datavow and the hand-written SQL disagree:\n" + "\n".join(results["problems"]))


if __name__ == "__main__":
    main()
