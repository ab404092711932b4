"""Talking to a system's database: connecting (SQLAlchemy) and reading its catalogue for drift."""

from datavow.connectors.drift import DRIFT_RULES, DriftRule, check_drift
from datavow.connectors.sql import connect, redact

__all__ = ["DRIFT_RULES", "DriftRule", "check_drift", "connect", "redact"]
