"""The documents' error: :class:`datavow.errors.DocumentError`, named here for the package."""

from __future__ import annotations

from datavow.errors import DocumentError

__all__ = ["DocumentError"]
