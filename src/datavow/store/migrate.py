"""Running the packaged Alembic migrations from code, without an ``alembic.ini`` in the CWD.

Alembic is imported inside the functions that use it: it is the heaviest import datavow has, and
most commands (``--help``, a dry run, a check) never open the state store.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, text

from datavow.errors import StateError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# Any fixed 64-bit number; PostgreSQL writers opening the store at once queue on it.
_MIGRATION_LOCK_KEY = 0x6461746176_0001

# Alembic's `context` and `op` are module globals: two upgrades in one process at once would
# run each other's migrations. This lock serialises threads; the database lock, processes.
_IN_PROCESS_LOCK = threading.Lock()


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations, optionally bound to ``connection``."""
    from alembic.config import Config

    config = Config()
    # configparser interpolates '%', which can appear in an install path.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def latest_revision() -> str:
    """The newest schema revision this version of datavow ships."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # only if the package lost its migrations
        raise StateError(f"no migrations found in {MIGRATIONS_DIR}: reinstall datavow")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or ``None`` if it was never migrated."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade_schema(engine: Engine) -> None:
    """Bring the schema to the latest revision; safe when several processes do it at once.

    The whole upgrade is one transaction holding the write lock (``BEGIN IMMEDIATE`` on SQLite,
    an advisory lock on PostgreSQL), so a second process waits and then finds nothing to do.
    Driver errors propagate; :func:`datavow.store.open_store` translates them.
    """
    from alembic import command
    from alembic.util.exc import CommandError

    # The thread lock is taken first: holding the database lock while waiting for it could
    # deadlock against a thread that holds it and waits for the database.
    with _IN_PROCESS_LOCK, engine.connect() as connection, connection.begin():
        if connection.dialect.name == "postgresql":
            lock = text("SELECT pg_advisory_xact_lock(:key)")
            connection.execute(lock, {"key": _MIGRATION_LOCK_KEY})
        try:
            command.upgrade(alembic_config(connection), "head")
        except CommandError as exc:
            # Typically "Can't locate revision": a newer datavow migrated this database.
            raise StateError(
                f"the state store's schema cannot be upgraded: {exc}. If a newer datavow wrote "
                "this store, upgrade datavow; otherwise restore the store from a backup"
            ) from exc
