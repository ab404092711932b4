"""The prepared path of PostgreSQL reads (datavow.plan.prepared), against a real server: the same
rows and values as SQLAlchemy gives, several statements in one pipeline, cursor events, errors."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from datavow.connectors.databases import Catalogue, catalogue_of
from datavow.plan.prepared import Query, execute, execute_all
from datavow.plan.sql import typed_column, typed_rows
from datavow.store.models.base import UTCDateTime

metadata = sa.MetaData()
events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("email", sa.String(100)),
    sa.Column("at", UTCDateTime()),
)
WANTED = sa.bindparam("emails", type_=sa.ARRAY(sa.String))


@pytest.fixture
def engine(postgres_url: str) -> sa.Engine:
    engine = sa.create_engine(postgres_url, poolclass=NullPool)
    Catalogue().attach(engine)  # compiled statements are kept, as on the engines datavow makes
    metadata.create_all(engine)
    start = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(
            events.insert(),
            [{"id": n, "email": f"p{n % 3}@example.org", "at": start + timedelta(hours=n)} for n in range(9)],
        )
    return engine


def by_email() -> sa.Select[tuple[int, datetime]]:
    return sa.select(events.c.id, events.c.at).where(events.c.email == sa.any_(WANTED)).order_by(events.c.id)


def test_rows_and_values_are_those_sqlalchemy_gives(engine: sa.Engine) -> None:
    params = {"emails": ["p1@example.org", "p2@example.org"]}
    with engine.connect() as connection:
        # The session's zone is not UTC: the driver hands back times in it.
        connection.exec_driver_sql("SET TIME ZONE 'Asia/Tokyo'")
        expected = [tuple(row) for row in connection.execute(by_email(), params)]
        got = [tuple(row) for row in execute(connection, ("test.by_email",), by_email, params)]
        again = [
            tuple(row) for row in execute(connection, ("test.by_email",), by_email, {"emails": ["p0@example.org"]})
        ]
    assert got == expected and len(got) == 6
    assert all(at.utcoffset() == timedelta(0) for _, at in got)  # the UTC type's conversion applied
    assert [n for n, _ in again] == [0, 3, 6]  # compiled once, new values bound


def test_several_queries_go_together_and_cursor_events_see_each(engine: sa.Engine) -> None:
    seen: list[str] = []
    count = sa.select(sa.func.count()).select_from(events).where(events.c.email == sa.any_(WANTED))
    queries = [
        Query(("test.by_email",), by_email, {"emails": ["p0@example.org"]}),
        Query(("test.count",), lambda: count, {"emails": ["p1@example.org", "nobody@example.org"]}),
        Query(("test.by_email",), by_email, {"emails": []}),
    ]
    with engine.connect() as connection:
        sa.event.listen(connection, "before_cursor_execute", lambda *args: seen.append(args[2]))
        first, second, third = execute_all(connection, queries)
    assert [row[0] for row in first] == [0, 3, 6]
    assert list(second) == [(3,)]
    assert list(third) == []
    assert len(seen) == 3 and all("events" in statement for statement in seen)


def test_a_failing_statement_raises_sqlalchemys_error_and_the_cache_forgets(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        execute(connection, ("test.gone",), by_email, {"emails": []})
        catalogue = catalogue_of(connection)
        assert catalogue is not None and catalogue.generation == 0
        connection.exec_driver_sql("DROP TABLE events")
        with pytest.raises(sa.exc.ProgrammingError, match="events"):
            execute(connection, ("test.gone",), by_email, {"emails": []})
    assert catalogue.generation == 1  # a missing table: the statements built on it are forgotten


def test_a_time_with_an_offset_is_compared_as_the_moment_it_is(engine: sa.Engine) -> None:
    later = sa.bindparam("after", type_=UTCDateTime())
    statement = sa.select(sa.func.count()).select_from(events).where(events.c.at > later)
    moment = datetime(2026, 3, 29, 5, 30, tzinfo=timezone(timedelta(hours=2)))  # 03:30 UTC
    with engine.connect() as connection:
        (row,) = execute(connection, ("test.after",), lambda: statement, {"after": moment})
    assert row[0] == 5  # 04:30 … 08:30 UTC


def test_arrays_go_in_the_binary_format_and_match_as_the_text_one_did(engine: sa.Engine) -> None:
    ids = sa.bindparam("ids", type_=sa.ARRAY(sa.Integer))
    both = sa.select(events.c.id).where(events.c.email == sa.any_(WANTED), events.c.id == sa.any_(ids))
    seen: list[str] = []
    odd = 'it\'s "quoted" {a,b} \\ NULL'
    with engine.begin() as connection:
        connection.execute(events.insert(), {"id": 99, "email": odd})
    with engine.connect() as connection:
        sa.event.listen(connection, "before_cursor_execute", lambda *args: seen.append(args[2]))
        got = execute(
            connection,
            ("test.both",),
            lambda: both.order_by(events.c.id),
            {"emails": ["p1@example.org", "p2@example.org", odd], "ids": [1, 2, 4, 99]},
        )
    assert [row[0] for row in got] == [1, 2, 4, 99]  # quotes, braces, a backslash: matched as they are
    assert "%(emails)b" in seen[0] and "%(ids)b" in seen[0]


def test_typed_column_keeps_what_a_column_can_hold_as_it_holds_it() -> None:
    numbers = typed_column(sa.Integer(), {(1,), ("2",), (" 3 ",), ("x",), (None,), (True,), (4, 5)})
    texts = typed_column(sa.String(), {("a",), (7,), (None,)})
    anything = typed_column(sa.Date(), {(date(2026, 1, 2),), (None,)})
    assert sorted(numbers, key=repr) == [1, 2, 3]  # True is 1; text that is no number, NULL and a pair go
    assert (
        sorted(map(str, texts)) == ["7", "a"]
        and all(type(text) is str for text in texts)
        and anything == [date(2026, 1, 2)]
    )
    assert sorted(typed_rows([sa.Integer()], {("5",), (6,), ("y",)})) == [(5,), (6,)]
