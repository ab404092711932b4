"""The incident register: each stage of the procedure is a function that checks the stage before it,
records what the stage requires, and writes an audit entry in the same transaction (object type
``incident``, id the incident's number).

=============  ======================================  ==========================
stage          function                                 audit action
=============  ======================================  ==========================
registered     :func:`open_incident`                    ``incident.registered``
analysed       :func:`analyse_incident`                 ``incident.analysed``
classified     :func:`classify_incident`                ``incident.classified``
(notices)      :func:`datavow.incidents.notices.notify` ``incident.notified``
resolved       :func:`resolve_incident`                 ``incident.resolved``
evaluated      :func:`close_incident`                   ``incident.evaluated``
=============  ======================================  ==========================

Analysis and classification may be repeated while the incident is open, as more is learnt; each
time is audited. Nothing moves backwards, and nothing changes once the incident is evaluated.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from datavow.audit import append
from datavow.connectors.databases import Databases
from datavow.datamap.load import LoadedMap
from datavow.errors import ErrorKind
from datavow.incidents.assessment import Scope, duties
from datavow.incidents.clock import CONTROLLER_HOURS, aware_utc, zone_info
from datavow.incidents.errors import IncidentError
from datavow.incidents.impact import count_impact
from datavow.incidents.model import EXEMPTIONS, KINDS, PRIORITIES, RISKS, STAGES, Incident, incident_of
from datavow.store import Store
from datavow.store.models import IncidentNoticeRow, IncidentRow

OBJECT_TYPE = "incident"
_DEFAULT_PRIORITY = {"none": "low", "risk": "medium", "high": "high"}


def open_incident(
    store: Store,
    title: str,
    description: str,
    *,
    aware_at: datetime,
    actor: str,
    zone: str = "UTC",
    occurred_from: datetime | None = None,
    occurred_until: datetime | None = None,
    discovery: str | None = None,
    controller_hours: int = CONTROLLER_HOURS,
    now: datetime | None = None,
) -> Incident:
    """Stage 1, registration: what happened and when the organisation became aware of it, which
    starts the clocks. ``zone`` (IANA) is the zone the incident's times are shown in."""
    title, description = (
        _required(title, "a title", "title"),
        _required(description, "a description", "description"),
    )
    aware = aware_utc(aware_at, "the time of awareness", "aware_at")
    registered = aware_utc(now, "now") if now is not None else datetime.now(UTC)
    zone_info(zone)
    if aware > registered:
        raise IncidentError(
            f"the time of awareness {aware.isoformat()} is in the future: give when it really was",
            kind=ErrorKind.INVALID,
            field="aware_at",
        )
    occurred = [
        aware_utc(t, "the time it occurred", field) if t is not None else None
        for t, field in ((occurred_from, "occurred_from"), (occurred_until, "occurred_until"))
    ]
    if occurred[0] and occurred[1] and occurred[0] > occurred[1]:
        raise IncidentError(
            "the breach cannot end before it began: check when it began and ended",
            kind=ErrorKind.INVALID,
            field="occurred",
        )
    if controller_hours < 1:
        raise IncidentError(
            "the controllers' deadline must be at least 1 hour after awareness",
            kind=ErrorKind.INVALID,
            field="controller_hours",
        )
    with store.session() as session:
        row = IncidentRow(
            title=title,
            description=description,
            stage="registered",
            aware_at=aware,
            zone=zone.strip(),
            occurred_from=occurred[0],
            occurred_until=occurred[1],
            discovery=discovery,
            controller_hours=controller_hours,
            registered_at=registered,
            registered_by=actor,
        )
        session.add(row)
        session.flush()
        details = {
            "title": title,
            "aware_at": aware.isoformat(),
            "zone": row.zone,
            "occurred_from": occurred[0].isoformat() if occurred[0] else None,
            "occurred_until": occurred[1].isoformat() if occurred[1] else None,
            "controller_hours": controller_hours,
        }
        append(session, actor, "incident.registered", OBJECT_TYPE, str(row.id), None, details)
        return incident_of(row)


