"""The clocks of Art. 12(3): one month to answer, extensible once by up to two further months.

Periods follow Regulation 1182/71 (periods, dates and time limits), Art. 3(2)(c): a period in
months ends at the last moment of the day, in the last month, with the same date as the day it
started; when that month is shorter, at the end of its last day. A request received on 31
January is due at the end of 28 (or 29) February. Days are UTC days.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from dateutil.relativedelta import relativedelta

from datavow.errors import ErrorKind, RequestError

#: How long a controller has to answer (Art. 12(3)).
ANSWER_MONTHS = 1
#: By how many further months the deadline may be extended, with reasons (Art. 12(3)).
MAX_EXTENSION_MONTHS = 2
#: "Due soon": open requests whose deadline falls within this period.
DUE_SOON = timedelta(days=7)


def aware(moment: datetime, name: str = "time") -> datetime:
    """``moment`` in UTC; a naive datetime is refused, never guessed."""
    if moment.tzinfo is None:
        raise RequestError(
            f"{name} must be timezone-aware: pass tzinfo=UTC (or an offset)", kind=ErrorKind.INVALID, field=name
        )
    return moment.astimezone(UTC)


def utc_now(now: datetime | None = None) -> datetime:
    """``now`` in UTC when given (tests and back-dated letters pass it), else the current time."""
    return aware(now, "now") if now is not None else datetime.now(UTC)


def end_of_period(start: datetime, months: int) -> datetime:
    """The last moment of the day ``months`` calendar months after ``start`` (UTC), the day
    clamped to the end of a shorter month."""
    day = (aware(start, "start") + relativedelta(months=months)).date()
    return datetime.combine(day, time.max, tzinfo=UTC)


def due_date(received_at: datetime) -> datetime:
    """When a request received at ``received_at`` must be answered: the end of the same day
    next month (Art. 12(3))."""
    return end_of_period(received_at, ANSWER_MONTHS)


def extended_due_date(
    received_at: datetime, due_at: datetime, months: int, now: datetime, *, extended: bool
) -> datetime:
    """The new deadline after extending by ``months`` further months, if the extension is allowed.

    Art. 12(3): at most two further months, and the person must be told, with the reasons,
    within the first month; so an extension is refused once the first month is over, and a
    request is extended only once (a second extension would be a second decision after the
    first month's reasons were given). Raises :class:`RequestError` saying why.
    """
    if months not in range(1, MAX_EXTENSION_MONTHS + 1):
        raise RequestError(
            f"a request can be extended by 1 or 2 further months (Art. 12(3)), not {months}",
            kind=ErrorKind.INVALID,
            field="months",
        )
    if extended:
        raise RequestError(
            "this request was extended already; Art. 12(3) allows one extension, of at most two further months in all"
        )
    if aware(now, "now") > due_at:
        raise RequestError(
            f"the first month ended on {due_at:%Y-%m-%d}: Art. 12(3) allows an extension only "
            "when the person is told, with the reasons, within the first month"
        )
    return end_of_period(received_at, ANSWER_MONTHS + months)
