"""An incident as the register holds it, and the notices given about it: read-only views.

The stages are the five of the procedure (the Mira Network statement's, and what Art. 33 and 34
ask at each): ``registered`` (what happened, when the organisation became aware), ``analysed``
(what is affected and how many people and records, from the map and the live databases),
``classified`` (kind, risk level with its reasoning, consequences, measures, and so who must be
told), ``resolved`` (resolution, every required notice given) and ``evaluated`` (lessons and changes
to the procedure: closed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from datavow.incidents.clock import AUTHORITY_HOURS, Clock, clock
from datavow.store.models import IncidentNoticeRow, IncidentRow
from datavow.store.models.incidents import AUDIENCES, INCIDENT_STAGES, RISK_LEVELS

STAGES = INCIDENT_STAGES
RISKS = RISK_LEVELS
#: How a breach is classified (the European Data Protection Board's guidelines 9/2022, after the
#: three security properties): disclosure or access, alteration, or loss of access or destruction.
KINDS = ("confidentiality", "integrity", "availability")
PRIORITIES = ("low", "medium", "high", "critical")
#: Art. 34(3): the people need not be told when (a) the data were unintelligible to anyone not
#: authorised (encrypted), (b) later measures mean the high risk is no longer likely, or (c) it
#: would involve disproportionate effort (then a public communication instead).
EXEMPTIONS = {"encrypted": "34(3)(a)", "mitigated": "34(3)(b)", "disproportionate": "34(3)(c)"}
__all__ = ["AUDIENCES", "EXEMPTIONS", "Incident", "KINDS", "Notice", "PRIORITIES", "RISKS", "STAGES"]


def when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


@dataclass(frozen=True)
class Notice:
    """A notice given: to the authority, to one controller (a tenant of a system), or to the people."""

    id: int
    audience: str
    system: str | None
    tenant: str | None
    phase: int
    final: bool
    language: str
    given_at: datetime
    late: bool
    delay_reason: str | None
    files: Mapping[str, str]
    recorded_by: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "audience": self.audience,
            "system": self.system,
            "tenant": self.tenant,
            "phase": self.phase,
            "final": self.final,
            "language": self.language,
            "given_at": when(self.given_at),
            "late": self.late,
            "delay_reason": self.delay_reason,
            "files": dict(self.files),
            "recorded_by": self.recorded_by,
        }


@dataclass(frozen=True)
class Incident:
    """One breach: the facts of every stage reached so far, and the notices given."""

    id: int
    title: str
    description: str
    stage: str
    aware_at: datetime
    zone: str
    occurred_from: datetime | None
    occurred_until: datetime | None
    discovery: str | None
    controller_hours: int
    registered_at: datetime
    registered_by: str
    impact: Mapping[str, Any] | None
    analysed_at: datetime | None
    kinds: Sequence[str]
    risk: str | None
    risk_reasoning: str | None
    priority: str | None
    consequences: str | None
    measures: str | None
    exemption: str | None
    exemption_reason: str | None
    notify_authority: bool | None
    notify_people: bool | None
    classified_at: datetime | None
    resolution: str | None
    resolved_at: datetime | None
    lessons: str | None
    procedure_changes: str | None
    evaluated_at: datetime | None
    notices: Sequence[Notice] = field(default_factory=tuple)

    @property
    def closed(self) -> bool:
        return self.stage == "evaluated"

    def reached(self, stage: str) -> bool:
        return STAGES.index(self.stage) >= STAGES.index(stage)

    @property
    def controllers(self) -> list[dict[str, Any]]:
        """The controllers the analysis found affected: ``{system, tenant, name}`` each."""
        return list((self.impact or {}).get("controllers", []))

    def given(self, audience: str, system: str | None = None, tenant: str | None = None) -> list[Notice]:
        return [
            n
            for n in self.notices
            if n.audience == audience and (tenant is None or (n.system, n.tenant) == (system, tenant))
        ]

    def authority_clock(self, now: datetime) -> Clock:
        """72 hours from awareness. Until the risk is assessed the clock runs: only a finding of no
        risk (Art. 33(1)), or an incident where the organisation is processor only, stops it."""
        first = self.given("authority")
        required = self.notify_authority is not False
        return clock("authority", self.aware_at, AUTHORITY_HOURS, required=required, done_at=_first(first), now=now)

    def controller_clocks(self, now: datetime) -> list[tuple[dict[str, Any], Clock]]:
        """Per affected controller, the clock of its first notice."""
        return [
            (
                item,
                clock(
                    "controller",
                    self.aware_at,
                    self.controller_hours,
                    required=True,
                    done_at=_first(self.given("controller", item["system"], item["tenant"])),
                    now=now,
                ),
            )
            for item in self.controllers
        ]

    def clocks(self, now: datetime | None = None) -> list[Clock]:
        """Every clock that is not done: the authority's, and each controller's; closed: none."""
        now = now or datetime.now(UTC)
        if self.closed:
            return []
        found = [self.authority_clock(now), *(c for _, c in self.controller_clocks(now))]
        return [c for c in found if c.status in ("running", "due_soon", "overdue")]

    def to_dict(self, now: datetime | None = None) -> dict[str, Any]:
        now = now or datetime.now(UTC)
        authority = self.authority_clock(now)
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "stage": self.stage,
            "aware_at": when(self.aware_at),
            "zone": self.zone,
            "occurred_from": when(self.occurred_from),
            "occurred_until": when(self.occurred_until),
            "discovery": self.discovery,
            "controller_hours": self.controller_hours,
            "registered_at": when(self.registered_at),
            "registered_by": self.registered_by,
            "impact": self.impact,
            "analysed_at": when(self.analysed_at),
            "kinds": list(self.kinds),
            "risk": self.risk,
            "risk_reasoning": self.risk_reasoning,
            "priority": self.priority,
            "consequences": self.consequences,
            "measures": self.measures,
            "exemption": self.exemption,
            "exemption_reason": self.exemption_reason,
            "notify_authority": self.notify_authority,
            "notify_people": self.notify_people,
            "classified_at": when(self.classified_at),
            "resolution": self.resolution,
            "resolved_at": when(self.resolved_at),
            "lessons": self.lessons,
            "procedure_changes": self.procedure_changes,
            "evaluated_at": when(self.evaluated_at),
            "clocks": {
                "authority": {"due_at": when(authority.due_at), "status": authority.status},
                "controllers": [
                    {"system": item["system"], "tenant": item["tenant"], "due_at": when(c.due_at), "status": c.status}
                    for item, c in self.controller_clocks(now)
                ],
            },
            "notices": [notice.to_dict() for notice in self.notices],
        }


def _first(notices: Sequence[Notice]) -> datetime | None:
    return min((n.given_at for n in notices), default=None)


def notice_of(row: IncidentNoticeRow) -> Notice:
    return Notice(
        id=row.id,
        audience=row.audience,
        system=row.system,
        tenant=row.tenant,
        phase=row.phase,
        final=row.final,
        language=row.language,
        given_at=row.given_at,
        late=row.late,
        delay_reason=row.delay_reason,
        files=dict(row.files),
        recorded_by=row.recorded_by,
    )


def incident_of(row: IncidentRow, notices: Sequence[IncidentNoticeRow] = ()) -> Incident:
    return Incident(
        id=row.id,
        title=row.title,
        description=row.description,
        stage=row.stage,
        aware_at=row.aware_at,
        zone=row.zone,
        occurred_from=row.occurred_from,
        occurred_until=row.occurred_until,
        discovery=row.discovery,
        controller_hours=row.controller_hours,
        registered_at=row.registered_at,
        registered_by=row.registered_by,
        impact=row.impact,
        analysed_at=row.analysed_at,
        kinds=tuple(row.kinds or ()),
        risk=row.risk,
        risk_reasoning=row.risk_reasoning,
        priority=row.priority,
        consequences=row.consequences,
        measures=row.measures,
        exemption=row.exemption,
        exemption_reason=row.exemption_reason,
        notify_authority=row.notify_authority,
        notify_people=row.notify_people,
        classified_at=row.classified_at,
        resolution=row.resolution,
        resolved_at=row.resolved_at,
        lessons=row.lessons,
        procedure_changes=row.procedure_changes,
        evaluated_at=row.evaluated_at,
        notices=tuple(notice_of(n) for n in sorted(notices, key=lambda n: (n.given_at, n.id))),
    )
