"""The lint rules, one function each. Importing this module registers them."""

from __future__ import annotations

import re
from collections.abc import Iterator

from datavow.datamap import LoadedMap, TableRef
from datavow.datamap.model import LegalBasis, Purpose, RecipientKind, Role, Safeguard, SpecialCondition, TableErasure
from datavow.datamap.source import PathKey
from datavow.findings import Severity
from datavow.lint import Hit, rule
from datavow.taxonomy.countries import COUNTRY_NAMES, needs_transfer_safeguard

ERROR, WARNING, INFO = Severity.error, Severity.warning, Severity.info


def purposes_of(loaded: LoadedMap, ref: TableRef) -> dict[str, Purpose]:
    """The purposes a table's data is processed for: those it lists, else those of its subject."""
    purposes = loaded.model.purposes
    if ref.table.purposes:
        return {key: purposes[key] for key in ref.table.purposes if key in purposes}
    if ref.table.subject is not None:
        return {key: p for key, p in purposes.items() if ref.table.subject in p.subjects}
    return {}


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _field_path(ref: TableRef, field: str) -> PathKey:
    return ref.path + ("fields", field)


@rule(
    "field-without-purpose",
    ERROR,
    "Art. 5(1)(b)",
    "A personal field that no purpose covers",
    "list the field's category under a purpose the table is processed for, or drop the field",
)
def field_without_purpose(loaded: LoadedMap) -> Iterator[Hit]:
    taxonomy = loaded.taxonomy
    for ref in loaded.tables():
        purposes = purposes_of(loaded, ref)
        for name, field in ref.table.personal_fields().items():
            for category in field.category:
                covered = any(taxonomy.covers(c, category) for p in purposes.values() for c in p.categories)
                if covered:
                    continue
                if purposes:
                    why = f"which none of its purposes ({', '.join(sorted(purposes))}) covers"
                else:
                    why = "but the table is processed for no purpose (it lists none and has no subject)"
                yield Hit(
                    _field_path(ref, name),
                    f"{ref.label}.{name} holds '{category}', {why}",
                    target=f"{ref.label}.{name}",
                )


@rule(
    "purpose-without-retention",
    ERROR,
    "Art. 5(1)(e), 13(2)(a)",
    "A purpose without a retention period or criterion",
    "add 'retention: 24 months' (or a criterion in words) to the purpose",
)
def purpose_without_retention(loaded: LoadedMap) -> Iterator[Hit]:
    ruled = {p for ref in loaded.tables() if ref.table.retention or ref.table.hold for p in purposes_of(loaded, ref)}
    for key, purpose in loaded.model.purposes.items():
        if purpose.retention is None and key not in ruled:
            yield Hit(("purposes", key), f"purpose '{key}' says nothing about how long its data is kept", target=key)


@rule(
    "automated-decision-without-ground",
    ERROR,
    "Art. 22(2), 22(4)",
    "An automated decision on a ground Art. 22(2) does not allow",
    "base the purpose on the contract, a law (basis legal_obligation or public_task, naming it) or explicit "
    "consent; with special categories, only explicit consent or a substantial public interest",
)
def automated_decision_without_ground(loaded: LoadedMap) -> Iterator[Hit]:
    allowed = (LegalBasis.contract, LegalBasis.consent, LegalBasis.legal_obligation, LegalBasis.public_task)
    for key, purpose in loaded.model.purposes.items():
        if purpose.automated_decision is None:
            continue
        where = ("purposes", key, "automated_decision")
        if purpose.basis not in allowed:
            yield Hit(
                where,
                f"purpose '{key}' takes decisions by automated means alone on {purpose.basis.value}: Art. 22(2) "
                "allows them only when necessary for a contract, authorised by law, or with explicit consent",
                target=key,
            )
        elif purpose.special_condition is not None and purpose.special_condition not in (
            SpecialCondition.explicit_consent,
            SpecialCondition.substantial_public_interest,
        ):
            yield Hit(
                where,
                f"purpose '{key}' takes automated decisions on special categories under "
                f"{purpose.special_condition.value}: Art. 22(4) allows only explicit consent or a substantial "
                "public interest",
                target=key,
            )


