"""What every part of the map is built from: the strict base model, periods, names, countries
and category keys."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal

from dateutil.relativedelta import relativedelta
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
)
from pydantic_core import PydanticCustomError


class Strict(BaseModel):
    """Base for every map model: unknown keys are errors, values are not coerced silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- durations

_DURATION = re.compile(r"^\s*(\d+)\s*(day|week|month|year)s?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Duration:
    """A period such as ``90 days`` or ``7 years``, counted in calendar units."""

    amount: int
    unit: Literal["day", "week", "month", "year"]

    @classmethod
    def parse(cls, text: str) -> Duration:
        match = _DURATION.match(text)
        if not match:
            raise PydanticCustomError(
                "duration",
                "'{text}' is not a period — write a number and a unit, e.g. '90 days', '24 months' or '7 years'",
                {"text": text},
            )
        unit = match.group(2).lower()
        return cls(int(match.group(1)), unit)  # type: ignore[arg-type]

    def delta(self) -> relativedelta:
        if self.unit == "day":
            return relativedelta(days=self.amount)
        if self.unit == "week":
            return relativedelta(weeks=self.amount)
        if self.unit == "month":
            return relativedelta(months=self.amount)
        return relativedelta(years=self.amount)

    def before(self, moment: datetime | date) -> datetime | date:
        """The moment this period before ``moment``: rows older than it are due."""
        result: datetime | date = moment - self.delta()
        return result

    def __str__(self) -> str:
        return f"{self.amount} {self.unit}{'s' if self.amount != 1 else ''}"

    @property
    def approximate_days(self) -> float:
        """The period in days, months and years averaged: for comparing periods, never for dates."""
        return self.amount * {"day": 1.0, "week": 7.0, "month": 30.436875, "year": 365.2425}[self.unit]


def to_duration(value: Any) -> Duration:
    if isinstance(value, Duration):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        raise PydanticCustomError(
            "duration", "a bare number is not a period — add the unit, e.g. '{n} days'", {"n": value}
        )
    if not isinstance(value, str):
        raise PydanticCustomError("duration", "a period must be text such as '90 days'")
    return Duration.parse(value)


DurationField = Annotated[Duration, BeforeValidator(to_duration), PlainSerializer(str)]

# --------------------------------------------------------------------------- names

NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
CATEGORY_PATTERN = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


def _check_country(value: str) -> str:
    from datavow.taxonomy.countries import COUNTRY_NAMES

    upper = value.upper() if isinstance(value, str) else value
    if not isinstance(upper, str) or not _COUNTRY.match(upper) or upper not in COUNTRY_NAMES:
        raise PydanticCustomError(
            "country",
            "'{value}' is not an ISO 3166-1 alpha-2 country code — write two letters such as 'BE', 'SE' or 'US'",
            {"value": value},
        )
    return upper


Country = Annotated[str, BeforeValidator(_check_country)]


def _check_category_key(value: Any) -> Any:
    if isinstance(value, str) and not CATEGORY_PATTERN.match(value):
        raise PydanticCustomError(
            "category_key",
            "'{value}' is not a data category key — keys are dotted lower-case names such as 'user.contact.email'",
            {"value": value},
        )
    return value


CategoryKey = Annotated[str, BeforeValidator(_check_category_key)]


def one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value
