"""Registering, analysing and notifying a breach, and exporting the register, with the map's
defaults, one call each: times given as text are read in the zone given, else the map's
``incidents.zone``; awareness is now unless given; each controller is told within the map's
``incidents.controller_hours``; notices and the register are written in the language given, else the
map's ``documents.language``. What a front end receives as text (a form, a command's options) goes
in as text, so none has to repeat these rules. A time that cannot be read names its ``field``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from datavow.connectors.databases import Databases
from datavow.datamap import LoadedMap
from datavow.incidents.assessment import resolve_scope
from datavow.incidents.clock import parse_moment, zone_info
from datavow.incidents.export import export_register
from datavow.incidents.model import Incident
from datavow.incidents.notices import NoticeDocument, notify
from datavow.incidents.register import analyse_incident, open_incident
from datavow.store import Store


def read_moment(text: str | None, zone: str | None, what: str, field: str | None = None) -> datetime | None:
    """``text`` as a UTC moment (None when not given), a time without an offset read in ``zone``;
    an error names ``field``, the input the text came from."""
    return parse_moment(text, zone, what=what, field=field) if text is not None else None


def written_zone(text: str | None) -> str | None:
    """The zone name written in a time (``… Europe/Amsterdam``), checked, or None."""
    if text is None:
        return None
    name = text.strip().rstrip("]").replace("[", " ").split()[-1]
    if "/" in name or name.upper() == "UTC":
        zone_info(name)
        return name
    return None


def register_breach(
    store: Store,
    loaded: LoadedMap,
    title: str,
    description: str,
    *,
    actor: str,
    aware: str | None = None,
    zone: str | None = None,
    occurred_from: str | None = None,
    occurred_until: str | None = None,
    discovery: str | None = None,
    controller_hours: int | None = None,
) -> Incident:
    """Register a breach (stage 1) with the map's defaults. The 72-hour clock runs from ``aware``
    (now when not given); the incident's times are shown in ``zone``, else the map's zone, else the
    zone written in ``aware``, else UTC."""
    settings = loaded.model.incidents
    zone = zone or settings.zone
    display = zone or written_zone(aware) or "UTC"
    return open_incident(
        store,
        title,
        description,
        aware_at=read_moment(aware, zone, "the time of awareness", "aware_at") or datetime.now(UTC),
        zone=display,
        occurred_from=read_moment(occurred_from, zone, "the start of the breach", "occurred_from"),
        occurred_until=read_moment(occurred_until, zone, "the end of the breach", "occurred_until"),
        discovery=discovery,
        controller_hours=controller_hours or settings.controller_hours,
        actor=actor,
    )


def analyse_breach(
    store: Store,
    loaded: LoadedMap,
    incident_id: int,
    *,
    actor: str,
    tables: Iterable[str] = (),
    systems: Iterable[str] = (),
    tenants: Iterable[str] = (),
    since: str | None = None,
    until: str | None = None,
    time_columns: Mapping[str, str] | None = None,
    zone: str | None = None,
    databases: Databases | None = None,
) -> Incident:
    """Count what the breach affects (stage 2) in the tables and systems named, for the tenants
    named, within the window ``since``–``until`` (text, read in ``zone``, else the map's zone).
    With ``databases`` (the application's), the count runs on its kept engines."""
    zone = zone or loaded.model.incidents.zone
    scope = resolve_scope(
        loaded,
        tables=tuple(tables),
        systems=tuple(systems),
        tenants=tuple(tenants),
        since=read_moment(since, zone, "the start of the window", "since"),
        until=read_moment(until, zone, "the end of the window", "until"),
        time_columns=dict(time_columns or {}),
    )
    return analyse_incident(store, loaded, incident_id, scope, actor=actor, databases=databases)


def notify_breach(
    store: Store,
    loaded: LoadedMap,
    incident_id: int,
    audience: str,
    *,
    actor: str,
    language: str | None = None,
    tenants: Iterable[str] = (),
    given: str | None = None,
    zone: str | None = None,
    delay_reason: str | None = None,
    final: bool = True,
    out_dir: Path | None = None,
    draft: bool = False,
) -> list[NoticeDocument]:
    """Write the notices to ``audience`` and record them as given (:func:`notify`), in ``language``
    (a code, else the map's documents language), given at ``given`` (text read in ``zone``, else the
    map's zone; now when not given), to the controllers of ``tenants`` only when any are named."""
    zone = zone or loaded.model.incidents.zone
    return notify(
        store,
        loaded,
        incident_id,
        audience,
        actor=actor,
        language=loaded.model.documents.language_for(language),
        tenants=list(tenants) or None,
        given_at=read_moment(given, zone, "the time the notice was given", "given_at"),
        delay_reason=delay_reason,
        final=final,
        out_dir=out_dir,
        draft=draft,
    )


def export_breach_register(
    store: Store,
    loaded: LoadedMap,
    *,
    actor: str,
    csv_path: Path | None = None,
    pdf_path: Path | None = None,
    language: str | None = None,
) -> list[Path]:
    """Export the register (:func:`export_register`) for the map's organisation, the PDF in
    ``language`` (a code, else the map's documents language)."""
    return export_register(
        store,
        actor=actor,
        organization=loaded.model.organization.name,
        csv_path=csv_path,
        pdf_path=pdf_path,
        language=loaded.model.documents.language_for(language),
    )


__all__ = [
    "analyse_breach",
    "export_breach_register",
    "notify_breach",
    "read_moment",
    "register_breach",
    "written_zone",
]
