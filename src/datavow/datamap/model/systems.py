"""The databases datavow talks to, where they are, and their tenants."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
)

from datavow.datamap.model.base import Country, Strict, one_or_many
from datavow.datamap.model.tables import Table


class Location(Strict):
    """Where a system's data physically lives."""

    country: Country
    provider: str | None = None  # a recipient key: the hosting processor
    description: str | None = None


class Tenant(Strict):
    """Processor mode: the table whose rows are the controllers (tenants) of this system."""

    table: str
    key: Annotated[list[str], BeforeValidator(one_or_many)] = Field(default_factory=lambda: ["id"])
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
