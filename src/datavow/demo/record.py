"""Opening a built demo company's audit log: what was built, and its first check."""

from __future__ import annotations

from datavow.audit import AuditEntry, append
from datavow.check import CheckReport, record_check
from datavow.demo.build import DemoCompany
from datavow.store import default_state_url, open_store

ACTOR = "datavow demo"


def record_demo(company: DemoCompany, report: CheckReport, actor: str = ACTOR) -> list[AuditEntry]:
    """Write ``demo.built`` (systems, rows, people) and the check's ``map.checked`` to the audit log
    of the company's state store (next to its map unless ``$DATAVOW_STATE_URL`` says otherwise)."""
    with open_store(default_state_url(company.map_path)) as store:
        built = append(
            store,
            actor,
            "demo.built",
            "map",
            str(company.map_path),
            details={
                "company": company.name,
                "systems": {
                    system: {"url": url, "schema": company.schemas.get(system)}
                    for system, url in company.systems.items()
                },
                "rows": company.rows,
                "people": company.people,
            },
        )
        return [built, record_check(report, store, actor)]
