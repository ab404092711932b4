"""The incident register's error: every refusal of :mod:`datavow.incidents` says what to do next."""

from __future__ import annotations

from datavow.errors import DatavowError


class IncidentError(DatavowError):
    """An incident step is refused: a wrong stage, a missing required fact, a time without a zone,
    a late notice without its reasons (Art. 33(1)); the message names the fix."""

    exit_code = 11


__all__ = ["IncidentError"]
