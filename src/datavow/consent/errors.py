"""The consent ledger's error: :class:`datavow.errors.ConsentError`, named here for the package."""

from __future__ import annotations

from datavow.errors import ConsentError

__all__ = ["ConsentError"]