@rule(
    "retention-not-enforced",
    WARNING,
    "Art. 5(1)(e)",
    "A retention the map states but no table enforces",
    "add 'retention:' (or a 'hold:') to the tables processed for this purpose, so datavow enforces it",
)
def retention_not_enforced(loaded: LoadedMap) -> Iterator[Hit]:
    enforced = {p for ref in loaded.tables() if ref.table.retention or ref.table.hold for p in purposes_of(loaded, ref)}
    used = {p for ref in loaded.tables() for p in purposes_of(loaded, ref)}
    for key, purpose in loaded.model.purposes.items():
        if purpose.retention is not None and key in used and key not in enforced:
            retention = purpose.retention
            said = str(retention.period) if retention.period else f"'{_shorten(retention.criterion or '')}'"
            yield Hit(
                ("purposes", key, "retention"),
                f"purpose '{key}' promises {said}, but none of its tables "
                "has a retention rule, so nothing deletes its data",
                target=key,
            )


@rule(
    "legitimate-interest-unstated",
    ERROR,
    "Art. 6(1)(f)",
    "Legitimate interest as the basis, with no interest stated",
    "add 'interest:' saying which interest is pursued, e.g. 'Keeping the platform secure'",
)
def legitimate_interest_unstated(loaded: LoadedMap) -> Iterator[Hit]:
    for key, purpose in loaded.model.purposes.items():
        if purpose.basis is LegalBasis.legitimate_interest and not (purpose.interest or "").strip():
            yield Hit(
                ("purposes", key, "basis"),
                f"purpose '{key}' relies on legitimate interest but states no interest",
                target=key,
            )


@rule(
    "legal-obligation-without-law",
    WARNING,
    "Art. 6(3)",
    "A legal obligation or public task without the law behind it",
    "add 'law:' naming the law, e.g. 'Belgian accounting law (Art. III.86 WER): 7 years'",
)
def legal_obligation_without_law(loaded: LoadedMap) -> Iterator[Hit]:
    for key, purpose in loaded.model.purposes.items():
        if purpose.basis in (LegalBasis.legal_obligation, LegalBasis.public_task) and not (purpose.law or "").strip():
            yield Hit(
                ("purposes", key, "basis"),
                f"purpose '{key}' relies on {purpose.basis.value} but names no law",
                target=key,
            )


@rule(
    "special-category-without-condition",
    ERROR,
    "Art. 9(1), 9(2)",
    "A special category without an Art. 9 condition",
    "add 'special_condition:' (e.g. explicit_consent) to the purpose that processes it",
)
def special_category_without_condition(loaded: LoadedMap) -> Iterator[Hit]:
    taxonomy = loaded.taxonomy
    for key, purpose in loaded.model.purposes.items():
        if purpose.special_condition is None:
            for i, category in enumerate(purpose.categories):
                if taxonomy.special_article(category) == "art9":
                    yield Hit(
                        ("purposes", key, "categories", i),
                        f"purpose '{key}' processes '{category}', a special category, without an Art. 9(2) condition",
                        target=key,
                    )
    for ref in loaded.tables():
        conditioned = any(p.special_condition is not None for p in purposes_of(loaded, ref).values())
        for name, field in ref.table.personal_fields().items():
            for category in field.category:
                if taxonomy.special_article(category) == "art9" and not conditioned:
                    yield Hit(
                        _field_path(ref, name),
                        f"{ref.label}.{name} holds '{category}', a special category, "
                        "but none of its purposes states an Art. 9(2) condition",
                        target=f"{ref.label}.{name}",
                    )


@rule(
    "criminal-data-without-law",
    ERROR,
    "Art. 10",
    "Criminal convictions data without the law that authorises it",
    "add 'law:' to the purpose naming the Union or Member State law that authorises the processing",
)
def criminal_data_without_law(loaded: LoadedMap) -> Iterator[Hit]:
    for key, purpose in loaded.model.purposes.items():
        if not (purpose.law or "").strip():
            for i, category in enumerate(purpose.categories):
                if loaded.taxonomy.special_article(category) == "art10":
                    yield Hit(
                        ("purposes", key, "categories", i),
                        f"purpose '{key}' processes '{category}' "
                        "(criminal convictions or offences) without naming the law that allows it",
                        target=key,
                    )


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
    "field-without-erasure",
    ERROR,
    "Art. 17(1)",
    "A personal field with no erasure strategy on a table that has a subject",
    "add 'erase:' to the field (nullify, hash, pseudonymize, fixed, keep) or 'erase: delete' to the table",
)
def field_without_erasure(loaded: LoadedMap) -> Iterator[Hit]:
    for ref in loaded.tables():
        if ref.table.subject is None or ref.table.erase is TableErasure.delete:
            continue
        for name, field in ref.table.personal_fields().items():
            if field.erase is None:
                yield Hit(
                    _field_path(ref, name),
                    f"{ref.label}.{name} holds personal data but says nothing about how it is erased",
                    target=f"{ref.label}.{name}",
                )


