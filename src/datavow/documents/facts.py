"""What the privacy statement says, as facts drawn from the data map.

:func:`statement_facts` decides *what* is said: one :class:`Fact` per sentence or short paragraph,
each carrying the map paths it is drawn from, so a reviewer can check every one. *How* a fact is
worded is the templates' business (:mod:`datavow.documents.wording`): nothing here is English.

The rule throughout: a fact is stated only when the map supports it. Where the map is silent (no
contact channel, no location for a system, no cookies section) the fact is left out, never guessed;
lint names the gap (:mod:`datavow.lint.record`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from datavow.datamap import LoadedMap
from datavow.datamap.model import Contact, Duration, LegalBasis, Purpose, Role
from datavow.documents.disclosure import contact_lines, recipient_info
from datavow.taxonomy.countries import COUNTRY_NAMES, EEA, needs_transfer_safeguard

# The statement's topics, in the order they appear: those the three seed statements cover.
TOPICS = (
    "who",
    "processor",
    "subjects",
    "data",
    "purposes",
    "legal_bases",
    "retention",
    "recipients",
    "transfers",
    "security",
    "breaches",
    "rights",
    "complaints",
    "cookies",
    "changes",
)

# A measure with this DPV term is the breach procedure the statement describes.
BREACH_PROCEDURE = "IncidentManagementProcedures"
_OBJECTION = (LegalBasis.legitimate_interest, LegalBasis.public_task)
_PORTABILITY = (LegalBasis.consent, LegalBasis.contract)


@dataclass(frozen=True)
class Fact:
    """One thing the statement says: the template macro that words it, its values, and where in
    the map it comes from (dotted paths such as ``purposes.support.retention``)."""

    kind: str
    sources: tuple[str, ...]
    data: Mapping[str, Any] = field(default_factory=dict)
    item: bool = False  # one item of a list, rather than a paragraph


@dataclass(frozen=True)
class Section:
    topic: str
    facts: tuple[Fact, ...]


def statement_facts(loaded: LoadedMap) -> tuple[Section, ...]:
    """The statement's sections, each with the facts the map supports; empty sections left out."""
    reader = _Reader(loaded)
    sections = (Section(topic, tuple(getattr(reader, topic)())) for topic in TOPICS)
    return tuple(section for section in sections if section.facts)


def period(duration: Duration | None) -> dict[str, Any] | None:
    """A period as the templates word it: amount and unit, translated there."""
    return {"amount": duration.amount, "unit": duration.unit} if duration is not None else None


def country(code: str | None) -> dict[str, str] | None:
    return {"code": code, "name": COUNTRY_NAMES.get(code, code)} if code else None


def day(value: date) -> dict[str, int]:
    return {"year": value.year, "month": value.month, "day": value.day}


def channels(contact: Contact | None, prefix: str) -> tuple[dict[str, str], tuple[str, ...]]:
    """The ways to reach a contact (name left out) and their map paths."""
    lines = {key: value for key, value in contact_lines(contact) if key != "name"} if contact else {}
    return lines, tuple(f"{prefix}.{key}" for key in lines)


