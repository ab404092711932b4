"""Lint rules about purposes: what each covers, its legal basis, its retention, the special
categories it processes. Importing this module registers them."""

from __future__ import annotations

from collections.abc import Iterator

from datavow.datamap import LoadedMap, TableRef
from datavow.datamap.model import LegalBasis, Purpose, SpecialCondition
from datavow.lint import ERROR, INFO, WARNING, Hit, field_path, rule


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def purposes_of(loaded: LoadedMap, ref: TableRef) -> dict[str, Purpose]:
    """The purposes a table's data is processed for: those it lists, else those of its subject."""
    purposes = loaded.model.purposes
    if ref.table.purposes:
        return {key: purposes[key] for key in ref.table.purposes if key in purposes}
    if ref.table.subject is not None:
        return {key: p for key, p in purposes.items() if ref.table.subject in p.subjects}
    return {}


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
                    field_path(ref, name),
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
                        field_path(ref, name),
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
