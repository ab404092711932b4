"""The documents' error: a template missing or broken, a format unknown, a map revision unreadable."""

from __future__ import annotations

from datavow.errors import DatavowError


class DocumentError(DatavowError):
    """A document cannot be written: a template is missing or broken, a format is unknown, or a map
    to compare cannot be read. The message says which, and what to do."""

    exit_code = 12


__all__ = ["DocumentError"]
