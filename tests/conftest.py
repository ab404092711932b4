"""Shared pytest configuration for the datavow test suite.

Keep this file to fixture wiring: put fixture implementations in their own
modules under tests/ and import them here, one section per area.
"""

from __future__ import annotations

# ---------------------------------------------------------------------------
# The installation key (tests/keys.py)
#   installation_key (autouse): $DATAVOW_SECRET_KEY set to one fixed test key
#   without_key_env:            no $DATAVOW_SECRET_KEY, for tests of the key file itself
# ---------------------------------------------------------------------------
from tests.keys import installation_key, without_key_env  # noqa: E402, F401

# ---------------------------------------------------------------------------
# Real database servers (tests/servers.py)
#   postgres_server / mariadb_server: session-wide DatabaseServer
#   postgres_url / mariadb_url:       URL of a fresh, empty database per test
# ---------------------------------------------------------------------------
from tests.servers import (  # noqa: F401  (re-exported as fixtures)
    mariadb_server,
    mariadb_url,
    postgres_server,
    postgres_url,
)
