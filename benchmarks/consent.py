"""Consent answers at scale on PostgreSQL and SQLite: datavow against hand-written SQL, in one run.

Records ``--people`` people (default 1,000,000) and ``--events`` consent and preference events
(default 10,000,000) in datavow's state store through the library's bulk path
(``record_events``), plus a few restrictions and objections, then measures, each against SQL
written by hand on the same tables in the same run (issue 5, "Performance"):

1. a single "may contact" answer from ``ConsentCache`` with a warm cache: median and p99
   (target p99 < 1 ms);
2. a single ``may_contact`` answer, uncached: median and p99 (target p99 < 5 ms on PostgreSQL);
3. ``filter_contactable`` over a mailing list of ``--list`` addresses (default 1,000,000; target
   < 5 s).

Both sides must give the same answer for every address, or the run ends with exit code 1. Run::

    python benchmarks/consent.py                      # full size, PostgreSQL and SQLite
    python benchmarks/consent.py --tiny               # what CI runs: 2,000 people, 20,000 events
    python benchmarks/consent.py --backend postgresql --url postgresql://me@localhost/bench --json out.json

Without ``--url`` the PostgreSQL store is a throwaway cluster started like the test suite's
(``tests/servers.py``); the SQLite store is a temporary file. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import consent_data as data

# This folder's modules (benchmarks run as scripts): requests.py's throwaway cluster and connections.
from consent_raw import Question, RawConsent
from requests import database, log, psycopg_url, raw_connection
from retention import Measurement

from datavow.consent import ConsentCache, EventInput, consent_key, filter_contactable, may_contact, record_events
from datavow.datamap import LoadedMap, load_map
from datavow.requests.restriction import object_to, restrict
from datavow.secrets import create_key, derive, state_directory
from datavow.store import Store, open_store

FULL = {"people": 1_000_000, "events": 10_000_000, "list": 1_000_000, "samples": 10_000, "uncached": 2_000}
TINY = {"people": 2_000, "events": 20_000, "list": 2_000, "samples": 500, "uncached": 200}
BACKENDS = ("postgresql", "sqlite")
BLOCKED_EVERY = 1_000  # one person in so many restricts all processing, one more objects to invitations
WARM_UP = 20  # answers per side asked first and not counted: connections, statement caches

# Stable labels: tests/test_benchmarks.py checks that each is printed.
WARM_MEDIAN = "may contact, warm cache: median"
WARM_P99 = "may contact, warm cache: p99"
UNCACHED_MEDIAN = "may contact, uncached: median"
UNCACHED_P99 = "may contact, uncached: p99"
FILTER = "mailing list filter: time"


@dataclass
class Result:
    """One backend's run."""

    backend: str
    database: str
    people: int
    events: int
    load_seconds: float = 0.0
    blocks: int = 0
    list_size: int = 0
    contactable: int = 0
    measurements: list[Measurement] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- the stores


@contextmanager
def stores(backend: str, url: str | None, folder: Path) -> Iterator[tuple[Store, Any, str]]:
    """datavow's state store on ``backend``, a raw connection to it, and the server's name."""
    if backend == "sqlite":
        path = folder / "state.db"
        with open_store(f"sqlite:///{path}") as store:
            db: Any = sqlite3.connect(path, isolation_level=None)  # autocommit: each read its own
            try:
                yield store, db, f"SQLite {sqlite3.sqlite_version}"
            finally:
                db.close()
        return
    with database(url) as given:
        bound = psycopg_url(given)
        with open_store(bound.render_as_string(hide_password=False)) as store, raw_connection(bound) as db:
            version = db.execute("SHOW server_version").fetchone()
            yield store, db, f"PostgreSQL {version[0] if version else '?'}"


def check_empty(db: Any) -> None:
    row = db.execute("SELECT count(*) FROM consent_events").fetchone()
    if row and row[0]:
        raise SystemExit(f"the state store already holds {row[0]:,} consent events: give an empty database to --url")


# --------------------------------------------------------------------------- loading


