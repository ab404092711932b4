"""The notices an incident requires, written from the register and the map, and recorded as given.

- **To the supervisory authority** (Art. 33(3)): (a) the nature of the breach, the categories and
  approximate numbers of people and records; (b) the contact point (the DPO, else the
  organisation's contact); (c) the likely consequences; (d) the measures taken or proposed.
- **To each controller** (Art. 33(2)), when the organisation is their processor: one notice per
  affected tenant, naming only that tenant's tables, people and records.
- **To the people** (Art. 34(2)): the same (b) to (d) and the nature, in plain language.

A notice may come in phases (Art. 33(4)): each one given to the same addressee gets the next phase
number, and ``final=False`` says more will follow. The first notice to the authority after the
72 hours, or to a controller after the incident's deadline for controllers, is refused without the
reasons for the delay (33(1)), which it then states.

Each notice is written as HTML and PDF (and plain text for the people, for an e-mail); the SHA-256
of each file goes into the audit entry ``incident.notified``. ``draft=True`` writes the files and
records nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from datavow.audit import append
from datavow.datamap.load import LoadedMap
from datavow.errors import ErrorKind
from datavow.incidents.clock import AUTHORITY_HOURS, aware_utc
from datavow.incidents.errors import IncidentError
from datavow.incidents.impact import tenant_share
from datavow.incidents.model import EXEMPTIONS, Incident
from datavow.incidents.register import OBJECT_TYPE, get_incident
from datavow.incidents.render import render, sha256, write_pdf
from datavow.language import Language
from datavow.retention.offboarding.documents import file_safe
from datavow.secrets import state_directory
from datavow.store import Store
from datavow.store.models import IncidentNoticeRow

AUDIENCES = ("authority", "controllers", "people")
# A notice dated this far ahead of the clock is a typo, not a plan.
_CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class NoticeDocument:
    """One notice written: to whom, its phase, whether it was late, and its files."""

    audience: str  # authority, controller, people
    system: str | None
    tenant: str | None
    phase: int
    late: bool
    files: dict[str, Path]
    facts: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "audience": self.audience,
            "system": self.system,
            "tenant": self.tenant,
            "phase": self.phase,
            "late": self.late,
            "files": {kind: str(path) for kind, path in self.files.items()},
        }


def notify(
    store: Store,
    loaded: LoadedMap,
    incident_id: int,
    audience: str,
    *,
    actor: str,
    language: Language = "en",
    tenants: list[str] | None = None,
    given_at: datetime | None = None,
    delay_reason: str | None = None,
    final: bool = True,
    out_dir: Path | None = None,
    draft: bool = False,
    now: datetime | None = None,
) -> list[NoticeDocument]:
    """Write the notices to ``audience`` (``authority``, ``controllers``: one per affected tenant, or
    those of ``tenants`` (``system:tenant`` or ``tenant``), or ``people``) and record them as given
    at ``given_at`` (default: now)."""
    incident = get_incident(store, incident_id)
    moment = aware_utc(now, "now") if now is not None else datetime.now(UTC)
    given = aware_utc(given_at, "the time the notice was given", "given_at") if given_at is not None else moment
    _check(incident, audience, given, moment)
    folder = out_dir or state_directory(loaded.path) / "incidents" / str(incident.id)
    folder.mkdir(parents=True, exist_ok=True)
    base = _base_facts(loaded, incident, given, language, final)
    written = []
    for system, tenant in _addressees(incident, audience, tenants):
        who = "controller" if audience == "controllers" else audience
        phase = len(incident.given(who, system, tenant)) + 1
        due = incident.aware_at + timedelta(hours=AUTHORITY_HOURS if who == "authority" else incident.controller_hours)
        late = phase == 1 and who != "people" and given > due
        reason = delay_reason.strip() if delay_reason and delay_reason.strip() else None
        if late and reason is None and not draft:
            hours = (given - incident.aware_at).total_seconds() / 3600
            raise IncidentError(
                f"this notice to the {who} comes {hours:.0f} hours after awareness, past its deadline: Art. 33(1) "
                "asks for the reasons for the delay — give them",
                kind=ErrorKind.INVALID,
                field="delay_reason",
            )
        facts = {**base, "phase": phase, "late": late, "delay_reason": reason if late else None}
        if who == "controller":
            assert system is not None and tenant is not None
            controller = next(c for c in incident.controllers if (c["system"], c["tenant"]) == (system, tenant))
            facts.update(impact=tenant_share(dict(incident.impact or {}), system, tenant), controller=controller)
        stem = f"incident-{incident.id}-{who}" + (f"-{file_safe(system or '')}-{file_safe(tenant)}" if tenant else "")
        files = _write(folder, f"{stem}-{phase}.{language}", who, language, facts)
        document = NoticeDocument(who, system, tenant, phase, late, files, facts)
        if not draft:
            _record(store, incident, document, language, given, final, actor)
        written.append(document)
    return written


def _check(incident: Incident, audience: str, given: datetime, now: datetime) -> None:
    if audience not in AUDIENCES:
        raise IncidentError(
            f"notices go to {', '.join(AUDIENCES)}, not {audience!r}", kind=ErrorKind.INVALID, field="audience"
        )
    if incident.closed:
        raise IncidentError(f"incident {incident.id} is closed (evaluated): its notices were given")
    if given < incident.aware_at:
        raise IncidentError(
            "a notice cannot be given before the organisation became aware of the breach",
            kind=ErrorKind.INVALID,
            field="given_at",
        )
    if given > now + _CLOCK_SKEW:
        raise IncidentError(
            "a notice cannot be recorded as given in the future: give the time it went out",
            kind=ErrorKind.INVALID,
            field="given_at",
        )
    if audience == "controllers":
        if not incident.reached("analysed"):
            raise IncidentError(
                f"incident {incident.id} is not analysed yet, and a controller's notice names its people and "
                "records — analyse the incident first"
            )
        if not incident.controllers:
            raise IncidentError(
                "no controller is affected: the analysis found no rows of a tenant in a system with 'tenant:'"
            )
        return
    if not incident.reached("classified"):
        raise IncidentError(
            f"incident {incident.id} is not classified yet: a notice to the {audience} states the likely consequences "
            "and the measures — classify the incident first"
        )
    for value, field, what in (
        (incident.consequences, "consequences", "the likely consequences"),
        (incident.measures, "measures", "the measures taken or proposed"),
    ):
        if not value:
            raise IncidentError(
                f"the notice needs {what} (Art. 33(3)(c), (d)); classify the incident again with them", field=field
            )


def _addressees(incident: Incident, audience: str, tenants: list[str] | None) -> list[tuple[str | None, str | None]]:
    if audience != "controllers":
        if tenants:
            raise IncidentError(
                "a tenant chooses among the controllers: name tenants only for a notice to the controllers",
                kind=ErrorKind.INVALID,
                field="tenant",
            )
        return [(None, None)]
    affected = [(c["system"], c["tenant"]) for c in incident.controllers]
    if not tenants:
        return list(affected)
    chosen: list[tuple[str | None, str | None]] = []
    for name in tenants:
        found = [pair for pair in affected if name in (pair[1], f"{pair[0]}:{pair[1]}")]
        if not found:
            listed = ", ".join(f"{s}:{t}" for s, t in affected)
            raise IncidentError(
                f"tenant {name!r} is not among the affected controllers: {listed}",
                kind=ErrorKind.INVALID,
                field="tenant",
            )
        chosen.extend(pair for pair in found if pair not in chosen)
    return chosen


def _base_facts(
    loaded: LoadedMap, incident: Incident, given: datetime, language: Language, final: bool
) -> dict[str, Any]:
    organization = loaded.model.organization
    dump = organization.model_dump(mode="json", exclude_none=True)
    contact_point = dump.get("dpo") or dump["contact"]
    return {
        "incident": incident.to_dict(),
        "zone": incident.zone,
        "organization": dump,
        "contact_point": contact_point,
        "contact_is_dpo": "dpo" in dump,
        "authority": dump.get("supervisory_authority"),
        "impact": dict(incident.impact or {}),
        "exemption_article": EXEMPTIONS.get(incident.exemption or ""),
        "deadline": (incident.aware_at + timedelta(hours=AUTHORITY_HOURS)).isoformat(),
        "given_at": given.isoformat(),
        "final": final,
        "language": language,
        "controller": None,
    }


def _write(folder: Path, stem: str, who: str, language: Language, facts: dict[str, Any]) -> dict[str, Path]:
    files = {"html": folder / f"{stem}.html", "pdf": folder / f"{stem}.pdf"}
    text = None
    if who == "people":  # plain language first (34(2)): the page is the letter, set as HTML
        text = render(language, "people.txt.j2", facts=facts)
        files["text"] = folder / f"{stem}.txt"
        files["text"].write_text(text, encoding="utf-8")
    html = render(language, f"{who}.html.j2", facts=facts, text=text)
    files["html"].write_text(html, encoding="utf-8")
    write_pdf(html, files["pdf"])
    return files


def _record(
    store: Store,
    incident: Incident,
    document: NoticeDocument,
    language: str,
    given: datetime,
    final: bool,
    actor: str,
) -> None:
    digests = {path.name: sha256(path) for path in document.files.values()}
    with store.session() as session:
        session.add(
            IncidentNoticeRow(
                incident_id=incident.id,
                audience=document.audience,
                system=document.system,
                tenant=document.tenant,
                phase=document.phase,
                final=final,
                language=language,
                given_at=given,
                late=document.late,
                delay_reason=document.facts["delay_reason"],
                files=digests,
                recorded_at=datetime.now(UTC),
                recorded_by=actor,
            )
        )
        details = {
            "audience": document.audience,
            "controller": f"{document.system}:{document.tenant}" if document.tenant else None,
            "phase": document.phase,
            "final": final,
            "language": language,
            "given_at": given.isoformat(),
            "late": document.late,
            "files": digests,
        }
        append(
            session, actor, "incident.notified", OBJECT_TYPE, str(incident.id), document.facts["delay_reason"], details
        )