class _Reader:
    """One method per topic, each yielding the facts of its section."""

    def __init__(self, loaded: LoadedMap) -> None:
        self.loaded = loaded
        self.model = loaded.model
        self.organization = loaded.model.organization
        self.roles = set(self.organization.roles)

    # -- shared readings

    def by_role(self, role: Role | None = Role.controller) -> dict[str, Purpose]:
        return {k: p for k, p in self.model.purposes.items() if role is None or p.role is role}

    def category(self, key: str) -> dict[str, Any]:
        found = self.loaded.taxonomy.categories.get(key)
        return {"key": key, "name": found.name if found else key, "special": self.loaded.taxonomy.special_article(key)}

    def names(self, keys: Iterable[str]) -> list[str]:
        return [self.model.purposes[key].name for key in keys]

    def personal_systems(self) -> dict[str, Any]:
        return {
            name: system
            for name, system in self.model.systems.items()
            if any(table.personal_fields() for table in system.tables.values())
        }

    def breach_measures(self) -> dict[str, Any]:
        return {k: m for k, m in self.model.measures.items() if m.dpv == BREACH_PROCEDURE}

    # -- the topics

    def who(self) -> Iterator[Fact]:
        org = self.organization
        identity = {"name": org.name, "legal_name": org.legal_name, "registration": org.registration}
        sources = ["organization.name", "organization.country"]
        sources += [f"organization.{key}" for key in ("legal_name", "registration") if getattr(org, key)]
        yield Fact("identity", tuple(sources), {**identity, "country": country(org.country)})
        lines, paths = channels(org.contact, "organization.contact")
        if lines:
            yield Fact("contact", paths, {"lines": lines})
        if org.dpo is not None:
            lines, paths = channels(org.dpo, "organization.dpo")
            yield Fact("dpo", ("organization.dpo", *paths), {"name": org.dpo.name, "lines": lines})
        if org.representative is not None:
            rep = org.representative
            lines, paths = channels(rep, "organization.representative")
            data = {"name": rep.name, "lines": lines, "country": country(rep.country)}
            yield Fact("representative", ("organization.representative", *paths), data)
        roles = {"controller": Role.controller in self.roles, "processor": Role.processor in self.roles}
        yield Fact("roles", ("organization.roles",), roles)

    def processor(self) -> Iterator[Fact]:
        if Role.processor not in self.roles:
            return
        yield Fact("processor_intro", ("organization.roles",))
        for key, controller in self.organization.controllers.items():
            data: dict[str, Any] = {"name": controller.name, "description": controller.description}
            yield Fact("processor_controller", (f"organization.controllers.{key}",), data, item=True)
        if not self.organization.controllers:
            for name, system in self.model.systems.items():
                if system.tenant is not None:
                    yield Fact("processor_tenants", (f"systems.{name}.tenant",), {"system": system.name or name}, True)
        processing = self.by_role(Role.processor)
        if processing:
            yield Fact("processor_purposes_intro", tuple(f"purposes.{key}.role" for key in processing))
        for key, purpose in processing.items():
            data = {
                "name": purpose.name,
                "description": purpose.description,
                "categories": [self.category(c) for c in purpose.categories],
            }
            yield Fact("processor_purpose", (f"purposes.{key}.name", f"purposes.{key}.categories"), data, item=True)

    def subjects(self) -> Iterator[Fact]:
        if not self.model.subjects:
            return
        yield Fact("subjects_intro", ("subjects",))
        for key, subject in self.model.subjects.items():
            data = {"name": subject.name, "description": subject.description}
            yield Fact("subject", (f"subjects.{key}",), data, item=True)

    def data(self) -> Iterator[Fact]:
        rows = []
        for key, subject in self.model.subjects.items():
            purposes = {k: p for k, p in self.model.purposes.items() if key in p.subjects}
            categories = list(dict.fromkeys(c for p in purposes.values() for c in p.categories))
            if categories:
                sources = (f"subjects.{key}.name", *(f"purposes.{k}.categories" for k in purposes))
                data = {"subject": subject.name, "categories": [self.category(c) for c in categories]}
                rows.append(Fact("data_subject", sources, data, item=True))
        if not rows:
            return
        yield Fact("data_intro", ("purposes",))
        yield from rows
        special = {
            (k, c): self.category(c)
            for k, p in self.model.purposes.items()
            for c in p.categories
            if self.loaded.taxonomy.special_article(c)
        }
        if special:
            sources = tuple(dict.fromkeys(f"purposes.{k}.categories" for k, _ in special))
            unique = list({str(c["key"]): c for c in special.values()}.values())
            yield Fact("data_special", sources, {"categories": unique})
        else:
            yield Fact("data_no_special", tuple(f"purposes.{k}.categories" for k in self.model.purposes))

    def purposes(self) -> Iterator[Fact]:
        own = self.by_role()
        if not own:
            return
        yield Fact("purposes_intro", ("purposes",))
        for key, purpose in own.items():
            sources = [f"purposes.{key}.name"] + ([f"purposes.{key}.description"] if purpose.description else [])
            yield Fact("purpose", tuple(sources), {"name": purpose.name, "description": purpose.description}, True)
        for key, purpose in own.items():
            if purpose.source:
                yield Fact(
                    "purpose_source", (f"purposes.{key}.source",), {"name": purpose.name, "source": purpose.source}
                )
            decision = purpose.automated_decision
            if decision is not None:
                data = {
                    "name": purpose.name,
                    "logic": decision.logic,
                    "consequences": decision.consequences,
                    "profiling": decision.profiling,
                }
                yield Fact("purpose_automated", (f"purposes.{key}.automated_decision",), data)

    def legal_bases(self) -> Iterator[Fact]:
        own = self.by_role()
        if own:
            yield Fact("bases_intro", ("purposes",))
        for key, p in own.items():
            extra = [name for name in ("interest", "law", "special_condition") if getattr(p, name)]
            data = {
                "name": p.name,
                "basis": p.basis.value,
                "interest": p.interest,
                "law": p.law,
                "special_condition": p.special_condition.value if p.special_condition else None,
            }
            yield Fact("basis", (f"purposes.{key}.basis", *(f"purposes.{key}.{n}" for n in extra)), data, item=True)
        processing = self.by_role(Role.processor)
        if processing:
            yield Fact("basis_processor", ("organization.roles", *(f"purposes.{k}.role" for k in processing)))

    def retention(self) -> Iterator[Fact]:
        kept = {k: p for k, p in self.model.purposes.items() if p.retention is not None}
        if kept:
            yield Fact("retention_intro", tuple(f"purposes.{k}.retention" for k in kept))
        for key, purpose in kept.items():
            rule = purpose.retention
            assert rule is not None  # filtered above
            data = {
                "name": purpose.name,
                "period": period(rule.period),
                "after": rule.after,
                "criterion": rule.criterion,
            }
            yield Fact("retention", (f"purposes.{key}.retention",), data, item=True)
        holds: dict[tuple[str, str], list[str]] = {}
        for ref in self.loaded.tables():
            hold = ref.table.hold
            if hold is not None and hold.purpose in self.model.purposes:
                holds.setdefault((hold.purpose, str(hold.keep)), []).append(f"{'.'.join(map(str, ref.path))}.hold")
        for (purpose_key, keep), paths in holds.items():
            data = {"purpose": self.model.purposes[purpose_key].name, "period": period(Duration.parse(keep))}
            yield Fact("retention_hold", tuple(paths), data)
        if Role.processor in self.roles:
            offboarding = self.model.retention.offboarding
            yield Fact("retention_offboarding", ("retention.offboarding",), {"period": period(offboarding)})

    def recipients(self) -> Iterator[Fact]:
        if not self.model.recipients:
            yield Fact("recipients_none", ("recipients",))
            return
        yield Fact("recipients_intro", ("recipients",))
        for key, recipient in self.model.recipients.items():
            users = [k for k, p in self.model.purposes.items() if key in p.recipients]
            hosts = [n for n, s in self.model.systems.items() if s.location and s.location.provider == key]
            info = recipient_info(key, self.loaded)
            data = {
                "name": recipient.name,
                "kind": recipient.kind.value,
                "country": country(recipient.country),
                "description": recipient.description,
                "agreement": bool(recipient.agreement),
                "purposes": self.names(users),
                "hosting": bool(hosts),
                "transfer": info.transfer,
            }
            sources = (
                f"recipients.{key}",
                *(f"purposes.{k}.recipients" for k in users),
                *(f"systems.{n}.location.provider" for n in hosts),
            )
            yield Fact("recipient", sources, data, item=True)

    def transfers(self) -> Iterator[Fact]:
        recipients = self.model.recipients
        systems = self.personal_systems()
        known = all(r.country for r in recipients.values()) and all(s.location for s in systems.values())
        moves = []
        for key, recipient in recipients.items():
            if recipient.country and needs_transfer_safeguard(recipient.country):
                data = {
                    "name": recipient.name,
                    "country": country(recipient.country),
                    "safeguard": recipient.safeguard.value if recipient.safeguard else None,
                    "derogation": recipient.derogation,
                }
                sources = [f"recipients.{key}.country"]
                sources += [f"recipients.{key}.{k}" for k in ("safeguard", "derogation") if getattr(recipient, k)]
                moves.append(Fact("transfer", tuple(sources), data, item=True))
        if moves:
            yield Fact("transfers_intro", tuple(s for fact in moves for s in fact.sources[:1]))
            yield from moves
        elif known and (recipients or systems):
            places = [r.country for r in recipients.values()] + [s.location.country for s in systems.values()]
            outside = sorted({c for c in places if c and c not in EEA})
            everywhere = ("recipients", *(f"systems.{n}.location" for n in systems))
            yield Fact("transfers_none", everywhere, {"adequate": [country(c) for c in outside]})
        located = {n: s for n, s in systems.items() if s.location is not None}
        if located:
            yield Fact("storage_intro", tuple(f"systems.{n}.location" for n in located))
        for name, system in located.items():
            location = system.location
            assert location is not None  # filtered above
            provider = recipients.get(location.provider) if location.provider else None
            data = {
                "system": system.name or name,
                "country": country(location.country),
                "provider": provider.name if provider else None,
            }
            yield Fact("storage", (f"systems.{name}.location",), data, item=True)

    def security(self) -> Iterator[Fact]:
        if not self.model.measures:
            return
        yield Fact("security_intro", ("measures",))
        for key, measure in self.model.measures.items():
            data = {"name": measure.name, "description": measure.description, "kind": measure.kind.value}
            yield Fact("measure", (f"measures.{key}",), data, item=True)

    def breaches(self) -> Iterator[Fact]:
        for key, measure in self.breach_measures().items():
            yield Fact(
                "breach_procedure", (f"measures.{key}",), {"name": measure.name, "description": measure.description}
            )
            if Role.controller in self.roles:
                yield Fact("breach_controller", ("organization.roles", f"measures.{key}.dpv"))
            if Role.processor in self.roles:
                yield Fact("breach_processor", ("organization.roles", f"measures.{key}.dpv"))

    def rights(self) -> Iterator[Fact]:
        own = self.by_role()
        if own:
            yield Fact("rights_intro", ("purposes",))
            for right in ("right_access", "right_rectification", "right_erasure", "right_restriction"):
                yield Fact(right, ("purposes",), item=True)
        for kind, chosen in (
            ("right_object", {k: p for k, p in own.items() if p.basis in _OBJECTION}),
            ("right_object_marketing", {k: p for k, p in own.items() if (p.use or "").startswith("marketing")}),
            ("right_portability", {k: p for k, p in own.items() if p.basis in _PORTABILITY}),
            ("right_withdraw", {k: p for k, p in own.items() if p.basis is LegalBasis.consent}),
            ("right_automated", {k: p for k, p in own.items() if p.automated_decision is not None}),
        ):
            if chosen:
                field_name = "use" if kind == "right_object_marketing" else "basis"
                if kind == "right_automated":
                    field_name = "automated_decision"
                sources = tuple(f"purposes.{k}.{field_name}" for k in chosen)
                yield Fact(kind, sources, {"purposes": [p.name for p in chosen.values()]}, item=True)
        lines, paths = channels(self.organization.contact, "organization.contact")
        if own and lines:
            yield Fact("rights_how", paths, {"lines": lines})
        if Role.processor in self.roles:
            yield Fact("rights_processor", ("organization.roles",))

    def complaints(self) -> Iterator[Fact]:
        authority = self.organization.supervisory_authority
        if authority is not None:
            data = {
                "name": authority.name,
                "country": country(authority.country),
                "lines": {k: v for k in ("address", "email", "url") if (v := getattr(authority, k))},
            }
            yield Fact("complaint_authority", ("organization.supervisory_authority",), data)
        else:
            yield Fact("complaint_any", ("organization.country",))
        lines, paths = channels(self.organization.contact, "organization.contact")
        if lines:
            yield Fact("complaint_us", paths, {"lines": lines})

    def cookies(self) -> Iterator[Fact]:
        cookies = self.model.cookies
        if cookies is None:
            return
        if not cookies.placed:
            yield Fact("cookies_none", ("cookies",))
            return
        yield Fact("cookies_intro", ("cookies.placed",))
        consented = []
        for key, cookie in cookies.placed.items():
            purpose = self.model.purposes[cookie.purpose]
            provider = self.model.recipients.get(cookie.provider) if cookie.provider else None
            consent = purpose.basis is LegalBasis.consent
            if consent:
                consented.append(f"cookies.placed.{key}")
            data = {
                "name": cookie.name,
                "purpose": purpose.name,
                "duration": "session" if cookie.duration == "session" else period(Duration.parse(cookie.duration)),
                "provider": provider.name if provider else None,
                "description": cookie.description,
                "consent": consent,
                "necessary": (purpose.use or "").startswith("essential"),
            }
            yield Fact("cookie", (f"cookies.placed.{key}", f"purposes.{cookie.purpose}.basis"), data, item=True)
        if consented:
            sources = (*consented, *(["cookies.declaration"] if cookies.declaration else []))
            yield Fact("cookies_consent", sources, {"declaration": cookies.declaration})
        yield Fact("cookies_browser", ("cookies",))

    def changes(self) -> Iterator[Fact]:
        settings = self.model.documents.statement
        if settings.updated is not None:
            yield Fact("changes_updated", ("documents.statement.updated",), {"date": day(settings.updated)})
        if settings.review is not None:
            yield Fact("changes_review", ("documents.statement.review",), {"period": period(settings.review)})
        if settings.url is not None:
            yield Fact("changes_url", ("documents.statement.url",), {"url": settings.url})
