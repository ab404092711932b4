"""The incident register (Art. 33(5)), written by :mod:`datavow.incidents`.

One row per personal data breach, moving through the five stages of the procedure (registered,
analysed, classified, resolved, evaluated); the facts each stage requires sit in its columns. One
row per notice given: to the supervisory authority, to a controller (one per tenant), or to the
people. The proof of every step is the audit log; these rows are where each incident stands.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from datavow.store.models.base import Base, UTCDateTime
from datavow.store.models.requests import one_of

INCIDENT_STAGES = ("registered", "analysed", "classified", "resolved", "evaluated")
RISK_LEVELS = ("none", "risk", "high")
AUDIENCES = ("authority", "controller", "people")


class IncidentRow(Base):
    """One personal data breach and what each stage of the procedure found and decided."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)  # the nature of the breach (33(3)(a))
    stage: Mapped[str] = mapped_column(String(20), index=True)
    aware_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)  # starts the 72-hour clock
    zone: Mapped[str] = mapped_column(String(64))  # the IANA zone times are shown in
    occurred_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    occurred_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    discovery: Mapped[str | None] = mapped_column(Text)  # how it came to light
    controller_hours: Mapped[int] = mapped_column(Integer)  # "without undue delay", as the contracts say
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    registered_by: Mapped[str] = mapped_column(String(200))
    # stage 2, analysis: what is affected, counted in the live databases
    impact: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    analysed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    analysed_by: Mapped[str | None] = mapped_column(String(200))
    # stage 3, prioritisation and classification
    kinds: Mapped[list[str] | None] = mapped_column(JSON)  # confidentiality, integrity, availability
    risk: Mapped[str | None] = mapped_column(String(10))
    risk_reasoning: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[str | None] = mapped_column(String(10))
    consequences: Mapped[str | None] = mapped_column(Text)  # 33(3)(c)
    measures: Mapped[str | None] = mapped_column(Text)  # 33(3)(d)
    exemption: Mapped[str | None] = mapped_column(String(20))  # 34(3)(a), (b) or (c)
    exemption_reason: Mapped[str | None] = mapped_column(Text)
    notify_authority: Mapped[bool | None] = mapped_column(Boolean)
    notify_people: Mapped[bool | None] = mapped_column(Boolean)
    classified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    classified_by: Mapped[str | None] = mapped_column(String(200))
    # stage 4, resolution and reporting
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    # stage 5, evaluation and revision of the procedure
    lessons: Mapped[str | None] = mapped_column(Text)
    procedure_changes: Mapped[str | None] = mapped_column(Text)
    evaluated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    evaluated_by: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        CheckConstraint(one_of("stage", INCIDENT_STAGES), name="stage"),
        CheckConstraint(f"risk IS NULL OR {one_of('risk', RISK_LEVELS)}", name="risk"),
    )


class IncidentNoticeRow(Base):
    """One notice given about an incident: to whom, when, which phase, whether late and why."""

    __tablename__ = "incident_notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    audience: Mapped[str] = mapped_column(String(20))
    system: Mapped[str | None] = mapped_column(String(100))  # a controller's notice: its tenant system
    tenant: Mapped[str | None] = mapped_column(String(200))
    phase: Mapped[int] = mapped_column(Integer)  # 1, 2, ... per addressee (33(4))
    final: Mapped[bool] = mapped_column(Boolean)  # false: more information follows
    language: Mapped[str] = mapped_column(String(5))
    given_at: Mapped[datetime] = mapped_column(UTCDateTime())
    late: Mapped[bool] = mapped_column(Boolean)
    delay_reason: Mapped[str | None] = mapped_column(Text)  # 33(1): the reasons for a late notice
    files: Mapped[dict[str, Any]] = mapped_column(JSON)  # file name -> SHA-256
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_by: Mapped[str] = mapped_column(String(200))

    __table_args__ = (CheckConstraint(one_of("audience", AUDIENCES), name="audience"),)
