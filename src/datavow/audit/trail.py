"""Reading the audit log as a person asks for it: the latest entries, about one object, since a
time written as text."""

from __future__ import annotations

from datetime import UTC, datetime

from datavow.audit.entry import AuditEntry
from datavow.audit.log import list_entries
from datavow.errors import AuditError, ErrorKind
from datavow.store import Store


def audit_trail(
    store: Store,
    *,
    since: str | datetime | None = None,
    about: str | None = None,
    action: str | None = None,
    limit: int | None = 50,
) -> list[AuditEntry]:
    """The latest entries, newest first, matching every filter given.

    ``since`` is a time or an ISO 8601 date or time (UTC unless it has an offset); ``about`` names
    an object as ``TYPE`` or ``TYPE:ID`` (``request:42``); ``action`` matches exactly or as a
    pattern with ``*`` (``request.*``).
    """
    object_type, _, object_id = (about or "").partition(":")
    return list_entries(
        store,
        since=moment(since),
        action=action,
        object_type=object_type or None,
        object_id=object_id or None,
        limit=limit,
        newest_first=True,
    )


def moment(value: str | datetime | None) -> datetime | None:
    """``value`` as a timezone-aware time: text in ISO 8601, read as UTC when it has no offset."""
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise AuditError(
            f"{value!r} is not an ISO date or time, e.g. 2024-05-01 or 2024-05-01T09:30+02:00",
            kind=ErrorKind.INVALID,
            field="since",
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
