"""The register as documentation of every breach (Art. 33(5)): "the facts relating to the personal
data breach, its effects and the remedial action taken", for the authority to verify compliance.

CSV for tools (one row per incident, times in UTC, ISO 8601) and PDF for people (times in each
incident's zone), from the same rows.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from datavow.audit import append
from datavow.incidents.clock import AUTHORITY_HOURS
from datavow.incidents.model import EXEMPTIONS, Incident
from datavow.incidents.register import OBJECT_TYPE, list_incidents
from datavow.incidents.render import render, sha256, write_pdf
from datavow.language import Language
from datavow.store import Store

COLUMNS = (
    "id", "title", "stage", "description", "zone", "aware_at", "registered_at", "occurred_from", "occurred_until",
    "kinds", "risk", "risk_reasoning", "priority", "people", "records", "subjects", "categories",
    "special_categories", "controllers", "consequences", "measures", "exemption", "notify_authority",
    "authority_deadline", "authority_notified_at", "authority_late", "delay_reasons", "controllers_notified",
    "notify_people", "people_notified_at", "resolution", "resolved_at", "lessons", "procedure_changes",
    "evaluated_at",
)  # fmt: skip


def register_rows(incidents: Sequence[Incident]) -> list[dict[str, Any]]:
    """One flat row per incident: what the CSV holds and the PDF shows."""
    return [_row(incident) for incident in incidents]


def _row(incident: Incident) -> dict[str, Any]:
    impact = incident.impact or {}
    authority = incident.given("authority")
    people = incident.given("people")
    told = {f"{n.system}:{n.tenant}" for n in incident.given("controller")}
    return {
        "id": incident.id,
        "title": incident.title,
        "stage": incident.stage,
        "description": incident.description,
        "zone": incident.zone,
        "aware_at": _iso(incident.aware_at),
        "registered_at": _iso(incident.registered_at),
        "occurred_from": _iso(incident.occurred_from),
        "occurred_until": _iso(incident.occurred_until),
        "kinds": "; ".join(incident.kinds),
        "risk": incident.risk or "",
        "risk_reasoning": incident.risk_reasoning or "",
        "priority": incident.priority or "",
        "people": impact.get("people", ""),
        "records": impact.get("records", ""),
        "subjects": "; ".join(impact.get("subjects", [])),
        "categories": "; ".join(impact.get("categories", [])),
        "special_categories": "; ".join(impact.get("special", {})),
        "controllers": "; ".join(f"{c['system']}:{c['tenant']}" for c in incident.controllers),
        "consequences": incident.consequences or "",
        "measures": incident.measures or "",
        "exemption": EXEMPTIONS.get(incident.exemption or "", ""),
        "notify_authority": _yes_no(incident.notify_authority),
        "authority_deadline": _iso(incident.authority_clock(incident.aware_at).due_at),
        "authority_notified_at": _iso(authority[0].given_at) if authority else "",
        "authority_late": _yes_no(authority[0].late) if authority else "",
        "delay_reasons": "; ".join(dict.fromkeys(n.delay_reason for n in incident.notices if n.delay_reason)),
        "controllers_notified": "; ".join(sorted(told)),
        "notify_people": _yes_no(incident.notify_people),
        "people_notified_at": _iso(people[0].given_at) if people else "",
        "resolution": incident.resolution or "",
        "resolved_at": _iso(incident.resolved_at),
        "lessons": incident.lessons or "",
        "procedure_changes": incident.procedure_changes or "",
        "evaluated_at": _iso(incident.evaluated_at),
    }


def export_csv(incidents: Sequence[Incident], path: Path) -> Path:
    """The register as CSV (UTF-8, a header row, one row per incident)."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(register_rows(incidents))
    return path


def export_pdf(incidents: Sequence[Incident], path: Path, *, organization: str, language: Language = "en") -> Path:
    """The register as a PDF, in ``language``."""
    html = render(
        language,
        "register.html.j2",
        incidents=[incident.to_dict() for incident in incidents],
        rows=register_rows(incidents),
        organization=organization,
        written_at=datetime.now(UTC).isoformat(),
        hours=AUTHORITY_HOURS,
    )
    write_pdf(html, path)
    return path


def export_register(
    store: Store,
    *,
    actor: str,
    organization: str,
    csv_path: Path | None = None,
    pdf_path: Path | None = None,
    language: Language = "en",
) -> list[Path]:
    """Write the whole register as CSV and/or PDF and record the export (``incident.register_exported``,
    with each file's SHA-256): what the authority was shown, and when."""
    incidents = list_incidents(store)
    written = []
    if csv_path is not None:
        written.append(export_csv(incidents, csv_path))
    if pdf_path is not None:
        written.append(export_pdf(incidents, pdf_path, organization=organization, language=language))
    details = {"incidents": len(incidents), "language": language, "files": {p.name: sha256(p) for p in written}}
    append(store, actor, "incident.register_exported", OBJECT_TYPE, "register", None, details)
    return written


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment is not None else ""


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")
