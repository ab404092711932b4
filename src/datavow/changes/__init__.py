"""What a change does to a system's rows, below the requests and the sweeps that make it.

The SQL that erasure, rectification and retention share: each erasure strategy as a column rewrite
(``strategies``, ``values``), dates kept as text (``text_dates``), legal holds (``holds``), rows
still held or referenced by others (``held_parents``), retention rules as conditions
(``retention_rules``), applying a change per system in one transaction (``systems``), and the
checks that each fits the live columns before anything runs (``fit_erasure``, ``fit_retention``),
which ``datavow check`` reports.
"""

from datavow.changes.fit_erasure import check_erasure_fit
from datavow.changes.fit_retention import check_retention_fit
from datavow.changes.held_parents import held_parent_conflicts
from datavow.changes.retention_rules import Rule, rules_of
from datavow.changes.strategies import PSEUDONYM_PREFIX

__all__ = [
    "PSEUDONYM_PREFIX",
    "Rule",
    "check_erasure_fit",
    "check_retention_fit",
    "held_parent_conflicts",
    "rules_of",
]
