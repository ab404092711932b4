"""The data map as typed objects.

These models check the *shape* of each part of ``datavow.yaml`` (types, unknown keys, value
formats). Checks that need the whole map (does that subject exist? does that reference point at
a declared table?) live in :mod:`datavow.datamap.resolve`, so that every problem in a map is found
in one run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.relativedelta import relativedelta
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from datavow.language import LANGUAGES, Language


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


def _to_duration(value: Any) -> Duration:
    if isinstance(value, Duration):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        raise PydanticCustomError(
            "duration", "a bare number is not a period — add the unit, e.g. '{n} days'", {"n": value}
        )
    if not isinstance(value, str):
        raise PydanticCustomError("duration", "a period must be text such as '90 days'")
    return Duration.parse(value)


DurationField = Annotated[Duration, BeforeValidator(_to_duration), PlainSerializer(str)]

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


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


# --------------------------------------------------------------------------- organisation


class Contact(Strict):
    """How to reach a person or a body."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None
    address: str | None = None
    url: str | None = None


class Representative(Contact):
    """The Art. 27 representative in the Union of an organisation established outside it."""

    country: Country | None = None


class Authority(Strict):
    """The supervisory authority people can complain to (Art. 77)."""

    name: str
    country: Country | None = None
    url: str | None = None
    email: str | None = None
    address: str | None = None


class Role(StrEnum):
    controller = "controller"
    processor = "processor"


class ControllerServed(Strict):
    """A controller on whose behalf the organisation processes as processor (Art. 30(2)(a))."""

    name: str
    contact: Contact | None = None
    country: Country | None = None
    description: str | None = None


class Organization(Strict):
    """Who is responsible: the controller (and/or processor) the map describes."""

    name: str
    legal_name: str | None = None
    registration: str | None = None
    country: Country
    roles: list[Role] = Field(default_factory=lambda: [Role.controller], min_length=1)
    contact: Contact
    dpo: Contact | None = None
    representative: Representative | None = None
    supervisory_authority: Authority | None = None
    controllers: dict[str, ControllerServed] = Field(default_factory=dict)

    @field_validator("roles")
    @classmethod
    def _unique_roles(cls, roles: list[Role]) -> list[Role]:
        if len(set(roles)) != len(roles):
            raise PydanticCustomError("roles", "a role is listed twice")
        return roles


# --------------------------------------------------------------------------- recipients


class RecipientKind(StrEnum):
    processor = "processor"
    sub_processor = "sub_processor"
    controller = "controller"
    joint_controller = "joint_controller"
    authority = "authority"


class Safeguard(StrEnum):
    """The legal ground for a transfer outside the EEA (Chapter V)."""

    adequacy = "adequacy"  # Art. 45: the Commission decided the country is adequate
    dpf = "dpf"  # Art. 45: EU-US Data Privacy Framework, for certified US organisations
    scc = "scc"  # Art. 46(2)(c): standard contractual clauses
    bcr = "bcr"  # Art. 47: binding corporate rules
    code_of_conduct = "code_of_conduct"  # Art. 46(2)(e)
    certification = "certification"  # Art. 46(2)(f)
    derogation = "derogation"  # Art. 49: a specific derogation, to be named


class Recipient(Strict):
    """Someone who receives personal data: a processor, another controller, an authority."""

    name: str
    kind: RecipientKind
    country: Country | None = None
    safeguard: Safeguard | None = None
    derogation: str | None = None
    contact: Contact | None = None
    agreement: str | None = None
    description: str | None = None


# --------------------------------------------------------------------------- subjects


class Subject(Strict):
    """A category of data subjects (the seeds' "person categories")."""

    name: str
    description: str | None = None
    taxonomy: str | None = None  # a fideslang data subject key, e.g. ``customer``


def _subject_shorthand(value: Any) -> Any:
    return {"name": value} if isinstance(value, str) else value


SubjectEntry = Annotated[Subject, BeforeValidator(_subject_shorthand)]

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
        _to_duration(value)  # raises: a bare number is a period without its unit
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


# --------------------------------------------------------------------------- tables


class FieldStrategy(StrEnum):
    """How a field is erased when its row is kept (Art. 17)."""

    nullify = "nullify"  # set to NULL
    fixed = "fixed"  # set to a fixed value (``value``)
    hash = "hash"  # a keyed hash: equal inputs stay equal, nothing can be read back
    pseudonymize = "pseudonymize"  # a random stand-in, stable within one erasure
    keep = "keep"  # left as is (not identifying on its own, or needed); say why in ``reason``


class FieldErasure(Strict):
    strategy: FieldStrategy
    value: str | int | float | None = None
    reason: str | None = None

    @model_validator(mode="after")
    def _value_for_fixed(self) -> FieldErasure:
        if self.strategy is FieldStrategy.fixed and self.value is None:
            raise PydanticCustomError("erase", "the 'fixed' strategy needs a 'value'")
        if self.strategy is not FieldStrategy.fixed and self.value is not None:
            raise PydanticCustomError("erase", "only the 'fixed' strategy takes a 'value'")
        return self


