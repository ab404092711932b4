"""Lint: the rules a lawful data map must satisfy.

Each rule is one small function in a module of this package, one module per noun
(:mod:`datavow.lint.rules` imports them all), registered with an id, a severity, the GDPR
provision it enforces and a hint. A rule yields :class:`Hit` values (where, what); the
engine turns them into located :class:`~datavow.findings.Finding` objects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from datavow.datamap import LoadedMap, TableRef
from datavow.datamap.source import PathKey
from datavow.findings import Finding, Severity, sort_findings


@dataclass(frozen=True)
class Hit:
    """One place a rule fires: the map path to point at, what is wrong, an optional better hint."""

    path: PathKey
    message: str
    hint: str | None = None
    target: str | None = None


RuleCheck = Callable[[LoadedMap], Iterable[Hit]]

ERROR, WARNING, INFO = Severity.error, Severity.warning, Severity.info


def field_path(ref: TableRef, field: str) -> PathKey:
    """Where a rule points at one field of a table."""
    return ref.path + ("fields", field)


@dataclass(frozen=True)
class Rule:
    """One lint rule: its id, severity, the article it enforces, the fix hint, and the check itself."""

    id: str
    severity: Severity
    article: str
    summary: str
    hint: str
    check: RuleCheck

    def to_dict(self) -> dict[str, str]:
        """JSON-ready: the rule's id, severity, article, what it catches (``summary``) and the fix."""
        return {
            "id": self.id,
            "severity": self.severity.value,
            "article": self.article,
            "summary": self.summary,
            "hint": self.hint,
        }

    def run(self, loaded: LoadedMap) -> Iterator[Finding]:
        for hit in self.check(loaded):
            yield Finding(
                rule=self.id,
                severity=self.severity,
                message=hit.message,
                hint=hit.hint if hit.hint is not None else self.hint,
                article=self.article,
                location=loaded.index.locate(hit.path, key=True),
                target=hit.target,
            )


#: Every registered lint rule by its id (filled as the rule modules are imported).
RULES: dict[str, Rule] = {}


def rule(id: str, severity: Severity, article: str, summary: str, hint: str) -> Callable[[RuleCheck], RuleCheck]:
    """Register a rule function under ``id``."""

    def register(check: RuleCheck) -> RuleCheck:
        if id in RULES:
            raise RuntimeError(f"lint rule {id} is registered twice")
        RULES[id] = Rule(id, severity, article, summary, hint, check)
        return check

    return register


def run_lint(
    loaded: LoadedMap,
    *,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] = (),
) -> list[Finding]:
    """Run every registered rule (or those in ``select``, less those in ``ignore``)."""
    from datavow.lint import record, rules  # noqa: F401 - importing registers the rules

    chosen = set(select) if select is not None else set(RULES)
    skipped = set(ignore)
    unknown = (chosen | skipped) - set(RULES)
    if unknown:
        from datavow.errors import DatavowError

        raise DatavowError(
            f"unknown lint rule(s): {', '.join(sorted(unknown))} — choose among the rules the rule list names",
            field="select",
        )
    findings: list[Finding] = []
    for rule_id in sorted(chosen - skipped):
        findings.extend(RULES[rule_id].run(loaded))
    return sort_findings(findings)


def all_rules() -> list[Rule]:
    """Every lint rule datavow knows, each with its id, severity, article and fix hint."""
    from datavow.lint import record, rules  # noqa: F401 - importing registers the rules

    return [RULES[key] for key in sorted(RULES)]


__all__ = ["Hit", "RULES", "Rule", "all_rules", "rule", "run_lint"]