@rule(
    "personal-table-without-subject",
    WARNING,
    "Art. 15, 17",
    "A table with personal fields, no subject and no route to one",
    "set 'subject:' on the table, or add 'references:' to a table that has one",
)
def personal_table_without_subject(loaded: LoadedMap) -> Iterator[Hit]:
    for ref in loaded.tables():
        if ref.table.subject is None and ref.table.personal_fields() and not ref.table.references:
            yield Hit(
                ref.path, f"{ref.label} holds personal data, but requests cannot find whose it is", target=ref.label
            )


def tables_reached_by_identity(loaded: LoadedMap) -> set[tuple[str, str]]:
    """Tables joined, by references in either direction, to a table with an identity: a table
    outside this set can never be reached by a request (the planner's own walk is stricter)."""
    links: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for ref in loaded.tables():
        here = (ref.system_name, ref.table_name)
        for reference in ref.table.references.values():
            there = ref.target(reference)
            links.setdefault(here, set()).add(there)
            links.setdefault(there, set()).add(here)
    reached = {(ref.system_name, ref.table_name) for ref in loaded.tables() if ref.table.identity}
    frontier = list(reached)
    while frontier:
        for neighbour in links.get(frontier.pop(), ()):
            if neighbour not in reached:
                reached.add(neighbour)
                frontier.append(neighbour)
    return reached


@rule(
    "subject-table-without-identity",
    WARNING,
    "Art. 12(2), 15",
    "A table with a subject that no identity or reference reaches",
    "add 'identity:' (e.g. {email: email}), or 'references:' joining it to a table that has one",
)
def subject_table_without_identity(loaded: LoadedMap) -> Iterator[Hit]:
    reached = tables_reached_by_identity(loaded)
    for ref in loaded.tables():
        if ref.table.subject is not None and (ref.system_name, ref.table_name) not in reached:
            yield Hit(
                ref.path,
                f"{ref.label} holds data about '{ref.table.subject}', but no identity or reference "
                "leads a request to it",
                target=ref.label,
            )


@rule(
    "purpose-without-subjects",
    WARNING,
    "Art. 30(1)(c)",
    "A purpose that names no category of data subjects",
    "add 'subjects:' listing whose data the purpose processes",
)
def purpose_without_subjects(loaded: LoadedMap) -> Iterator[Hit]:
    for key, purpose in loaded.model.purposes.items():
        if not purpose.subjects:
            yield Hit(("purposes", key), f"purpose '{key}' names no data subjects", target=key)


@rule(
    "purpose-without-categories",
    WARNING,
    "Art. 30(1)(c)",
    "A purpose that names no data categories",
    "add 'categories:' listing the data the purpose processes",
)
def purpose_without_categories(loaded: LoadedMap) -> Iterator[Hit]:
    for key, purpose in loaded.model.purposes.items():
        if not purpose.categories:
            yield Hit(("purposes", key), f"purpose '{key}' names no data categories", target=key)


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


_INLINE_PASSWORD = re.compile(r"^[a-z][a-z0-9+]*://[^/:@\s]+:([^@\s]+)@")


@rule(
    "inline-credentials",
    ERROR,
    "Art. 32(1)",
    "A database password written in the data map",
    "read it from the environment: 'url: ${SHOP_DATABASE_URL}'",
)
def inline_credentials(loaded: LoadedMap) -> Iterator[Hit]:
    for name, system in loaded.model.systems.items():
        match = _INLINE_PASSWORD.match(system.url)
        if match and "${" not in match.group(1):
            yield Hit(("systems", name, "url"), f"system '{name}' has its password inline in the map", target=name)


@rule(
    "unused-purpose",
    INFO,
    "Art. 5(1)(b)",
    "A purpose no table is processed for",
    "list it under a table's 'purposes:', or remove it if nothing is processed for it",
)
def unused_purpose(loaded: LoadedMap) -> Iterator[Hit]:
    used = {key for ref in loaded.tables() for key in purposes_of(loaded, ref)}
    if not loaded.model.systems:
        return
    for key in loaded.model.purposes:
        if key not in used:
            yield Hit(
                ("purposes", key), f"purpose '{key}' is declared, but no table's data is processed for it", target=key
            )


from datavow.lint import identities, ownership  # noqa: E402,F401 - registers the rules of these modules too
