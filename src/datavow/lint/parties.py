"""Lint rules about the organisation and the recipients of data: contacts, representatives,
the authority, processors' agreements and transfers outside the EEA. Importing this module
registers them."""

from __future__ import annotations

from collections.abc import Iterator

from datavow.datamap import LoadedMap
from datavow.datamap.model import RecipientKind, Role, Safeguard
from datavow.lint import ERROR, WARNING, Hit, rule
from datavow.taxonomy.countries import COUNTRY_NAMES, needs_transfer_safeguard


def _transfer_problem(country: str, safeguard: Safeguard | None) -> str | None:
    name = COUNTRY_NAMES.get(country, country)
    if not needs_transfer_safeguard(country):
        return None
    if safeguard is None:
        return f"data goes to {name} ({country}), outside the EEA and without an adequacy decision, with no safeguard"
    if safeguard is Safeguard.adequacy:
        return f"'adequacy' is declared, but {name} ({country}) has no adequacy decision"
    if safeguard is Safeguard.dpf and country != "US":
        return f"the Data Privacy Framework covers US organisations only, not {name} ({country})"
    return None


@rule(
    "transfer-without-safeguard",
    ERROR,
    "Art. 44–49",
    "A transfer outside the EEA without adequacy or a safeguard",
    "declare 'safeguard:' (scc, bcr, dpf for certified US organisations, …) or keep the data in the EEA",
)
def transfer_without_safeguard(loaded: LoadedMap) -> Iterator[Hit]:
    recipients = loaded.model.recipients
    for key, recipient in recipients.items():
        if recipient.country is not None:
            problem = _transfer_problem(recipient.country, recipient.safeguard)
            if problem:
                yield Hit(("recipients", key, "country"), f"recipient '{key}': {problem}", target=key)
    for name, system in loaded.model.systems.items():
        location = system.location
        if location is not None:
            provider = recipients.get(location.provider) if location.provider else None
            problem = _transfer_problem(location.country, provider.safeguard if provider else None)
            if problem:
                yield Hit(
                    ("systems", name, "location", "country"),
                    f"system '{name}' is hosted abroad: {problem}",
                    "name the hosting recipient under 'provider:' with its safeguard, or host in the EEA",
                    target=name,
                )


@rule(
    "derogation-unnamed",
    WARNING,
    "Art. 49(1)",
    "A transfer on a derogation that does not say which one",
    "add 'derogation:' naming the Art. 49(1) ground, e.g. 'explicit consent (a)'",
)
def derogation_unnamed(loaded: LoadedMap) -> Iterator[Hit]:
    for key, recipient in loaded.model.recipients.items():
        if recipient.safeguard is Safeguard.derogation and not (recipient.derogation or "").strip():
            yield Hit(
                ("recipients", key, "safeguard"),
                f"recipient '{key}' relies on a derogation without naming it",
                target=key,
            )


@rule(
    "processor-without-controllers",
    ERROR,
    "Art. 28(3), 30(2)(a)",
    "A processor role without the controllers it serves",
    "list them under 'organization.controllers', or declare a system's 'tenant:' table whose rows are the controllers",
)
def processor_without_controllers(loaded: LoadedMap) -> Iterator[Hit]:
    organization = loaded.model.organization
    if Role.processor in organization.roles:
        tenants = any(system.tenant is not None for system in loaded.model.systems.values())
        if not organization.controllers and not tenants:
            yield Hit(
                ("organization", "roles"),
                "the organisation acts as processor but the map names no controller it processes for",
                target="organization",
            )


@rule(
    "controller-contact-missing",
    ERROR,
    "Art. 13(1)(a), 14(1)(a)",
    "No way to contact the controller",
    "give 'organization.contact' an email, phone, address or url",
)
def controller_contact_missing(loaded: LoadedMap) -> Iterator[Hit]:
    contact = loaded.model.organization.contact
    if not any((contact.email, contact.phone, contact.address, contact.url)):
        yield Hit(
            ("organization", "contact"),
            "the organisation's contact gives no e-mail, phone, address or web "
            "address, so people cannot reach it about their data",
            target="organization",
        )


@rule(
    "recipient-without-country",
    ERROR,
    "Art. 13(1)(f), 30(1)(e)",
    "A recipient without a country",
    "add 'country:' with the recipient's ISO country code, so transfers can be assessed",
)
def recipient_without_country(loaded: LoadedMap) -> Iterator[Hit]:
    for key, recipient in loaded.model.recipients.items():
        if recipient.country is None:
            yield Hit(("recipients", key), f"recipient '{key}' has no country", target=key)


@rule(
    "processor-without-agreement",
    WARNING,
    "Art. 28(3)",
    "A processor recipient without a recorded agreement",
    "add 'agreement:' naming the data processing agreement (and its date)",
)
def processor_without_agreement(loaded: LoadedMap) -> Iterator[Hit]:
    for key, recipient in loaded.model.recipients.items():
        if recipient.kind in (RecipientKind.processor, RecipientKind.sub_processor) and not recipient.agreement:
            yield Hit(
                ("recipients", key, "kind"), f"processor '{key}' has no data processing agreement on record", target=key
            )


@rule(
    "representative-missing",
    WARNING,
    "Art. 27",
    "An organisation outside the EEA without a representative in the Union",
    "add 'organization.representative:' with name, contact and country",
)
def representative_missing(loaded: LoadedMap) -> Iterator[Hit]:
    organization = loaded.model.organization
    if needs_transfer_safeguard(organization.country) and organization.representative is None:
        yield Hit(
            ("organization", "country"),
            "the organisation is established outside the EEA and names no representative in the Union",
            target="organization",
        )


@rule(
    "authority-missing",
    WARNING,
    "Art. 13(2)(d), 77",
    "No supervisory authority for people to complain to",
    "add 'organization.supervisory_authority:' with its name and address",
)
def authority_missing(loaded: LoadedMap) -> Iterator[Hit]:
    if loaded.model.organization.supervisory_authority is None:
        yield Hit(
            ("organization",),
            "the map names no supervisory authority, so notices cannot tell people where to complain",
            target="organization",
        )
