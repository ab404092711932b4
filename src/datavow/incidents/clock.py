"""Times and clocks of an incident.

Every moment is stored in UTC and shown in the incident's zone. A time is accepted with an offset
(``2026-03-28T10:00+01:00``), with a zone name (``2026-03-28 10:00 Europe/Amsterdam`` or
``2026-03-28T10:00[Europe/Amsterdam]``), or without either when a zone is given separately; a time
without any zone is refused, never guessed. A local time that a daylight-saving change skips or
repeats is refused too: say which one with an offset.

The clocks count real hours from awareness (Art. 33(1): "not later than 72 hours after having become
aware"), so a deadline across a daylight-saving change is 72 elapsed hours, shown on the wall clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from datavow.errors import ErrorKind
from datavow.incidents.errors import IncidentError

#: Art. 33(1): the authority is told within 72 hours of awareness.
AUTHORITY_HOURS = 72
#: A processor tells each controller "without undue delay" (Art. 33(2)); contracts put a number on
#: it. The default, per incident changeable, is this many hours.
CONTROLLER_HOURS = 24
#: A clock is "due soon" once this share of its period or less is left (24 of 72 hours, 8 of 24).
DUE_SOON_SHARE = 1 / 3

_BRACKETED = re.compile(r"^(?P<time>.+?)\[(?P<zone>[^\]]+)\]$")
_NAMED = re.compile(r"^(?P<time>\S+(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?)\s+(?P<zone>[A-Za-z][\w+\-/]*)$")


def zone_info(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (``Europe/Amsterdam``, ``UTC``), or an error saying how to write one."""
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise IncidentError(
            f"{name!r} is not a time zone: give an IANA zone name such as Europe/Brussels, Europe/Stockholm or UTC",
            kind=ErrorKind.INVALID,
            field="zone",
        ) from exc


def parse_moment(text: str, zone: str | None = None, *, what: str = "the time", field: str | None = None) -> datetime:
    """``text`` as a UTC moment. ``zone`` interprets a time written without an offset or zone name;
    without it such a time is refused. An error about the text names ``field``, the input it came
    from (``aware_at``, ``given_at``, …), so that a front end can point at it."""
    raw = text.strip()
    named = _BRACKETED.match(raw) or _NAMED.match(raw)
    written_zone = named.group("zone") if named else None
    if named:
        raw = named.group("time").strip()
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise IncidentError(
            f"{what} {text!r} is not a time: write it as 2026-03-28T10:00+01:00, or 2026-03-28 10:00 Europe/Amsterdam",
            kind=ErrorKind.INVALID,
            field=field,
        ) from exc
    if parsed.tzinfo is not None:
        if written_zone is not None:
            # An offset and a zone name together must agree; otherwise one of them is a typo.
            local = parsed.astimezone(zone_info(written_zone))
            if local.utcoffset() != parsed.utcoffset():
                raise IncidentError(
                    f"{what} {text!r}: the offset does not match {written_zone} at that time",
                    kind=ErrorKind.INVALID,
                    field=field,
                )
        return parsed.astimezone(UTC)
    name = written_zone or zone
    if name is None:
        raise IncidentError(
            f"{what} {text!r} has no time zone: add an offset (2026-03-28T10:00+01:00) or a zone name "
            "(2026-03-28 10:00 Europe/Amsterdam), or give the zone the incident's times are in",
            kind=ErrorKind.INVALID,
            field="zone",
        )
    return localised(parsed, zone_info(name), text=text, what=what, field=field)


def localised(
    naive: datetime, zone: ZoneInfo, *, text: str, what: str = "the time", field: str | None = None
) -> datetime:
    """The wall-clock time ``naive`` in ``zone`` as a UTC moment; a time the zone skips (spring
    forward) or shows twice (fall back) is refused."""
    first, second = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() != second.utcoffset():
        # fold only matters where the offset changes: in a gap the time does not exist, in an
        # overlap it exists twice. The round trip through UTC tells them apart.
        exists = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive
        if not exists:
            raise IncidentError(
                f"{what} {text!r} does not exist in {zone.key}: the clocks skip it (daylight saving)",
                kind=ErrorKind.INVALID,
                field=field,
            )
        raise IncidentError(
            f"{what} {text!r} happens twice in {zone.key} (the clocks go back): add the offset, "
            f"e.g. {first.isoformat()} or {second.isoformat()}",
            kind=ErrorKind.INVALID,
            field=field,
        )
    return first.astimezone(UTC)


def aware_utc(moment: datetime, what: str = "the time", field: str | None = None) -> datetime:
    """A datetime given by a caller, in UTC; a naive one is refused (naming ``field``)."""
    if moment.tzinfo is None:
        raise IncidentError(
            f"{what} must be timezone-aware: pass tzinfo=ZoneInfo('Europe/Brussels') or UTC",
            kind=ErrorKind.INVALID,
            field=field,
        )
    return moment.astimezone(UTC)


def local(moment: datetime, zone: str) -> datetime:
    """``moment`` on the wall clock of ``zone``."""
    return moment.astimezone(zone_info(zone))


def shown(moment: datetime | None, zone: str) -> str:
    """``2026-03-31 11:00 CEST (+02:00)``: how people read a moment in the incident's zone."""
    if moment is None:
        return ""
    at = local(moment, zone)
    offset = at.strftime("%z")
    return f"{at:%Y-%m-%d %H:%M} {at.tzname()} ({offset[:3]}:{offset[3:]})"


@dataclass(frozen=True)
class Clock:
    """One deadline and where it stands at a moment: ``done``, ``done_late``, ``overdue``,
    ``due_soon``, ``running``, or ``not_required``."""

    name: str
    due_at: datetime | None
    status: str
    done_at: datetime | None = None

    @property
    def stands_out(self) -> bool:
        return self.status in ("overdue", "due_soon")


def clock(name: str, start: datetime, hours: int, *, required: bool, done_at: datetime | None, now: datetime) -> Clock:
    """The clock ``hours`` real hours from ``start``."""
    due = start + timedelta(hours=hours)
    if not required and done_at is None:
        return Clock(name, due, "not_required")
    if done_at is not None:
        return Clock(name, due, "done" if done_at <= due else "done_late", done_at)
    if now > due:
        return Clock(name, due, "overdue")
    if due - now <= timedelta(hours=hours) * DUE_SOON_SHARE:
        return Clock(name, due, "due_soon")
    return Clock(name, due, "running")
