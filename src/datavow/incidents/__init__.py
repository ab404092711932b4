"""The incident register with its clocks (Art. 33, 34): register a breach when the organisation
becomes aware of it, analyse what it affects (from the map, counted in the live databases), classify
its risk, give the notices it requires to the authority, the controllers and the people, resolve it
and evaluate it; every step in the audit log. :func:`register_breach`, :func:`analyse_breach`,
:func:`notify_breach` and :func:`export_breach_register` take times and languages as text and fill in
the map's defaults (its zone, its controller hours, its documents' language). See ``docs/incidents.md``.
"""

from __future__ import annotations

from datavow.incidents.assessment import Scope, resolve_scope
from datavow.incidents.clock import AUTHORITY_HOURS, CONTROLLER_HOURS, parse_moment
from datavow.incidents.defaults import (
    analyse_breach,
    export_breach_register,
    notify_breach,
    read_moment,
    register_breach,
)
from datavow.incidents.errors import IncidentError
from datavow.incidents.export import export_csv, export_pdf, export_register
from datavow.incidents.impact import count_impact, tenant_share
from datavow.incidents.model import Incident, Notice
from datavow.incidents.notices import NoticeDocument, notify
from datavow.incidents.register import (
    analyse_incident,
    classify_incident,
    close_incident,
    get_incident,
    list_incidents,
    open_incident,
    resolve_incident,
)

__all__ = [
    "AUTHORITY_HOURS",
    "CONTROLLER_HOURS",
    "Incident",
    "IncidentError",
    "Notice",
    "NoticeDocument",
    "Scope",
    "analyse_breach",
    "analyse_incident",
    "classify_incident",
    "close_incident",
    "count_impact",
    "export_breach_register",
    "export_csv",
    "export_pdf",
    "export_register",
    "get_incident",
    "list_incidents",
    "notify",
    "notify_breach",
    "open_incident",
    "parse_moment",
    "read_moment",
    "register_breach",
    "resolve_incident",
    "resolve_scope",
    "tenant_share",
]
