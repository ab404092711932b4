"""Talking to a system's database: connecting (SQLAlchemy) and reading its catalogue for drift.

Each name is imported when first used (:mod:`datavow.lazy`): a request connects without importing
drift's schema comparison.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from datavow.lazy import lazy_names

if TYPE_CHECKING:
    from datavow.connectors.drift import DRIFT_RULES, DriftRule, check_drift
    from datavow.connectors.sql import connect, redact

__getattr__ = lazy_names(
    __name__,
    {
        "datavow.connectors.drift": ("DRIFT_RULES", "DriftRule", "check_drift"),
        "datavow.connectors.sql": ("connect", "redact"),
    },
)

__all__ = ["DRIFT_RULES", "DriftRule", "check_drift", "connect", "redact"]
