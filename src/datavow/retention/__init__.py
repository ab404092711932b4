"""Retention that enforces itself: rules from the map, plans, chunked sweeps, locks and schedules.

See ``docs/retention.md``. The public surface:

- :func:`retention_plan`: per rule, how many rows are due now, the oldest, what will be done;
- :func:`run_sweep`: do it, a short idempotent transaction per chunk, cascading through the
  request planner and erasure, locked per system and audited when given a state store.
"""

from __future__ import annotations

from datavow.changes.retention_rules import Rule, rules_of
from datavow.retention.history import SweepRecord, SweepReport, list_sweeps, show_sweep, sweep_report
from datavow.retention.sweep import (
    RetentionPlan,
    RulePlan,
    RuleSweep,
    SweepResult,
    SystemSweep,
    retention_plan,
    run_sweep,
)
from datavow.retention.systems import swept_systems

__all__ = [
    "RetentionPlan",
    "Rule",
    "RulePlan",
    "RuleSweep",
    "SweepRecord",
    "SweepReport",
    "SweepResult",
    "SystemSweep",
    "list_sweeps",
    "retention_plan",
    "rules_of",
    "run_sweep",
    "show_sweep",
    "sweep_report",
    "swept_systems",
]
