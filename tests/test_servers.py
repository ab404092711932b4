"""The database-server fixtures give real, isolated PostgreSQL and MariaDB."""

from __future__ import annotations

import contextlib

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tests.servers import DatabaseServer


def _roundtrip(url: str, schema: str) -> list[tuple[int, str]]:
    """Create ``schema.subject`` on ``url``, insert two rows, read them back."""
    engine = sa.create_engine(url)
    try:
        subject = sa.Table(
            "subject",
            sa.MetaData(schema=schema),
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("email", sa.String(255), nullable=False),
        )
        with engine.begin() as conn:
            subject.create(conn)
            conn.execute(
                subject.insert(),
                [
                    {"id": 1, "email": "a@example.org"},
                    {"id": 2, "email": "b@example.org"},
                ],
            )
        with engine.connect() as conn:
            rows = conn.execute(sa.select(subject.c.id, subject.c.email).order_by(subject.c.id))
            return [(row.id, row.email) for row in rows]
    finally:
        engine.dispose()


def test_postgres_fresh_database_with_schema(postgres_url: str) -> None:
    url = make_url(postgres_url)
    assert url.drivername == "postgresql+psycopg"
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            assert conn.execute(sa.text("SELECT current_database()")).scalar_one() == url.database
            assert conn.execute(sa.text("SHOW server_encoding")).scalar_one() == "UTF8"
            # Fresh means empty: no user tables anywhere.
            assert sa.inspect(conn).get_table_names() == []
            conn.execute(sa.text("CREATE SCHEMA crm"))
    finally:
        engine.dispose()
    assert _roundtrip(postgres_url, "crm") == [
        (1, "a@example.org"),
        (2, "b@example.org"),
    ]


def test_postgres_urls_are_distinct_databases(postgres_url: str, postgres_server: DatabaseServer) -> None:
    with postgres_server.fresh_database() as other_url:
        assert make_url(other_url).database != make_url(postgres_url).database
        engine = sa.create_engine(postgres_url)
        try:
            with engine.begin() as conn:
                conn.execute(sa.text("CREATE TABLE only_here (id integer)"))
        finally:
            engine.dispose()
        other = sa.create_engine(other_url)
        try:
            with other.connect() as conn:
                assert not sa.inspect(conn).has_table("only_here")
        finally:
            other.dispose()


def test_postgres_database_is_dropped_despite_open_session(
    postgres_server: DatabaseServer,
) -> None:
    with postgres_server.fresh_database() as url:
        name = make_url(url).database
        leaked_engine = sa.create_engine(url)
        leaked = leaked_engine.connect()  # a session a careless test left open
        leaked.execute(sa.text("SELECT 1"))
        leaked.commit()
    # fresh_database() dropped it anyway, terminating the open session.
    with contextlib.suppress(sa.exc.DBAPIError):
        leaked.close()
    leaked_engine.dispose()
    admin = sa.create_engine(postgres_server.url)
    try:
        with admin.connect() as conn:
            found = conn.execute(
                sa.text("SELECT count(*) FROM pg_database WHERE datname = :n"),
                {"n": name},
            ).scalar_one()
    finally:
        admin.dispose()
    assert found == 0


def test_mariadb_fresh_database_with_second_database_as_schema(
    mariadb_url: str, mariadb_server: DatabaseServer
) -> None:
    url = make_url(mariadb_url)
    assert url.drivername == "mysql+pymysql"
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT DATABASE()")).scalar_one() == url.database
            assert "MariaDB" in conn.execute(sa.text("SELECT VERSION()")).scalar_one()
            assert sa.inspect(conn).get_table_names() == []
    finally:
        engine.dispose()
    # In MySQL/MariaDB a "schema" is another database on the same server.
    with mariadb_server.fresh_database() as other_url:
        schema = make_url(other_url).database
        assert schema is not None and schema != url.database
        assert _roundtrip(mariadb_url, schema) == [
            (1, "a@example.org"),
            (2, "b@example.org"),
        ]


def test_servers_listen_on_loopback_only(postgres_server: DatabaseServer, mariadb_server: DatabaseServer) -> None:
    for server in (postgres_server, mariadb_server):
        if server.managed:
            assert server.host == "127.0.0.1"
            assert server.port is not None
