"""Retention that enforces itself: rules from the map, plans, chunked sweeps, locks and schedules.

See ``docs/retention.md``. The public surface:

- :func:`retention_plan`: per rule, how many rows are due now, the oldest, what will be done;
- :func:`run_sweep`: do it, a short idempotent transaction per chunk, cascading through the
  request planner and erasure, locked per system and audited when given a state store;
- :func:`plan_retention`, :func:`sweep_retention` and :func:`run_worker`: the same, and the worker's
  loop, for a front end: one call each, opening the databases a sweep needs from ``databases``;
- :func:`sweep_report`: the sweeps recorded, and when each system is next due.
"""

from __future__ import annotations

from datavow.changes.retention_rules import Rule, rules_of
from datavow.retention.enforcement import plan_retention, run_worker, sweep_retention
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
    "plan_retention",
    "retention_plan",
    "rules_of",
    "run_sweep",
    "run_worker",
    "show_sweep",
    "sweep_report",
    "sweep_retention",
    "swept_systems",
]
