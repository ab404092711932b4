"""The map's top-level settings: retention and sweeps, communication topics, cookies, documents
and incidents."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BeforeValidator,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from datavow.datamap.model.base import Duration, DurationField, Strict, to_duration
from datavow.language import LANGUAGES, Language, language

# --------------------------------------------------------------------------- retention settings

_INTERVAL = re.compile(r"^\s*(\d+)\s*(minute|hour|day|week)s?\s*$", re.IGNORECASE)
_TIME_OF_DAY = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class Interval:
    """How often something runs: ``15 minutes``, ``6 hours``, ``1 day`` or ``1 week``."""

    amount: int
    unit: Literal["minute", "hour", "day", "week"]

    @property
    def seconds(self) -> int:
        return self.amount * {"minute": 60, "hour": 3600, "day": 86400, "week": 604800}[self.unit]

    def __str__(self) -> str:
        return f"{self.amount} {self.unit}{'s' if self.amount != 1 else ''}"


def _to_interval(value: Any) -> Interval:
    if isinstance(value, Interval):
        return value
    match = _INTERVAL.match(value) if isinstance(value, str) else None
    if match is None or int(match.group(1)) == 0:
        raise PydanticCustomError(
            "interval",
            "'{value}' is not an interval — write a number and a unit, e.g. '15 minutes', '6 hours' or '1 day'",
            {"value": value},
        )
    return Interval(int(match.group(1)), match.group(2).lower())  # type: ignore[arg-type]


IntervalField = Annotated[Interval, BeforeValidator(_to_interval), PlainSerializer(str)]


def _time_of_day(value: Any) -> str:
    if not isinstance(value, str) or not _TIME_OF_DAY.match(value):
        raise PydanticCustomError(
            "time_of_day", "'{value}' is not a time of day — write it as HH:MM in UTC, e.g. '02:30'", {"value": value}
        )
    return value


class SweepSchedule(Strict):
    """When the worker sweeps a system: every ``every``, at ``at`` (UTC) when the interval is a day or more."""

    every: IntervalField | None = None
    at: Annotated[str, BeforeValidator(_time_of_day)] | None = None


class OwnRetention(Strict):
    """How long datavow keeps its own records (see ``docs/retention.md``)."""

    audit_log: DurationField | None = None  # the oldest entries are pruned after this; default: never

    exports: DurationField = Field(default_factory=lambda: Duration(0, "day"))  # after a package expires
    verification_codes: DurationField = Field(default_factory=lambda: Duration(1, "day"))  # after they expire
    requests: DurationField = Field(default_factory=lambda: Duration(3, "year"))  # after they close: the proof period
    sweeps: DurationField = Field(default_factory=lambda: Duration(1, "year"))  # the sweep history


class AnchorSchedule(Strict):
    """Where and how often the worker anchors the audit log's head (see ``docs/audit.md``)."""

    file: str = Field(min_length=1)  # the anchor file: relative paths are beside the map
    every: IntervalField = Field(default_factory=lambda: Interval(1, "day"))
    mail: bool = False  # also mail each anchor to the DPO (else the organisation's contact)


class RetentionSettings(Strict):
    """The top-level ``retention:`` section: the sweep schedule, chunking, datavow's own records and
    offboarding of a processor's tenants."""

    every: IntervalField = Field(default_factory=lambda: Interval(1, "day"))
    at: Annotated[str, BeforeValidator(_time_of_day)] | None = None
    chunk_rows: int | None = Field(default=None, ge=1)  # rows per transaction; default: sized to the time below
    transaction_seconds: float = Field(default=0.25, gt=0, le=60)  # the time one chunk's transaction aims at
    systems: dict[str, SweepSchedule] = Field(default_factory=dict)
    own: OwnRetention = Field(default_factory=OwnRetention)
    offboarding: DurationField = Field(default_factory=lambda: Duration(90, "day"))  # after a contract ends
    anchor: AnchorSchedule | None = None  # the worker anchors the audit log's head; default: never

    def schedule(self, system: str) -> tuple[Interval, str | None]:
        """How often, and at what time of day, ``system`` is swept."""
        override = self.systems.get(system)
        if override is None:
            return self.every, self.at
        return override.every or self.every, override.at if override.at is not None else self.at


# --------------------------------------------------------------------------- communication


class CommunicationTopic(Strict):
    """What a message is about (a newsletter, event invitations), and the purpose it serves."""

    name: str
    purpose: str  # whose restrictions, objections and consent decide (see ``docs/consent.md``)
    description: str | None = None


class Communication(Strict):
    """The top-level ``communication:`` section: the topics people may opt in to or out of."""

    topics: dict[str, CommunicationTopic] = Field(default_factory=dict)


# --------------------------------------------------------------------------- cookies and documents


def _cookie_duration(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() == "session":
        return "session"
    return str(to_duration(value))


class Cookie(Strict):
    """A cookie (or similar storage) the website places on a visitor's device (ePrivacy Art. 5(3))."""

    name: str  # as the browser shows it, e.g. ``_ga``
    purpose: str  # the purpose it serves: its basis decides whether it needs consent
    duration: Annotated[str, BeforeValidator(_cookie_duration)]  # ``session`` or a period
    provider: str | None = None  # a recipient key when a third party places or reads it
    description: str | None = None


class Cookies(Strict):
    """The top-level ``cookies:`` section. Absent: the map says nothing about cookies, and neither does
    the statement; present and empty: the website places none."""

    declaration: str | None = None  # where visitors see and change their cookie choices
    placed: dict[str, Cookie] = Field(default_factory=dict)


class StatementSettings(Strict):
    """What the privacy statement says about itself: its date, where it is published, its review."""

    updated: date | None = None
    url: str | None = None
    review: DurationField | None = None


class IncidentSettings(Strict):
    """The top-level ``incidents:`` section: the controllers' deadline the contracts set, and the
    zone the register shows (and reads) times in."""

    controller_hours: int = Field(default=24, ge=1)  # "without undue delay" (Art. 33(2)), as the contracts say
    zone: str | None = None  # an IANA zone, e.g. Europe/Brussels

    @field_validator("zone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise PydanticCustomError(
                    "zone", "'{zone}' is not an IANA time zone, e.g. Europe/Brussels", {"zone": value}
                ) from exc
        return value


class Documents(Strict):
    """The top-level ``documents:`` section: languages, the default one, and the company's templates."""

    languages: list[Language] = Field(default_factory=lambda: list(LANGUAGES), min_length=1)
    language: Language = "en"
    templates: str | None = None  # a folder (relative to the map) whose files override the built-in ones
    statement: StatementSettings = Field(default_factory=StatementSettings)

    def language_for(self, code: str | None) -> Language:
        """The language ``code`` names (``"NL"``, ``"de-DE"``), else the one documents default to."""
        return language(code) if code else self.language

    @model_validator(mode="after")
    def _default_is_published(self) -> Documents:
        if self.language not in self.languages:
            raise PydanticCustomError(
                "language", "the default language '{language}' is not among 'languages'", {"language": self.language}
            )
        return self
