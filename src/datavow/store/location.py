"""Where the state store is: a URL from the environment, else an SQLite file beside the map.

Kept apart from :mod:`datavow.store.engine` so that knowing where the store is costs no import
of SQLAlchemy's ORM or of Alembic.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from datavow.secrets import state_directory

#: Environment variable that overrides the default state store URL.
STATE_URL_ENV = "DATAVOW_STATE_URL"


def default_state_url(map_path: Path, environ: Mapping[str, str] | None = None) -> str:
    """``$DATAVOW_STATE_URL`` if set, else ``sqlite:///<map's directory>/.datavow/state.db``.

    Pure: nothing is created until :func:`datavow.store.open_store` opens the URL.
    """
    env = os.environ if environ is None else environ
    if env.get(STATE_URL_ENV):
        return env[STATE_URL_ENV]
    state_db = state_directory(map_path) / "state.db"
    return f"sqlite:///{state_db}"


__all__ = ["STATE_URL_ENV", "default_state_url"]
