"""datavow's own state: requests, consent, incidents and the audit chain.

SQLAlchemy 2 models (:mod:`datavow.store.models`) and Alembic migrations shipped inside the
package. :func:`open_store` migrates the schema to the latest revision before returning.

Each name is imported when first used (:mod:`datavow.lazy`): knowing where the store is
(``default_state_url``) costs no import of the ORM, the models or Alembic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from datavow.lazy import lazy_names
from datavow.store.location import STATE_URL_ENV, default_state_url

if TYPE_CHECKING:
    from datavow.store.engine import Store, open_store, state_error
    from datavow.store.migrate import current_revision, latest_revision, upgrade_schema
    from datavow.store.models import Base

__getattr__ = lazy_names(
    __name__,
    {
        "datavow.store.engine": ("Store", "open_store", "state_error"),
        "datavow.store.migrate": ("current_revision", "latest_revision", "upgrade_schema"),
        "datavow.store.models": ("Base",),
    },
)

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