def load(store: Store, loaded: LoadedMap, key: bytes, args: argparse.Namespace, result: Result) -> None:
    """The events through ``record_events`` (timed), then the restrictions and objections."""
    now = datetime.now(UTC)
    started = time.perf_counter()
    done = record_events(
        store,
        loaded,
        _progress(data.events(args.people, args.events, now, args.seed), args.events, started),
        actor="benchmark:import",
        key=key,
    )
    result.load_seconds = time.perf_counter() - started
    result.events = done
    log(f"  recorded {done:,} events in {result.load_seconds:.0f} s ({done / result.load_seconds:,.0f}/s)")
    for i in range(BLOCKED_EVERY // 2, args.people, BLOCKED_EVERY):
        restrict(store, loaded, {"email": data.person(i)}, reason="accuracy contested (Art. 18(1)(a))", actor="bench")
        object_to(store, loaded, {"email": data.person(i + 1)}, "events", None, "bench")
        result.blocks += 2


def _progress(events: Iterable[EventInput], total: int, started: float) -> Iterator[EventInput]:
    tenth = max(1, total // 10)
    for n, event in enumerate(events, 1):
        yield event
        if n % tenth == 0:
            log(f"  {n:,} of {total:,} events ({time.perf_counter() - started:.0f} s)")


# --------------------------------------------------------------------------- measuring


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def timed_pairs(
    addresses: list[str], mine: Callable[[str], bool], theirs: Callable[[str], bool], problems: list[str], what: str
) -> tuple[list[float], list[float]]:
    """Each address asked of both sides, alternating which goes first; times in ms."""
    times: tuple[list[float], list[float]] = ([], [])
    sides = (mine, theirs)
    for n, address in enumerate(addresses):
        answers = [False, False]
        for side in (0, 1) if n % 2 else (1, 0):
            started = time.perf_counter_ns()
            answers[side] = sides[side](address)
            times[side].append((time.perf_counter_ns() - started) / 1e6)
        if answers[0] != answers[1] and len(problems) < 20:
            problems.append(f"{what}: {address}: datavow says {answers[0]}, the hand-written SQL {answers[1]}")
    return times


class RawCache:
    """The hand-written counterpart of ``ConsentCache``: answers kept in a dict, emptied when the
    audit head's seq moved (one indexed read per answer, as datavow's)."""

    def __init__(self, raw: RawConsent) -> None:
        self.raw, self.version, self.answers = raw, -1, dict[str, bool]()

    def may_contact(self, address: str) -> bool:
        row = self.raw.db.execute("SELECT seq FROM audit_head WHERE id = 1").fetchone()
        version = row[0] if row else 0
        if version != self.version:
            self.answers.clear()
            self.version = version
        answer = self.answers.get(address)
        if answer is None:
            answer = self.answers[address] = self.raw.may_contact(address)
        return answer


def measure(
    store: Store, loaded: LoadedMap, key: bytes, raw: RawConsent, args: argparse.Namespace, result: Result
) -> list[str]:
    problems: list[str] = []
    chosen = data.samples(args.people, args.samples, args.uncached, args.list, args.seed)
    channel, topic = raw.question.channel, raw.question.topic

    def uncached(address: str) -> bool:
        return may_contact(store, loaded, ("email", address), channel, topic, key=key).allowed

    log(f"  uncached: {len(chosen.uncached):,} answers per side ...")
    timed_pairs(chosen.uncached[:WARM_UP], uncached, raw.may_contact, problems, "uncached")
    mine, theirs = timed_pairs(chosen.uncached, uncached, raw.may_contact, problems, "uncached")
    on_postgresql = result.backend == "postgresql"
    uncached_p99 = percentile(mine, 0.99)
    uncached_rows = [
        Measurement(UNCACHED_MEDIAN, "ms", statistics.median(mine), statistics.median(theirs), "-", None),
        Measurement(
            UNCACHED_P99,
            "ms",
            uncached_p99,
            percentile(theirs, 0.99),
            "< 5 ms" if on_postgresql else "-",
            uncached_p99 < 5 if on_postgresql else None,
        ),
    ]

    log(f"  warm cache: {len(chosen.warm):,} answers per side, each asked once before ...")
    cache = ConsentCache(store, loaded, key=key, max_people=max(100_000, 2 * len(chosen.warm)))
    hand = RawCache(raw)

    def cached(address: str) -> bool:
        return cache.may_contact(("email", address), channel, topic).allowed

    cold = timed_pairs(chosen.warm, cached, hand.may_contact, problems, "cache, first ask")
    mine, theirs = timed_pairs(chosen.warm, cached, hand.may_contact, problems, "cache, warm")
    result.details["cache"] = {
        "hits": cache.hits,
        "misses": cache.misses,
        "first_ask_median_ms": [statistics.median(cold[0]), statistics.median(cold[1])],
    }
    if cache.misses != len(set(chosen.warm)):
        problems.append(f"the warm cache missed {cache.misses:,} times for {len(set(chosen.warm)):,} people")
    warm_p99 = percentile(mine, 0.99)
    result.measurements += [
        Measurement(WARM_MEDIAN, "ms", statistics.median(mine), statistics.median(theirs), "-", None),
        Measurement(WARM_P99, "ms", warm_p99, percentile(theirs, 0.99), "< 1 ms", warm_p99 < 1),
        *uncached_rows,
    ]

    log(f"  mailing list of {len(chosen.mailing_list):,} addresses, each side twice ...")
    runs: dict[str, list[float]] = {"datavow": [], "raw": []}
    lists: dict[str, list[str]] = {}
    for side in ("datavow", "raw", "raw", "datavow"):
        started = time.perf_counter()
        if side == "datavow":
            kept = filter_contactable(store, loaded, chosen.mailing_list, channel, topic, key=key)
        else:
            kept = raw.filter_contactable(chosen.mailing_list)
        runs[side].append(time.perf_counter() - started)
        lists[side] = kept
        log(f"    {side}: {len(kept):,} may be contacted, {runs[side][-1]:.2f} s")
    if lists["datavow"] != lists["raw"]:
        only = set(lists["datavow"]) ^ set(lists["raw"])
        problems.append(
            f"mailing list: datavow keeps {len(lists['datavow']):,}, the hand-written SQL {len(lists['raw']):,}; "
            f"{len(only):,} addresses differ, e.g. {sorted(only)[:3]}"
        )
    best = min(runs["datavow"]), min(runs["raw"])
    result.list_size, result.contactable = len(chosen.mailing_list), len(lists["datavow"])
    result.details["filter_runs"] = runs
    result.measurements.append(Measurement(FILTER, "s", best[0], best[1], "< 5 s", best[0] < 5))
    return problems


def run_backend(backend: str, args: argparse.Namespace, folder: Path) -> tuple[Result, list[str]]:
    log(f"{backend}:")
    place = folder / backend
    place.mkdir()
    loaded = load_map(data.write_map(place))
    create_key(state_directory(loaded.path))  # a new installation's key, beside the map: .datavow/secret.key
    with stores(backend, args.url if backend == "postgresql" else None, place) as (store, db, name):
        key = consent_key(store, loaded)
        check_empty(db)
        result = Result(backend, name, args.people, args.events)
        load(store, loaded, key, args, result)
        purpose = loaded.model.communication.topics[args.topic].purpose if args.topic else None
        consent = purpose is not None and loaded.model.purposes[purpose].basis.value == "consent"
        question = Question("email", args.topic, purpose, consent)
        raw = RawConsent(db, derive(key, "identity-index"), question)
        states = db.execute("SELECT count(*) FROM consent_state").fetchone()
        result.details["state_rows"] = states[0] if states else 0
        problems = measure(store, loaded, key, raw, args, result)
    return result, problems


# --------------------------------------------------------------------------- report


def report(results: list[Result], args: argparse.Namespace, seconds: float) -> str:
    topic = f"about '{args.topic}'" if args.topic else "about nothing in particular"
    lines = [
        f"datavow consent benchmark: {args.people:,} people, {args.events:,} events; may contact by e-mail {topic}; "
        f"{args.samples:,} warm and {args.uncached:,} uncached answers, a list of {args.list:,}; "
        f"whole run {seconds:.0f} s",
    ]
    for r in results:
        rate = r.events / r.load_seconds if r.load_seconds else 0
        lines += [
            "",
            f"{r.backend}: {r.database}; {r.events:,} events recorded by record_events in {r.load_seconds:.1f} s "
            f"({rate:,.0f}/s), {r.details.get('state_rows', 0):,} state rows, {r.blocks:,} restrictions and "
            "objections; "
            f"{r.contactable:,} of {r.list_size:,} addresses may be contacted",
        ]
        columns = f"{'measurement':36}{'datavow':>12}{'raw SQL':>12}{'ratio':>8}   {'target':10}{'met?'}"
        lines += [columns, "-" * len(columns)]
        for m in r.measurements:
            ratio = f"{m.ratio:.2f}x" if m.ratio is not None else "-"
            met = "-" if m.met is None else ("yes" if m.met else "NO")
            lines.append(
                f"{m.name:36}{_value(m.datavow, m.unit):>12}{_value(m.raw, m.unit):>12}{ratio:>8}   {m.target:10}{met}"
            )
    lines += [
        "",
        "ratio: datavow's time over the hand-written SQL's. Warm cache: both sides read the audit head's seq per "
        "answer and answer from a dict; the filter: best of two runs per side",
    ]
    return "\n".join(lines)


def _value(value: float, unit: str) -> str:
    return f"{value:,.{3 if value < 1 else 2 if value < 100 else 0}f} {unit}"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--backend", choices=[*BACKENDS, "both"], default="both", help="which state store (default both)"
    )
    parser.add_argument("--url", help="a PostgreSQL database for the store, empty (default: a throwaway cluster)")
    parser.add_argument("--people", type=int, help=f"people (default {FULL['people']:,})")
    parser.add_argument("--events", type=int, help=f"events, at least one per person (default {FULL['events']:,})")
    parser.add_argument("--list", type=int, help=f"addresses on the mailing list (default {FULL['list']:,})")
    parser.add_argument("--samples", type=int, help=f"warm-cache answers per side (default {FULL['samples']:,})")
    parser.add_argument("--uncached", type=int, help=f"uncached answers per side (default {FULL['uncached']:,})")
    parser.add_argument(
        "--topic", default="newsletter", help="what the contact is about ('' for nothing in particular)"
    )
    parser.add_argument("--seed", type=int, default=1, help="which events and which people are asked about")
    parser.add_argument(
        "--tiny", action="store_true", help="a CI-sized run: " + ", ".join(f"{k} {v:,}" for k, v in TINY.items())
    )
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH ('-': stdout, no table)")
    args = parser.parse_args()
    for name, value in (TINY if args.tiny else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if min(args.people, args.list, args.samples, args.uncached) < 1:
        parser.error("--people, --list, --samples and --uncached must be at least 1")
    args.events = max(args.events, args.people)
    args.topic = args.topic or None
    return args


def main() -> None:
    args = parse_args()
    started = time.perf_counter()
    results: list[Result] = []
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="datavow-bench-") as temp:
        for backend in BACKENDS if args.backend == "both" else (args.backend,):
            result, found = run_backend(backend, args, Path(temp))
            results.append(result)
            problems += [f"{backend}: {p}" for p in found]
    out = {
        "people": args.people,
        "events": args.events,
        "topic": args.topic,
        "backends": [
            {**asdict(r), "measurements": [{**asdict(m), "ratio": m.ratio} for m in r.measurements]} for r in results
        ],
        "problems": problems,
    }
    if args.json == "-":
        print(json.dumps(out, indent=2, default=str))
    else:
        print(report(results, args, time.perf_counter() - started))
        if args.json:
            Path(args.json).write_text(json.dumps(out, indent=2, default=str))
    if problems:
        raise SystemExit("datavow and the hand-written SQL disagree:\n" + "\n".join(problems))


if __name__ == "__main__":
    main()