def _erasure_shorthand(value: Any) -> Any:
    if value is None:
        raise PydanticCustomError(
            "erase_null",
            "'erase: null' is YAML's empty value — write 'erase: nullify' to set the column to NULL",
        )
    if isinstance(value, str):
        return {"strategy": value}
    return value


class DataField(Strict):
    """A column: its data categories and how it is erased. No category: not personal."""

    category: Annotated[list[CategoryKey], BeforeValidator(_one_or_many)] = Field(default_factory=list)
    # An explicit ``erase: null`` must reach the validator (a plain Optional would accept it).
    erase: Annotated[FieldErasure | None, BeforeValidator(_erasure_shorthand)] = None
    description: str | None = None


def _field_shorthand(value: Any) -> Any:
    if value is None:
        return {}
    if isinstance(value, (str, list)):
        return {"category": value}
    return value


DataFieldEntry = Annotated[DataField, BeforeValidator(_field_shorthand)]


class TableErasure(StrEnum):
    delete = "delete"  # delete the person's rows
    anonymize = "anonymize"  # keep the rows, erase each personal field by its strategy


class Reference(Strict):
    """Columns of this table that hold the key of a row in another table.

    ``columns`` defaults to the entry's key; ``to`` is ``table`` or ``system.table``;
    ``to_columns`` defaults to ``columns``. ``owner`` says what the reference means for a request:
    ``true``, a row belongs to the person of the row it points at (a rental to its customer);
    ``false``, it merely names another person (a support rep, the employee who handled an order).
    Left out, the planner reads it from the tables' subjects (``datavow.plan.ownership``).
    """

    columns: Annotated[list[str], BeforeValidator(_one_or_many)] = Field(min_length=1)
    to: str
    to_columns: Annotated[list[str], BeforeValidator(_one_or_many)] | None = None
    owner: bool | None = None

    @property
    def target_columns(self) -> list[str]:
        return self.to_columns if self.to_columns is not None else self.columns


def _parse_reference(column: str, value: str) -> dict[str, Any] | None:
    """``table.column`` or ``system.table.column`` as the long form, or None when malformed."""
    target, _, target_column = value.rpartition(".")
    if not target or not target_column:
        return None
    return {"columns": [column], "to": target, "to_columns": [target_column]}


def _reference_shorthand(value: Any) -> Any:
    """Only a malformed short form reaches here (see ``Table``): explain the two forms."""
    if isinstance(value, str):
        raise PydanticCustomError(
            "reference",
            "'{value}' is not a reference — write 'table.column' or 'system.table.column'",
            {"value": value},
        )
    return value


ReferenceEntry = Annotated[Reference, BeforeValidator(_reference_shorthand)]


def split_target(system_name: str, to: str) -> tuple[str, str]:
    """A reference target ``table`` (in ``system_name``) or ``system.table`` -> (system, table)."""
    if "." in to:
        other, table = to.split(".", 1)
        return other, table
    return system_name, to


class After(Strict):
    """The moment a period counts from: a column here, or a column of a referenced table."""

    column: str
    table: str | None = None  # ``table`` or ``system.table``, reached through references


def _after_shorthand(value: Any) -> Any:
    if isinstance(value, str):
        if "." in value:
            table, column = value.rsplit(".", 1)
            return {"table": table, "column": column}
        return {"column": value}
    return value


AfterEntry = Annotated[After, BeforeValidator(_after_shorthand)]


class RetentionRule(Strict):
    """Keep rows for a period after a moment, then delete them or erase some of their fields.

    Without ``keep`` the period is the shortest default ``retention`` of the data categories of the
    fields the rule erases (resolved at load; see :mod:`datavow.datamap.resolve`).
    """

    keep: DurationField | None = None
    after: AfterEntry
    action: TableErasure | None = None  # default: the table's ``erase``
    fields: list[str] | None = None  # erase only these fields and keep the row
    where: str | None = None  # a SQL condition narrowing the rule, e.g. ``closed_at IS NOT NULL``


def rule_period(data_map: DataMap, table: Table) -> Duration | None:
    """The period of ``table``'s retention rule: its ``keep``, else the shortest default period of
    the categories of the fields it erases (``fields``, or every personal field). None when neither."""
    rule = table.retention
    if rule is None:
        return None
    if rule.keep is not None:
        return rule.keep
    names = rule.fields if rule.fields is not None else list(table.personal_fields())
    defaults = [
        category.retention
        for name in names
        if (declared := table.fields.get(name)) is not None
        for key in declared.category
        if (category := data_map.taxonomy.categories.get(key)) is not None and category.retention is not None
    ]
    return min(defaults, key=lambda period: period.approximate_days) if defaults else None


class Hold(Strict):
    """A legal hold: rows are kept for a period after a moment, whatever erasure asks (Art. 17(3))."""

    purpose: str
    keep: DurationField
    after: AfterEntry
    minimise: list[str] = Field(default_factory=list)  # fields erased even while held


