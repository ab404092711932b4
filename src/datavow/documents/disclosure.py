"""What Art. 15(1)–(2) requires an access answer to say, drawn from the data map, and the letter.

:func:`disclose` collects, for the tables where the person was found, the purposes and their
legal bases, the categories of data, the recipients (with the transfer safeguard where a country
needs one), retention, sources, holds and the authority; :func:`render_letter` words it with a
Jinja2 template per language (autoescaped: data values and map texts may contain HTML). The same
:class:`Disclosure` goes into the manifest, so the letter and the machine-readable file agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, Template, TemplateNotFound

from datavow.datamap.load import LoadedMap, TableRef
from datavow.datamap.model import (
    Authority,
    Contact,
    Hold,
    LegalBasis,
    Purpose,
    RetentionCriterion,
    RetentionRule,
)
from datavow.errors import ErrorKind, RequestError
from datavow.lint.rules import purposes_of
from datavow.taxonomy.countries import COUNTRY_NAMES, needs_transfer_safeguard

# Legal bases under which a person may object (Art. 21(1)) and take their data along (Art. 20(1)(a)).
_OBJECTION = frozenset({LegalBasis.legitimate_interest, LegalBasis.public_task})
_PORTABILITY = frozenset({LegalBasis.consent, LegalBasis.contract})


@dataclass(frozen=True)
class Retention:
    period: str | None
    after: str | None
    criterion: str | None


@dataclass(frozen=True)
class TableRule:
    """A table's own retention rule or legal hold, where the person's rows are."""

    table: str
    kind: str  # "retention" or "hold"
    keep: str
    after: str
    purpose: str | None  # the hold's purpose name


@dataclass(frozen=True)
class AutomatedInfo:
    """Decisions by automated means alone (Art. 22), as the map declares them."""

    logic: str
    consequences: str
    profiling: bool


def _automated(purpose: Purpose) -> AutomatedInfo | None:
    decision = purpose.automated_decision
    if decision is None:
        return None
    return AutomatedInfo(decision.logic, decision.consequences, decision.profiling)


@dataclass(frozen=True)
class PurposeInfo:
    key: str
    name: str
    description: str | None
    basis: str
    interest: str | None
    law: str | None
    special_condition: str | None
    role: str
    marketing: bool  # a direct-marketing use: objection is absolute (Art. 21(3))
    retention: Retention | None
    table_rules: tuple[TableRule, ...]  # rules of the tables this purpose covers
    source: str | None
    recipients: tuple[str, ...]
    tables: tuple[str, ...]
    automated: AutomatedInfo | None = None  # Art. 22 decisions, told under Art. 15(1)(h)


@dataclass(frozen=True)
class CategoryInfo:
    key: str
    name: str
    special: str | None  # "art9" or "art10"


@dataclass(frozen=True)
class RecipientInfo:
    key: str
    name: str
    kind: str
    country: str | None
    country_name: str | None
    transfer: bool  # outside the EEA without an adequacy decision: a safeguard is needed (Art. 15(2))
    safeguard: str | None
    derogation: str | None
    description: str | None


@dataclass(frozen=True)
class Disclosure:
    """Everything Art. 15(1)–(2) asks for, about the tables where the person was found."""

    purposes: tuple[PurposeInfo, ...]
    categories: tuple[CategoryInfo, ...]
    recipients: tuple[RecipientInfo, ...]
    holds: tuple[TableRule, ...]

    @property
    def objection(self) -> tuple[PurposeInfo, ...]:
        return tuple(p for p in self.purposes if p.basis in _OBJECTION)

    @property
    def consent(self) -> tuple[PurposeInfo, ...]:
        return tuple(p for p in self.purposes if p.basis == LegalBasis.consent)

    @property
    def portability(self) -> tuple[PurposeInfo, ...]:
        return tuple(p for p in self.purposes if p.basis in _PORTABILITY)

    @property
    def sources(self) -> tuple[PurposeInfo, ...]:
        return tuple(p for p in self.purposes if p.source)


def disclose(loaded: LoadedMap, found: Sequence[TableRef]) -> Disclosure:
    """The Art. 15 disclosure for the tables in ``found`` (where the person has rows)."""
    return loaded.derived(("disclosure", *(ref.path for ref in found)), lambda: _disclose(loaded, found))


def _disclose(loaded: LoadedMap, found: Sequence[TableRef]) -> Disclosure:
    purposes: dict[str, tuple[Purpose, list[TableRef]]] = {}
    for ref in found:
        for key, purpose in _purposes_of(loaded, ref).items():
            purposes.setdefault(key, (purpose, []))[1].append(ref)
    recipient_keys = [key for purpose, _ in purposes.values() for key in purpose.recipients]
    # The provider hosting a system receives everything in it.
    recipient_keys += [
        ref.system.location.provider for ref in found if ref.system.location and ref.system.location.provider
    ]
    model = loaded.model
    return Disclosure(
        purposes=tuple(_purpose(loaded, key, purpose, refs) for key, (purpose, refs) in purposes.items()),
        categories=_categories(loaded, found),
        recipients=tuple(
            recipient_info(key, loaded) for key in dict.fromkeys(recipient_keys) if key in model.recipients
        ),
        holds=tuple(_rule(loaded, ref, "hold") for ref in found if ref.table.hold),
    )


def _purposes_of(loaded: LoadedMap, ref: TableRef) -> dict[str, Purpose]:
    """The table's purposes, and the purpose a legal hold keeps its rows for."""
    purposes = purposes_of(loaded, ref)
    hold = ref.table.hold
    if hold is not None and hold.purpose in loaded.model.purposes:
        purposes.setdefault(hold.purpose, loaded.model.purposes[hold.purpose])
    return purposes


