"""The whole map: every section of ``datavow.yaml`` in one model."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    Field,
    field_validator,
)
from pydantic_core import PydanticCustomError

from datavow.datamap.model.base import NAME_PATTERN, Strict
from datavow.datamap.model.extensions import IdentityType, TaxonomyExtension
from datavow.datamap.model.parties import Organization, Recipient, SubjectEntry
from datavow.datamap.model.purposes import Measure, Purpose
from datavow.datamap.model.settings import Communication, Cookies, Documents, IncidentSettings, RetentionSettings
from datavow.datamap.model.systems import System


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
