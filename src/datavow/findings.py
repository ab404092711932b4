"""What ``datavow check`` reports: findings from lint rules and from drift checks."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from datavow.errors import Location


class Severity(StrEnum):
    error = "error"  # the map breaks the law or disagrees with the database: check fails
    warning = "warning"  # likely a problem; a person should look
    info = "info"  # worth knowing

    @property
    def rank(self) -> int:
        return {"error": 0, "warning": 1, "info": 2}[self.value]


@dataclass(frozen=True)
class Finding:
    """One thing ``check`` found: which rule, how bad, where, and how to fix it."""

    rule: str
    severity: Severity
    message: str
    hint: str = ""
    article: str | None = None  # the GDPR provision the rule enforces, e.g. "Art. 5(1)(b)"
    location: Location | None = None
    target: str | None = None  # the object concerned, e.g. "platform.users.email"

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "message": self.message,
            "hint": self.hint,
            "article": self.article,
            "target": self.target,
            "file": self.location.file if self.location else None,
            "line": self.location.line if self.location else None,
            "column": self.location.column if self.location else None,
        }

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        article = f" [{self.article}]" if self.article else ""
        fix = f" — {self.hint}" if self.hint else ""
        return f"{where}{self.severity.value} {self.rule}: {self.message}{article}{fix}"


def sort_findings(findings: list[Finding]) -> list[Finding]:
    def order(f: Finding) -> tuple[str, int, int, int, str]:
        loc = f.location
        return (loc.file if loc else "~", loc.line if loc else 0, loc.column if loc else 0, f.severity.rank, f.rule)

    return sorted(findings, key=order)
