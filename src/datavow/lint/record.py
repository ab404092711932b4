"""Lint rules for what the record of processing (Art. 30) and the privacy statement need from the map.

Each rule names a gap that would otherwise leave a field of the record empty, or a topic of the
statement unsaid: the documents never fill a gap with words of their own, so lint is where it shows.
Importing this module registers the rules.

Some gaps matter only to a map that publishes its documents: those rules fire when the map has a
``documents:`` section, so a map used only to run requests is not asked for a statement's date.
"""

from __future__ import annotations

from collections.abc import Iterator

from datavow.datamap import LoadedMap
from datavow.datamap.model import LegalBasis, Role
from datavow.lint import ERROR, INFO, WARNING, Hit, rule


def publishes_documents(loaded: LoadedMap) -> bool:
    """True when the map declares ``documents:``: its statement and record are written from it."""
    return "documents" in loaded.model.model_fields_set


@rule(
    "system-without-location",
    WARNING,
    "Art. 13(1)(f), 30(1)(e)",
    "A system holding personal data without a location",
    "add 'location: {country: NL, provider: azure}' so transfers can be assessed and stated",
)
def system_without_location(loaded: LoadedMap) -> Iterator[Hit]:
    if not publishes_documents(loaded):
        return
    for name, system in loaded.model.systems.items():
        personal = any(table.personal_fields() for table in system.tables.values())
        if personal and system.location is None:
            yield Hit(
                ("systems", name),
                f"system '{name}' holds personal data but the map does not say where it is hosted",
                target=name,
            )


@rule(
    "measures-missing",
    WARNING,
    "Art. 30(1)(g), 32",
    "No security measures, for the map or for a system",
    "declare 'measures:' and list them under each system's 'measures:'",
)
def measures_missing(loaded: LoadedMap) -> Iterator[Hit]:
    if not publishes_documents(loaded):
        return
    if not loaded.model.measures:
        yield Hit(("organization",), "the map declares no security measures", target="measures")
        return
    for name, system in loaded.model.systems.items():
        if not system.measures:
            yield Hit(("systems", name), f"system '{name}' lists no security measures", target=name)


@rule(
    "dpo-undeclared",
    INFO,
    "Art. 30(1)(a), 37",
    "No data protection officer in the map",
    "add 'organization.dpo:' when one is designated (Art. 37 says when one must be)",
)
def dpo_undeclared(loaded: LoadedMap) -> Iterator[Hit]:
    if not publishes_documents(loaded):
        return
    if loaded.model.organization.dpo is None:
        yield Hit(("organization",), "the map names no data protection officer", target="organization")


@rule(
    "controller-served-without-contact",
    WARNING,
    "Art. 30(2)(a)",
    "A controller served as processor without contact details",
    "add 'contact:' to the controller under 'organization.controllers'",
)
def controller_served_without_contact(loaded: LoadedMap) -> Iterator[Hit]:
    for key, controller in loaded.model.organization.controllers.items():
        contact = controller.contact
        if contact is None or not any((contact.email, contact.phone, contact.address, contact.url)):
            yield Hit(
                ("organization", "controllers", key),
                f"controller '{key}' has no contact details for the processor's record",
                target=key,
            )


@rule(
    "processor-without-processing",
    WARNING,
    "Art. 30(2)(b)",
    "A processor role without any processing done as processor",
    "mark the purposes carried out for controllers with 'role: processor'",
)
def processor_without_processing(loaded: LoadedMap) -> Iterator[Hit]:
    model = loaded.model
    if Role.processor in model.organization.roles and not any(
        p.role is Role.processor for p in model.purposes.values()
    ):
        yield Hit(
            ("organization", "roles"),
            "the organisation acts as processor, but no purpose has 'role: processor'",
            target="organization",
        )


@rule(
    "cookie-without-consent",
    ERROR,
    "Art. 5(3) ePrivacy Directive",
    "A cookie that is neither strictly necessary nor placed with consent",
    "base its purpose on consent, or give the purpose an 'essential' fideslang use if the website needs it",
)
def cookie_without_consent(loaded: LoadedMap) -> Iterator[Hit]:
    cookies = loaded.model.cookies
    for key, cookie in cookies.placed.items() if cookies is not None else ():
        purpose = loaded.model.purposes.get(cookie.purpose)
        if purpose is None or purpose.basis is LegalBasis.consent or (purpose.use or "").startswith("essential"):
            continue
        yield Hit(
            ("cookies", "placed", key, "purpose"),
            f"cookie '{cookie.name}' serves '{cookie.purpose}', which relies on {purpose.basis.value}: only a "
            "strictly necessary cookie may be placed without consent",
            target=key,
        )


@rule(
    "cookies-undeclared",
    INFO,
    "Art. 13(1)(c)",
    "The map says nothing about cookies",
    "add 'cookies:' listing what the website places, or 'cookies: {}' when it places none",
)
def cookies_undeclared(loaded: LoadedMap) -> Iterator[Hit]:
    if not publishes_documents(loaded):
        return
    if loaded.model.cookies is None:
        yield Hit(
            ("organization",),
            "the map declares no cookies, so the privacy statement says nothing about them",
            target="cookies",
        )


@rule(
    "statement-undated",
    WARNING,
    "Art. 12(1)",
    "The privacy statement has no date, address or review period",
    "add 'documents.statement: {updated: 2026-02-16, url: ..., review: 1 year}'",
)
def statement_undated(loaded: LoadedMap) -> Iterator[Hit]:
    if not publishes_documents(loaded):
        return
    settings = loaded.model.documents.statement
    if settings.updated is None and settings.url is None and settings.review is None:
        yield Hit(
            ("organization",),
            "the map gives the privacy statement no date, no address and no review period, "
            "so the statement cannot tell people which version they read or where changes appear",
            target="documents",
        )
