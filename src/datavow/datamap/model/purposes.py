"""Why data is processed: purposes with their legal basis and retention, and security measures."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    Field,
    model_validator,
)
from pydantic_core import PydanticCustomError

from datavow.datamap.model.base import CategoryKey, Duration, DurationField, Strict, to_duration
from datavow.datamap.model.parties import Role

# --------------------------------------------------------------------------- purposes


class LegalBasis(StrEnum):
    """Art. 6(1)(a–f)."""

    consent = "consent"
    contract = "contract"
    legal_obligation = "legal_obligation"
    vital_interests = "vital_interests"
    public_task = "public_task"
    legitimate_interest = "legitimate_interest"


class SpecialCondition(StrEnum):
    """Art. 9(2)(a–j): the condition that lifts the ban on special categories."""

    explicit_consent = "explicit_consent"  # (a)
    employment_law = "employment_law"  # (b)
    vital_interests = "vital_interests"  # (c)
    not_for_profit_body = "not_for_profit_body"  # (d)
    made_public = "made_public"  # (e)
    legal_claims = "legal_claims"  # (f)
    substantial_public_interest = "substantial_public_interest"  # (g)
    health_or_social_care = "health_or_social_care"  # (h)
    public_health = "public_health"  # (i)
    archiving_research_statistics = "archiving_research_statistics"  # (j)


class RetentionCriterion(Strict):
    """How long a purpose keeps data: a period, a criterion in words, or both (Art. 13(2)(a))."""

    period: DurationField | None = None
    after: str | None = None
    criterion: str | None = None

    @model_validator(mode="after")
    def _something_said(self) -> RetentionCriterion:
        if self.period is None and not self.criterion:
            raise PydanticCustomError("retention", "say how long: give 'period' (e.g. '24 months') or a 'criterion'")
        return self


def _retention_shorthand(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        to_duration(value)  # raises: a bare number is a period without its unit
    if isinstance(value, str):
        if value.strip()[:1].isdigit():
            Duration.parse(value)  # "90 dayz" is a mistyped period, not a criterion in words
            return {"period": value}
        return {"criterion": value}
    return value


RetentionEntry = Annotated[RetentionCriterion, BeforeValidator(_retention_shorthand)]


class AutomatedDecision(Strict):
    """Decisions this purpose takes about people by automated means alone, profiling included, that
    have legal or similarly significant effects (Art. 22): what a person is told (Art. 13(2)(f),
    15(1)(h))."""

    logic: str  # meaningful information about the logic involved
    consequences: str  # the significance and the envisaged consequences for the person
    profiling: bool = False  # whether it evaluates personal aspects (Art. 4(4))


class Purpose(Strict):
    """Why data is processed, on which legal basis, about whom, for how long, shared with whom."""

    name: str
    description: str | None = None
    basis: LegalBasis
    interest: str | None = None  # required for legitimate_interest (Art. 6(1)(f))
    law: str | None = None  # the law behind a legal_obligation or public_task (Art. 6(3))
    special_condition: SpecialCondition | None = None  # Art. 9(2)
    role: Role = Role.controller
    use: str | None = None  # a fideslang data use key, e.g. ``essential.service``
    subjects: list[str] = Field(default_factory=list)
    categories: list[CategoryKey] = Field(default_factory=list)
    recipients: list[str] = Field(default_factory=list)
    retention: RetentionEntry | None = None
    source: str | None = None  # where the data comes from when not from the person (Art. 14(2)(f))
    automated_decision: AutomatedDecision | None = None  # Art. 22 decisions, told under Art. 15(1)(h)


# --------------------------------------------------------------------------- measures


class MeasureKind(StrEnum):
    technical = "technical"
    organisational = "organisational"


_DPV_TERM = re.compile(r"^[A-Z][A-Za-z0-9-]*$")


def _check_dpv_term(value: Any) -> Any:
    if isinstance(value, str) and not _DPV_TERM.match(value):
        raise PydanticCustomError(
            "dpv_term",
            "'{value}' is not a DPV term name — write it as DPV spells it, e.g. 'EncryptionInTransfer'",
            {"value": value},
        )
    return value


class Measure(Strict):
    """A technical or organisational security measure (Art. 32, Art. 30(1)(g))."""

    name: str
    kind: MeasureKind
    description: str | None = None
    # The W3C DPV measure it is (``EncryptionInTransfer``), for the JSON-LD record; a measure
    # that is ``IncidentManagementProcedures`` is the breach procedure the statement describes.
    dpv: Annotated[str, BeforeValidator(_check_dpv_term)] | None = None
