"""datavow's own state: requests, consent, incidents and the audit chain.

SQLAlchemy 2 models (:mod:`datavow.store.models`) and Alembic migrations shipped inside the
package. :func:`open_store` migrates the schema to the latest revision before returning.
"""

from __future__ import annotations

from datavow.store.engine import STATE_URL_ENV, Store, default_state_url, open_store, state_error
from datavow.store.migrate import current_revision, latest_revision, upgrade_schema
from datavow.store.models import Base

__all__ = [
    "STATE_URL_ENV",
    "Base",
    "Store",
    "current_revision",
    "default_state_url",
    "latest_revision",
    "open_store",
    "state_error",
    "upgrade_schema",
]