def analyse_incident(
    store: Store,
    loaded: LoadedMap,
    incident_id: int,
    scope: Scope,
    *,
    actor: str,
    databases: Databases | None = None,
    now: datetime | None = None,
) -> Incident:
    """Stage 2, analysis: what the incident affects, from the map, and how many people and records,
    counted in the live databases (:func:`datavow.incidents.impact.count_impact`, on the engines of
    ``databases`` when given)."""
    current = get_incident(store, incident_id)
    _check_stage(current, "analyse", allowed=("registered", "analysed", "classified"))
    impact = count_impact(loaded, scope, databases=databases, now=now)
    with _row(store, incident_id) as (session, row):
        row.impact = impact
        row.analysed_at, row.analysed_by = _now(now), actor
        row.stage = _later(row.stage, "analysed")
        if row.risk is not None:  # the roles may have changed what the risk level requires
            row.notify_authority, row.notify_people = duties(impact["roles"], row.risk, row.exemption)
        summary = {
            "scope": impact["scope"],
            "records": impact["records"],
            "people": impact["people"],
            "tables": {t["table"]: {"records": t["records"], "people": t["people"]} for t in impact["tables"]},
            "controllers": [f"{c['system']}:{c['tenant']}" for c in impact["controllers"]],
            "special": sorted(impact["special"]),
            "roles": impact["roles"],
        }
        append(session, actor, "incident.analysed", OBJECT_TYPE, str(incident_id), None, summary)
    return get_incident(store, incident_id)


def classify_incident(
    store: Store,
    incident_id: int,
    *,
    risk: str,
    reasoning: str,
    kinds: Iterable[str],
    actor: str,
    priority: str | None = None,
    consequences: str | None = None,
    measures: str | None = None,
    exemption: str | None = None,
    exemption_reason: str | None = None,
    now: datetime | None = None,
) -> Incident:
    """Stage 3, prioritisation and classification: the kind of breach, the risk level with its
    reasoning, the likely consequences and the measures (33(3)(c), (d)), and what follows: whether
    the authority and the people must be told."""
    current = get_incident(store, incident_id)
    _check_stage(current, "classify", allowed=("analysed", "classified"))
    risk = _one_of(risk, RISKS, "risk")
    reasoning = _required(reasoning, "the reasoning behind the risk level", "reasoning")
    chosen = [_one_of(kind, KINDS, "kinds", "kind") for kind in kinds]
    if not chosen:
        raise IncidentError(
            f"classify the breach with at least one kind: {', '.join(KINDS)}", kind=ErrorKind.INVALID, field="kinds"
        )
    priority = _one_of(priority, PRIORITIES, "priority") if priority else _DEFAULT_PRIORITY[risk]
    if risk != "none":
        consequences = _required(consequences, "the likely consequences (Art. 33(3)(c))", "consequences")
        measures = _required(measures, "the measures taken or proposed (Art. 33(3)(d))", "measures")
    if exemption is not None:
        exemption = _one_of(exemption, tuple(EXEMPTIONS), "exemption")
        if risk != "high":
            raise IncidentError(
                "an exemption of Art. 34(3) matters only at high risk: leave the exemption out",
                kind=ErrorKind.INVALID,
                field="exemption",
            )
        exemption_reason = _required(exemption_reason, "why the exemption applies", "exemption_reason")
    authority, people = duties((current.impact or {}).get("roles", []), risk, exemption)
    with _row(store, incident_id) as (session, row):
        row.kinds, row.risk, row.risk_reasoning, row.priority = chosen, risk, reasoning, priority
        row.consequences, row.measures = consequences, measures
        row.exemption, row.exemption_reason = exemption, exemption_reason
        row.notify_authority, row.notify_people = authority, people
        row.classified_at, row.classified_by = _now(now), actor
        row.stage = _later(row.stage, "classified")
        details = {
            "kinds": chosen,
            "risk": risk,
            "priority": priority,
            "exemption": EXEMPTIONS.get(exemption or ""),
            "notify_authority": authority,
            "notify_people": people,
        }
        append(session, actor, "incident.classified", OBJECT_TYPE, str(incident_id), reasoning, details)
    return get_incident(store, incident_id)


def resolve_incident(
    store: Store, incident_id: int, *, resolution: str, actor: str, now: datetime | None = None
) -> Incident:
    """Stage 4, resolution and reporting: refused until every notice the classification requires
    was given (the authority, each affected controller, the people)."""
    current = get_incident(store, incident_id)
    _check_stage(current, "resolve", allowed=("classified",))
    resolution = _required(resolution, "what was done to resolve it", "resolution")
    missing = []
    if current.notify_authority and not current.given("authority"):
        missing.append("the authority")
    untold = [c for c in current.controllers if not current.given("controller", c["system"], c["tenant"])]
    if untold:
        names = ", ".join(f"{c['system']}:{c['tenant']}" for c in untold)
        missing.append(f"controllers {names}")
    if current.notify_people and not current.given("people"):
        missing.append("the people")
    if missing:
        raise IncidentError(
            f"incident {incident_id} cannot be resolved before telling "
            + "; ".join(missing)
            + ": record each notice first"
        )
    with _row(store, incident_id) as (session, row):
        row.resolution, row.resolved_at, row.resolved_by, row.stage = resolution, _now(now), actor, "resolved"
        append(session, actor, "incident.resolved", OBJECT_TYPE, str(incident_id), resolution, {"stage": "resolved"})
    return get_incident(store, incident_id)


