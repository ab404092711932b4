"""Alembic environment for datavow's state store.

datavow runs migrations itself (:func:`datavow.store.upgrade_schema`) and hands Alembic an open
connection already inside a transaction. The fallback below serves developers who run the
``alembic`` command against ``store/alembic.ini`` to write a new revision.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection, create_engine

from datavow.store.models import Base


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


given = context.config.attributes.get("connection")
if isinstance(given, Connection):
    run_migrations(given)
else:
    url = os.environ.get("DATAVOW_STATE_URL") or context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("set DATAVOW_STATE_URL to the state store the migration should run on")
    with create_engine(url).connect() as connection:
        run_migrations(connection)
        connection.commit()
