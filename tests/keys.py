"""The installation key the tests run with.

Nothing in datavow makes a key on its own: an installation gets one on purpose (``datavow key
create``, or ``$DATAVOW_SECRET_KEY`` as a deployment sets it). Every test runs as such a deployment,
with one fixed key in ``$DATAVOW_SECRET_KEY``, which subprocesses inherit too; a test of the key
itself removes it (``without_key_env``) or sets another.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from datavow.secrets import KEY_ENV

#: The key every test's installation has, unless the test says otherwise.
TEST_KEY = bytes(range(32))
TEST_KEY_TEXT = base64.urlsafe_b64encode(TEST_KEY).decode()


@pytest.fixture(autouse=True)
def installation_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[bytes]:
    """``$DATAVOW_SECRET_KEY`` set to :data:`TEST_KEY` for the test."""
    monkeypatch.setenv(KEY_ENV, TEST_KEY_TEXT)
    yield TEST_KEY


@pytest.fixture
def without_key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ``$DATAVOW_SECRET_KEY``: the key is the file beside the map, or there is none."""
    monkeypatch.delenv(KEY_ENV, raising=False)