def close_incident(
    store: Store,
    incident_id: int,
    *,
    lessons: str,
    procedure_changes: str,
    actor: str,
    now: datetime | None = None,
) -> Incident:
    """Stage 5, evaluation and revision of the procedure: the lessons learnt and what changes in the
    procedure (say "none" and why, if nothing does). The incident is closed."""
    current = get_incident(store, incident_id)
    _check_stage(current, "close", allowed=("resolved",))
    lessons = _required(lessons, "the lessons learnt", "lessons")
    changes = _required(procedure_changes, "the changes to the procedure (or 'none', and why)", "procedure_changes")
    with _row(store, incident_id) as (session, row):
        row.lessons, row.procedure_changes, row.stage = lessons, changes, "evaluated"
        row.evaluated_at, row.evaluated_by = _now(now), actor
        details = {"lessons": lessons, "procedure_changes": changes}
        append(session, actor, "incident.evaluated", OBJECT_TYPE, str(incident_id), None, details)
    return get_incident(store, incident_id)


def get_incident(store: Store, incident_id: int) -> Incident:
    """The incident with this number, as the register keeps it; not found if there is none."""
    with store.session(write=False) as session:
        row = session.get(IncidentRow, incident_id)
        if row is None:
            raise IncidentError(
                f"no incident {incident_id} in the register — list the register for the incidents it holds",
                kind=ErrorKind.NOT_FOUND,
            )
        return incident_of(row, _notices(session, [incident_id]).get(incident_id, []))


def list_incidents(store: Store, *, open_only: bool = False) -> list[Incident]:
    """Every incident, the most recent awareness first; ``open_only`` leaves out evaluated ones."""
    query = sa.select(IncidentRow).order_by(IncidentRow.aware_at.desc(), IncidentRow.id.desc())
    if open_only:
        query = query.where(IncidentRow.stage != "evaluated")
    with store.session(write=False) as session:
        rows = list(session.scalars(query))
        notices = _notices(session, [row.id for row in rows])
        return [incident_of(row, notices.get(row.id, [])) for row in rows]


def _notices(session: Session, ids: list[int]) -> dict[int, list[IncidentNoticeRow]]:
    found: dict[int, list[IncidentNoticeRow]] = {}
    if ids:
        for notice in session.scalars(sa.select(IncidentNoticeRow).where(IncidentNoticeRow.incident_id.in_(ids))):
            found.setdefault(notice.incident_id, []).append(notice)
    return found


@contextmanager
def _row(store: Store, incident_id: int) -> Iterator[tuple[Session, IncidentRow]]:
    with store.session() as session:
        row = session.get(IncidentRow, incident_id, with_for_update=True)
        if row is None:
            raise IncidentError(
                f"no incident {incident_id} in the register — list the register for the incidents it holds",
                kind=ErrorKind.NOT_FOUND,
            )
        yield session, row


_NEXT = {
    "registered": "analyse it first: name the systems and tables it affects",
    "analysed": "classify it first: its kind, its risk and the reasoning behind it",
    "classified": "resolve it first, once every required notice is given",
    "resolved": "it is resolved: close it with the lessons learnt and the changes to the procedure",
    "evaluated": "it is closed (evaluated); open a new incident for what happened since",
}


def _check_stage(incident: Incident, step: str, *, allowed: tuple[str, ...]) -> None:
    if incident.stage not in allowed:
        hint = _NEXT[incident.stage].format(id=incident.id)
        raise IncidentError(f"incident {incident.id} is {incident.stage}, so it cannot {step} now — {hint}")


def _later(stage: str, reached: str) -> str:
    return stage if STAGES.index(stage) >= STAGES.index(reached) else reached


def _required(value: str | None, what: str, field: str) -> str:
    if value is None or not value.strip():
        raise IncidentError(f"{what} is required: give it", kind=ErrorKind.INVALID, field=field)
    return value.strip()


def _one_of(value: str, choices: Iterable[str], field: str, what: str | None = None) -> str:
    options = tuple(choices)
    if value not in options:
        raise IncidentError(
            f"the {what or field} {value!r} is not one of {', '.join(options)}",
            kind=ErrorKind.INVALID,
            field=field,
        )
    return value


def _now(now: datetime | None) -> datetime:
    return aware_utc(now, "now") if now is not None else datetime.now(UTC)