def _purpose(loaded: LoadedMap, key: str, purpose: Purpose, refs: Sequence[TableRef]) -> PurposeInfo:
    return PurposeInfo(
        key=key,
        name=purpose.name,
        description=purpose.description,
        basis=purpose.basis.value,
        interest=purpose.interest,
        law=purpose.law,
        special_condition=purpose.special_condition.value if purpose.special_condition else None,
        role=purpose.role.value,
        marketing=(purpose.use or "").startswith("marketing"),
        retention=_retention(purpose.retention),
        table_rules=tuple(_rule(loaded, ref, "retention") for ref in refs if ref.table.retention),
        source=purpose.source,
        recipients=tuple(purpose.recipients),
        tables=tuple(ref.label for ref in refs),
        automated=_automated(purpose),
    )


def _retention(retention: RetentionCriterion | None) -> Retention | None:
    if retention is None:
        return None
    period = str(retention.period) if retention.period else None
    return Retention(period=period, after=retention.after, criterion=retention.criterion)


def _rule(loaded: LoadedMap, ref: TableRef, kind: str) -> TableRule:
    rule: RetentionRule | Hold | None = ref.table.retention if kind == "retention" else ref.table.hold
    assert rule is not None  # callers check
    purposes = loaded.model.purposes
    purpose = None
    if isinstance(rule, Hold):
        purpose = purposes[rule.purpose].name if rule.purpose in purposes else rule.purpose
    after = f"{rule.after.table}.{rule.after.column}" if rule.after.table else rule.after.column
    return TableRule(table=ref.label, kind=kind, keep=str(rule.keep), after=after, purpose=purpose)


def _categories(loaded: LoadedMap, found: Iterable[TableRef]) -> tuple[CategoryInfo, ...]:
    keys = dict.fromkeys(key for ref in found for field in ref.table.fields.values() for key in field.category)
    taxonomy = loaded.taxonomy
    infos = [
        CategoryInfo(
            key=key,
            name=taxonomy.categories[key].name if key in taxonomy.categories else key,
            special=taxonomy.special_article(key),
        )
        for key in keys
    ]
    return tuple(sorted(infos, key=lambda info: (info.name.lower(), info.key)))


def recipient_info(key: str, loaded: LoadedMap) -> RecipientInfo:
    recipient = loaded.model.recipients[key]
    country = recipient.country
    return RecipientInfo(
        key=key,
        name=recipient.name,
        kind=recipient.kind.value,
        country=country,
        country_name=COUNTRY_NAMES.get(country) if country else None,
        transfer=bool(country) and needs_transfer_safeguard(country or ""),
        safeguard=recipient.safeguard.value if recipient.safeguard else None,
        derogation=recipient.derogation,
        description=recipient.description,
    )


# --------------------------------------------------------------------------- the letter


@dataclass(frozen=True)
class LetterFile:
    """A data file in the package, for the letter's table of contents."""

    name: str
    table: str
    format: str
    rows: int


def render_letter(
    loaded: LoadedMap,
    disclosure: Disclosure,
    *,
    language: str,
    request: Mapping[str, Any],
    files: Sequence[LetterFile],
    withheld: Sequence[str],
    tenant: str | None,
) -> str:
    """The HTML letter answering an access request, in ``language``."""
    organization = loaded.model.organization
    template = letter_template(language)
    return template.render(
        organization=organization,
        contact=contact_lines(organization.contact),
        dpo=contact_lines(organization.dpo) if organization.dpo else None,
        authority=_authority_lines(organization.supervisory_authority),
        disclosure=disclosure,
        request=request,
        files=files,
        withheld=withheld,
        tenant=tenant,
    )


def letter_template(language: str) -> Template:
    """The letter's template in ``language``; :class:`RequestError` naming those there are."""
    try:
        return _environment().get_template(f"letter.{language}.html.j2")
    except TemplateNotFound as exc:
        raise RequestError(
            f"there is no access letter in language '{language}' — use one of: {', '.join(letter_languages())}",
            kind=ErrorKind.INVALID,
            field="language",
        ) from exc


def letter_languages() -> list[str]:
    names = _environment().list_templates(filter_func=lambda name: name.startswith("letter."))
    return sorted(name.split(".")[1] for name in names)


def contact_lines(contact: Contact) -> list[tuple[str, str]]:
    return list(_fields(contact, ("name", "address", "email", "phone", "url")))


def _authority_lines(authority: Authority | None) -> dict[str, Any] | None:
    if authority is None:
        return None
    country = COUNTRY_NAMES.get(authority.country) if authority.country else None
    return {"name": authority.name, "country": country, "lines": list(_fields(authority, ("address", "email", "url")))}


def _fields(model: Contact | Authority, names: Iterable[str]) -> Iterable[tuple[str, str]]:
    for name in names:
        value = getattr(model, name)
        if value:
            yield name, value


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("datavow.documents", "templates"),
        autoescape=True,  # every value, from the map or the data, is escaped
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
