"""Who is involved: the organisation, the recipients of data and the categories of people."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    Field,
    field_validator,
)
from pydantic_core import PydanticCustomError

from datavow.datamap.model.base import Country, Strict

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
