"""The consent ledger's error, in the tree of :mod:`datavow.errors`."""

from __future__ import annotations

from datavow.errors import DatavowError


class ConsentError(DatavowError):
    """A consent or preference event is refused (unknown purpose, channel or topic; an event in the
    future), an import file is malformed, or the ledger does not verify; the message says which."""

    exit_code = 10
