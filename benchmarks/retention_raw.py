"""The hand-written chunked DELETEs that ``retention.py`` measures datavow's sweep against.

Each function deletes one chunk of due rows of ``state["table"]`` (due: ``at < state["cutoff"]``,
about ``state["chunk"]`` rows) inside the caller's transaction, and returns how many it deleted;
``state`` carries what a variant remembers between chunks. See ``benchmarks/README.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg

Chunk = Callable[[psycopg.Connection[Any], dict[str, Any]], int]  # deletes one chunk, returns the rows


def _keyset(db: psycopg.Connection[Any], state: dict[str, Any]) -> int:
    # = ANY(ARRAY(...)), not IN (...): with IN the planner hash-joins the ids against a scan of the whole table.
    return _walk_key(db, state, "DELETE FROM {t} WHERE id = ANY(ARRAY(SELECT id FROM chosen))")


def _keyset_ctid(db: psycopg.Connection[Any], state: dict[str, Any]) -> int:
    return _walk_key(db, state, "DELETE FROM {t} WHERE ctid = ANY(ARRAY(SELECT ctid FROM chosen))")


def _walk_key(db: psycopg.Connection[Any], state: dict[str, Any], delete: str) -> int:
    """The next ``chunk`` due rows in id order after the last chunk's largest id, deleted by ``delete``."""
    table = state["table"]
    row = db.execute(
        f"WITH chosen AS (SELECT ctid, id FROM {table} WHERE at < %(cutoff)s AND id > %(after)s "
        f"ORDER BY id LIMIT %(chunk)s), gone AS ({delete.format(t=table)} RETURNING id) "
        "SELECT count(*), max(id) FROM gone",
        state,
    ).fetchone()
    assert row is not None
    if row[0]:
        state["after"] = row[1]
    return int(row[0])


def _id_range(db: psycopg.Connection[Any], state: dict[str, Any]) -> int:
    """Walks the primary key in ranges, each range sized from the last so that it holds about a
    chunk of due rows; ends past the largest id."""
    if "last" not in state:
        row = db.execute(f"SELECT min(id) - 1, max(id) FROM {state['table']}").fetchone()
        assert row is not None  # an aggregate without GROUP BY returns one row
        first, last = row
        state.update(after=first or 0, last=last or 0, span=state["chunk"])
    while state["after"] < state["last"]:
        low, high = state["after"], state["after"] + state["span"]
        count = db.execute(
            f"DELETE FROM {state['table']} WHERE id > %(low)s AND id <= %(high)s AND at < %(cutoff)s",
            {"low": low, "high": high, "cutoff": state["cutoff"]},
        ).rowcount
        state["after"] = high
        state["span"] = max(1, min(state["span"] * 4, state["span"] * state["chunk"] // max(count, 1)))
        if count:
            return count
    return 0


def _oldest_first(db: psycopg.Connection[Any], state: dict[str, Any]) -> int:
    return db.execute(
        f"DELETE FROM {state['table']} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {state['table']} "
        "WHERE at < %(cutoff)s ORDER BY at LIMIT %(chunk)s))",
        state,
    ).rowcount


def _in_limit(db: psycopg.Connection[Any], state: dict[str, Any]) -> int:
    return db.execute(
        f"DELETE FROM {state['table']} WHERE id IN (SELECT id FROM {state['table']} "
        "WHERE at < %(cutoff)s LIMIT %(chunk)s)",
        state,
    ).rowcount


# name -> (one chunk, what it does); the first is the default baseline (the fastest measured here).
# oldest-first and in-limit pass over the rows earlier chunks deleted or kept, again in every chunk:
# their time grows with the square of the table, so they are for small --rows only.
BASELINES: dict[str, tuple[Chunk, str]] = {
    "id-range": (_id_range, "id in (a, b] AND due, b - a sized from the last chunk so that about n rows are due"),
    "keyset": (_keyset, "id = ANY(ARRAY(due ids > the last chunk's largest ORDER BY id LIMIT n))"),
    "keyset-ctid": (_keyset_ctid, "the same ids, deleted by ctid"),
    "oldest-first": (_oldest_first, "ctid of the n oldest due rows (ORDER BY at LIMIT n)"),
    "in-limit": (_in_limit, "id IN (due ids LIMIT n): the statement datavow's sweep runs, by hand"),
}