class Table(Strict):
    """A table: whose data it holds, how to find a person in it, its columns and its rules."""

    schema_: str | None = Field(default=None, alias="schema")
    description: str | None = None
    subject: str | None = None
    # identity type -> the column(s) holding it; a call has a caller's and a callee's number
    identity: dict[str, Annotated[list[str], BeforeValidator(_one_or_many), Field(min_length=1)]] = Field(
        default_factory=dict
    )
    primary_key: Annotated[list[str], BeforeValidator(_one_or_many)] | None = None
    tenant_column: str | None = None
    purposes: list[str] = Field(default_factory=list)
    references: dict[str, ReferenceEntry] = Field(default_factory=dict)
    fields: dict[str, DataFieldEntry] = Field(default_factory=dict)
    erase: TableErasure | None = None
    retention: RetentionRule | None = None
    hold: Hold | None = None
    restriction_flag: str | None = None  # a column set to true while processing is restricted

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _references_take_their_key(cls, data: Any) -> Any:
        """A reference's columns default to its key: ``user_id: users.id`` or ``user_id: {to: users}``."""
        if not isinstance(data, dict) or not isinstance(data.get("references"), dict):
            return data
        references: dict[Any, Any] = {}
        for key, value in data["references"].items():
            if isinstance(value, str):
                value = _parse_reference(str(key), value) or value
            elif isinstance(value, dict) and "columns" not in value:
                value = {**value, "columns": [key]}
            references[key] = value
        return {**data, "references": references}

    def personal_fields(self) -> dict[str, DataField]:
        return {name: f for name, f in self.fields.items() if f.category}


# --------------------------------------------------------------------------- systems


class Location(Strict):
    """Where a system's data physically lives."""

    country: Country
    provider: str | None = None  # a recipient key: the hosting processor
    description: str | None = None


class Tenant(Strict):
    """Processor mode: the table whose rows are the controllers (tenants) of this system."""

    table: str
    key: Annotated[list[str], BeforeValidator(_one_or_many)] = Field(default_factory=lambda: ["id"])
    name: str | None = None  # the column holding the controller's name


class System(Strict):
    """A database datavow talks to, and the tables in it."""

    name: str | None = None
    description: str | None = None
    url: str
    schema_: str | None = Field(default=None, alias="schema")
    location: Location | None = None
    tenant: Tenant | None = None
    measures: list[str] = Field(default_factory=list)
    ignore: list[str] = Field(default_factory=list)  # tables outside the map on purpose
    tables: dict[str, Table] = Field(default_factory=dict)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# --------------------------------------------------------------------------- taxonomy


class CategoryExtension(Strict):
    """A data category the map adds to fideslang's taxonomy."""

    name: str
    description: str | None = None
    parent: str | None = None  # defaults to the key without its last part
    special: bool = False  # an Art. 9 special category
    retention: DurationField | None = None  # a default period for fields of this category


class SubjectExtension(Strict):
    name: str
    description: str | None = None


class TaxonomyExtension(Strict):
    categories: dict[CategoryKey, CategoryExtension] = Field(default_factory=dict)
    subjects: dict[str, SubjectExtension] = Field(default_factory=dict)


class IdentityType(Strict):
    """A kind of identity a request can name a person by, e.g. ``email`` or ``customer_no``."""

    name: str | None = None
    format: Literal["email", "phone", "text", "integer", "national_id"] = "text"
    category: CategoryKey | None = None


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
    return str(_to_duration(value))


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

    @model_validator(mode="after")
    def _default_is_published(self) -> Documents:
        if self.language not in self.languages:
            raise PydanticCustomError(
                "language", "the default language '{language}' is not among 'languages'", {"language": self.language}
            )
        return self


# --------------------------------------------------------------------------- the map


class DataMap(Strict):
    """The whole ``datavow.yaml``."""

    version: Literal[1] = 1
    include: list[str] = Field(default_factory=list)
    organization: Organization
    taxonomy: TaxonomyExtension = Field(default_factory=TaxonomyExtension)
    identities: dict[str, IdentityType] = Field(default_factory=dict)
    recipients: dict[str, Recipient] = Field(default_factory=dict)
    subjects: dict[str, SubjectEntry] = Field(default_factory=dict)
    purposes: dict[str, Purpose] = Field(default_factory=dict)
    measures: dict[str, Measure] = Field(default_factory=dict)
    systems: dict[str, System] = Field(default_factory=dict)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    communication: Communication = Field(default_factory=Communication)
    cookies: Cookies | None = None
    documents: Documents = Field(default_factory=Documents)
    incidents: IncidentSettings = Field(default_factory=IncidentSettings)

    @field_validator("recipients", "subjects", "purposes", "measures", "systems", "identities")
    @classmethod
    def _valid_keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            if not NAME_PATTERN.match(key):
                raise PydanticCustomError(
                    "name",
                    "'{key}' is not a valid key — use letters, digits, '_' and '-', starting with a letter",
                    {"key": key},
                )
        return value
