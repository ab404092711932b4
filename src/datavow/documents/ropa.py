"""The record of processing activities (Art. 30), drawn from the map.

A controller keeps one record (Art. 30(1)(a–g)) with a row per purpose it decides on; a processor
keeps one per controller it serves (Art. 30(2)(a–d)) with a row per kind of processing. Every field
is either filled from the map, with the paths it comes from, or marked missing with the lint rule
that flags the gap: the record never invents an answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from datavow.datamap import LoadedMap
from datavow.datamap.model import Contact, Purpose, Recipient, RecipientKind, Role
from datavow.documents.facts import channels
from datavow.lint.rules import purposes_of
from datavow.taxonomy.countries import COUNTRY_NAMES, EEA, needs_transfer_safeguard


@dataclass(frozen=True)
class Entry:
    """One field of the record: the Art. 30 point it answers, its values and where they come from;
    or, when the map cannot fill it, the lint rule that says so."""

    point: str  # e.g. "30(1)(f)"
    label: str  # the key of its label in the templates
    values: tuple[str, ...]
    sources: tuple[str, ...]
    missing: str | None = None

    @property
    def filled(self) -> bool:
        return bool(self.values)


@dataclass(frozen=True)
class Activity:
    """A row of the record: one processing activity."""

    key: str
    name: str
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class Record:
    """One record: the controller's, or the processor's for one controller served."""

    kind: str  # "controller" or "processor"
    title: str  # whose record: the organisation, or the controller served
    header: tuple[Entry, ...]  # Art. 30(1)(a) or 30(2)(a)
    activities: tuple[Activity, ...]

    def entries(self) -> Iterator[Entry]:
        yield from self.header
        for activity in self.activities:
            yield from activity.entries


def _contact_text(name: str, contact: Contact | None) -> str:
    lines, _ = channels(contact, "")
    return ", ".join([name, *lines.values()])


def _entry(point: str, label: str, values: Iterable[str], sources: Iterable[str], missing: str | None) -> Entry:
    found = tuple(v for v in values if v)
    return Entry(point, label, found, tuple(sources), None if found else missing)


class _Recorder:
    def __init__(self, loaded: LoadedMap) -> None:
        self.loaded = loaded
        self.model = loaded.model
        self.org = loaded.model.organization

    def organisation(self, point: str) -> list[Entry]:
        org = self.org
        lines, paths = channels(org.contact, "organization.contact")
        name = org.legal_name or org.name
        header = [
            _entry(
                point,
                "organisation",
                [_contact_text(name, org.contact)] if lines else [],
                ("organization.name", *paths),
                "controller-contact-missing",
            ),
        ]
        joint = {k: r for k, r in self.model.recipients.items() if r.kind is RecipientKind.joint_controller}
        if joint:
            header.append(
                _entry(
                    point,
                    "joint_controllers",
                    [_contact_text(r.name, r.contact) for r in joint.values()],
                    [f"recipients.{k}" for k in joint],
                    None,
                )
            )
        if needs_transfer_safeguard(org.country) or org.representative is not None:
            rep = org.representative
            header.append(
                _entry(
                    point,
                    "representative",
                    [_contact_text(rep.name or "", rep)] if rep else [],
                    ["organization.representative"],
                    "representative-missing",
                )
            )
        dpo = org.dpo
        header.append(
            _entry(
                point,
                "dpo",
                [_contact_text(dpo.name or "", dpo).lstrip(", ")] if dpo else [],
                ["organization.dpo"],
                "dpo-undeclared",
            )
        )
        return header

    def systems_of(self, key: str) -> list[str]:
        return list(
            dict.fromkeys(ref.system_name for ref in self.loaded.tables() if key in purposes_of(self.loaded, ref))
        )

    def transfers(self, purposes: dict[str, Purpose], point: str) -> Entry:
        """Transfers outside the EEA by the recipients and systems these purposes use (Art. 30(1)(e), 30(2)(c))."""
        recipients = {k: self.model.recipients[k] for p in purposes.values() for k in p.recipients}
        systems = {name: self.model.systems[name] for key in purposes for name in self.systems_of(key)}
        for system in systems.values():
            provider = system.location.provider if system.location else None
            if provider in self.model.recipients:
                recipients[provider] = self.model.recipients[provider]
        sources = [f"recipients.{k}.country" for k in recipients] + [f"systems.{n}.location" for n in systems]
        sources = sources or [f"purposes.{k}.recipients" for k in purposes]  # no recipient, no system: none
        if any(r.country is None for r in recipients.values()):
            return Entry(point, "transfers", (), tuple(sources), "recipient-without-country")
        if any(s.location is None and any(t.personal_fields() for t in s.tables.values()) for s in systems.values()):
            return Entry(point, "transfers", (), tuple(sources), "system-without-location")
        values = [_transfer_text(r) for r in recipients.values() if r.country and needs_transfer_safeguard(r.country)]
        if not values:
            inside = all(r.country in EEA for r in recipients.values())
            values = ["none (EEA only)" if inside else "none (EEA and adequate countries only)"]
        return Entry(point, "transfers", tuple(values), tuple(sources))

    def measures(self, purposes: Iterable[str], point: str) -> Entry:
        names = {name for key in purposes for name in self.systems_of(key)}
        keys = list(dict.fromkeys(m for n in names for m in self.model.systems[n].measures)) if names else []
        keys = keys or list(self.model.measures)  # a purpose without tables: the organisation's measures
        sources = [f"systems.{n}.measures" for n in sorted(names)] or ["measures"]
        values = [self.model.measures[k].name for k in keys if k in self.model.measures]
        return _entry(point, "measures", values, sources, "measures-missing")

    def controller_activity(self, key: str, p: Purpose) -> Activity:
        base = f"purposes.{key}"
        taxonomy = self.loaded.taxonomy
        retention = p.retention
        kept = []
        if retention is not None and retention.period is not None:
            kept.append(f"{retention.period}" + (f" after {retention.after}" if retention.after else ""))
        if retention is not None and retention.criterion:
            kept.append(retention.criterion)
        rules = [ref for ref in self.loaded.tables() if key in purposes_of(self.loaded, ref) and ref.table.retention]
        for ref in rules:
            rule = ref.table.retention
            assert rule is not None
            kept.append(f"{ref.label}: {rule.keep or 'by category'} after {rule.after.column}")
        entries = (
            _entry("30(1)(b)", "purpose", [p.name, p.description or ""], [f"{base}.name"], None),
            _entry(
                "30(1)(b)",
                "basis",
                [p.basis.value.replace("_", " "), p.interest or "", p.law or ""],
                [f"{base}.basis"],
                None,
            ),
            _entry(
                "30(1)(c)",
                "subjects",
                [self.model.subjects[s].name for s in p.subjects if s in self.model.subjects],
                [f"{base}.subjects"],
                "purpose-without-subjects",
            ),
            _entry(
                "30(1)(c)",
                "categories",
                [taxonomy.categories[c].name if c in taxonomy.categories else c for c in p.categories],
                [f"{base}.categories"],
                "purpose-without-categories",
            ),
            Entry(
                "30(1)(d)",
                "recipients",
                tuple(_recipient_text(self.model.recipients[r]) for r in p.recipients) or ("none",),
                (f"{base}.recipients",),
            ),
            self.transfers({key: p}, "30(1)(e)"),
            _entry(
                "30(1)(f)",
                "retention",
                kept,
                [f"{base}.retention", *(f"{'.'.join(map(str, r.path))}.retention" for r in rules)],
                "purpose-without-retention",
            ),
            self.measures([key], "30(1)(g)"),
        )
        return Activity(key, p.name, entries)

    def controller_record(self) -> Record:
        own = {k: p for k, p in self.model.purposes.items() if p.role is Role.controller}
        activities = tuple(self.controller_activity(k, p) for k, p in own.items())
        return Record(
            "controller", self.org.legal_name or self.org.name, tuple(self.organisation("30(1)(a)")), activities
        )

    def processor_records(self) -> list[Record]:
        processing = {k: p for k, p in self.model.purposes.items() if p.role is Role.processor}
        served = [
            (f"organization.controllers.{k}", c.name, _contact_text(c.name, c.contact) if c.contact else "")
            for k, c in self.org.controllers.items()
        ]
        served += [
            (f"systems.{n}.tenant", f"each tenant of {s.name or n}", f"each tenant of {s.name or n}")
            for n, s in self.model.systems.items()
            if s.tenant is not None and not self.org.controllers
        ]
        records = []
        for path, name, contact in served:
            header = self.organisation("30(2)(a)")
            missing = "controller-served-without-contact" if path.startswith("organization.") else None
            header.insert(1, _entry("30(2)(a)", "controller", [contact], [path], missing))
            activities = tuple(
                Activity(
                    key,
                    p.name,
                    (
                        _entry("30(2)(b)", "processing", [p.name, p.description or ""], [f"purposes.{key}.name"], None),
                        self.transfers({key: p}, "30(2)(c)"),
                        self.measures([key], "30(2)(d)"),
                    ),
                )
                for key, p in processing.items()
            )
            if not activities:
                empty = Entry("30(2)(b)", "processing", (), ("purposes",), "processor-without-processing")
                activities = (Activity("-", "-", (empty,)),)
            records.append(Record("processor", name, tuple(header), activities))
        if not served:
            header = self.organisation("30(2)(a)")
            header.insert(
                1, Entry("30(2)(a)", "controller", (), ("organization.controllers",), "processor-without-controllers")
            )
            records.append(Record("processor", "-", tuple(header), ()))
        return records


def _recipient_text(recipient: Recipient) -> str:
    where = f", {COUNTRY_NAMES.get(recipient.country, recipient.country)}" if recipient.country else ""
    return f"{recipient.name} ({recipient.kind.value.replace('_', ' ')}{where})"


def _transfer_text(recipient: Recipient) -> str:
    country = COUNTRY_NAMES.get(recipient.country or "", recipient.country)
    safeguard = recipient.safeguard.value if recipient.safeguard else "no safeguard declared"
    detail = f": {recipient.derogation}" if recipient.derogation else ""
    return f"{recipient.name} → {country} ({safeguard}{detail})"


def records_of_processing(loaded: LoadedMap) -> list[Record]:
    """The controller's record (when the organisation is a controller) and one record per controller
    served (when it is a processor)."""
    recorder = _Recorder(loaded)
    roles = set(loaded.model.organization.roles)
    records = [recorder.controller_record()] if Role.controller in roles else []
    if Role.processor in roles:
        records += recorder.processor_records()
    return records
