"""``datavow check``: the map against the law (lint) and against the live databases (drift)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from datavow.audit import AuditEntry, append
from datavow.changes.fit_erasure import check_erasure_fit
from datavow.changes.fit_retention import check_retention_fit
from datavow.changes.held_parents import held_parent_conflicts
from datavow.connectors.drift import check_drift
from datavow.datamap import LoadedMap, load_map
from datavow.findings import Finding, Severity, sort_findings
from datavow.lint import run_lint
from datavow.store import Store


@dataclass(frozen=True)
class CheckReport:
    """Everything one check found."""

    map_path: Path
    findings: list[Finding]
    drift_systems: list[str] = field(default_factory=list)
    fingerprint: str = ""
    recorded: AuditEntry | None = None  # the audit entry (map.checked), when the check was recorded

    def count(self, severity: Severity) -> int:
        return Counter(f.severity for f in self.findings)[severity]

    def counts_text(self, *, hide_zero: bool = False) -> str:
        """``1 error, 2 warnings, 0 infos`` (without the zero counts when ``hide_zero``)."""
        parts = [
            f"{self.count(s)} {s.value}{'s' if self.count(s) != 1 else ''}"
            for s in Severity
            if self.count(s) or not hide_zero
        ]
        return ", ".join(parts) or "no findings"

    @property
    def ok(self) -> bool:
        """True when nothing of severity error was found."""
        return self.count(Severity.error) == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "map": str(self.map_path),
            "fingerprint": self.fingerprint,
            "ok": self.ok,
            "counts": {s.value: self.count(s) for s in Severity},
            "drift_systems": self.drift_systems,
            "findings": [f.to_dict() for f in self.findings],
        }


def check_map(
    source: str | Path | LoadedMap,
    *,
    drift: bool = True,
    systems: Iterable[str] | None = None,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] = (),
) -> CheckReport:
    """Lint the map and, unless ``drift`` is false, compare it with its databases.

    Raises :class:`~datavow.errors.MapError` when the map itself cannot be loaded.
    """
    loaded = source if isinstance(source, LoadedMap) else load_map(source)
    findings = run_lint(loaded, select=select, ignore=ignore)
    if select is None:  # --select narrows the report to the lint rules it names
        findings.extend(held_parent_findings(loaded))
    checked: list[str] = []
    if drift and loaded.model.systems:
        checked = list(systems) if systems is not None else list(loaded.model.systems)
        findings.extend(check_drift(loaded, checked))  # raises MapError for an undeclared system
        findings.extend(check_erasure_fit(loaded, checked))
        findings.extend(check_retention_fit(loaded, checked))
    return CheckReport(
        map_path=loaded.path, findings=sort_findings(findings), drift_systems=checked, fingerprint=loaded.fingerprint()
    )


#: The finding for a table erasure deletes from that a table under a legal hold references.
HELD_PARENT = "erasure-held-parent"


def held_parent_findings(loaded: LoadedMap) -> list[Finding]:
    """A warning for each table erasure deletes from that a held table references: its rows that
    held rows reference cannot be deleted and stay (with their fields erased where the map says how)."""
    findings = []
    for conflict in held_parent_conflicts(loaded):
        ref = loaded.table(*conflict.table)
        held = f"{conflict.held[0]}.{conflict.held[1]}"
        findings.append(
            Finding(
                rule=HELD_PARENT,
                severity=Severity.warning,
                message=(
                    f"{ref.label} is erased by 'delete', but {held} is under a legal hold and references it: "
                    f"a row that a held row references is kept until the hold ends, not deleted"
                ),
                hint=(
                    f"give {ref.label} 'erase: anonymize' with an 'erase:' strategy on each personal field, so that "
                    "the kept row holds nothing personal (or an 'erase:' strategy on its personal fields, which "
                    "erasure applies to the kept row)"
                ),
                article="Art. 17(3)",
                location=loaded.index.locate(ref.path + ("erase",), key=True),
                target=ref.label,
            )
        )
    return findings


def record_check(report: CheckReport, store: Store, actor: str) -> AuditEntry:
    """Write the outcome of a check to the audit log: proof the map was checked, when, by whom,
    which version of it, and with what result."""
    failed = sorted({f.rule for f in report.findings if f.severity is Severity.error})
    return append(
        store,
        actor,
        "map.checked",
        "map",
        str(report.map_path),
        details={
            "ok": report.ok,
            "fingerprint": report.fingerprint,
            "counts": {s.value: report.count(s) for s in Severity},
            "drift_systems": report.drift_systems,
            "failed_rules": failed,
        },
    )


def check_and_record(
    source: str | Path | LoadedMap,
    store: Callable[[], Store] | None = None,
    actor: str = "datavow",
    *,
    drift: bool = True,
    systems: Iterable[str] | None = None,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] = (),
) -> CheckReport:
    """Check the map (:func:`check_map`) and, given ``store`` (the state store, asked for only once
    the map has loaded, so that a map that does not load leaves no store behind), record the outcome
    in its audit log as ``actor`` (:func:`record_check`); the report carries the entry."""
    report = check_map(source, drift=drift, systems=systems, select=select, ignore=ignore)
    if store is None:
        return report
    return replace(report, recorded=record_check(report, store(), actor))


__all__ = ["HELD_PARENT", "CheckReport", "check_and_record", "check_map", "held_parent_findings", "record_check"]
