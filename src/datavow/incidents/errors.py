"""The incident register's error: :class:`datavow.errors.IncidentError`, named here for the package."""

from __future__ import annotations

from datavow.errors import IncidentError

__all__ = ["IncidentError"]
