"""What a map adds to the taxonomy: data categories, subject categories and identity types."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
)

from datavow.datamap.model.base import CategoryKey, DurationField, Strict


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
