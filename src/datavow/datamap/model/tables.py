"""Tables: their fields and how each is erased, references, retention rules and legal holds."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)
from pydantic_core import PydanticCustomError

from datavow.datamap.model.base import CategoryKey, Duration, DurationField, Strict, one_or_many

if TYPE_CHECKING:
    from datavow.datamap.model.data_map import DataMap


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

    category: Annotated[list[CategoryKey], BeforeValidator(one_or_many)] = Field(default_factory=list)
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

    columns: Annotated[list[str], BeforeValidator(one_or_many)] = Field(min_length=1)
    to: str
    to_columns: Annotated[list[str], BeforeValidator(one_or_many)] | None = None
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
    identity: dict[str, Annotated[list[str], BeforeValidator(one_or_many), Field(min_length=1)]] = Field(
        default_factory=dict
    )
    primary_key: Annotated[list[str], BeforeValidator(one_or_many)] | None = None
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
