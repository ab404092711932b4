"""Planning a data subject request: which tables hold a person, and the rows that are theirs.

``compile_plan`` turns identity kinds and the data map into a :class:`Plan` (no database
touched); ``discover`` runs it and gives, per step, the :class:`Selection` of the person's rows;
``datavow.plan.sql`` turns a selection into WHERE clauses for erasure, export and the rest.
``explain`` and ``render_plan`` say what a plan does (``--dry-run``). See ``docs/requests.md``.
"""

from __future__ import annotations

from datavow.plan.discovery import discover
from datavow.plan.explain import explain, render_plan
from datavow.plan.identities import identity_formats, parse_identities
from datavow.plan.model import Discovery, Link, Plan, Selection, Step, TableKey
from datavow.plan.planner import compile_plan

__all__ = [
    "Discovery",
    "Link",
    "Plan",
    "Selection",
    "Step",
    "TableKey",
    "compile_plan",
    "discover",
    "explain",
    "identity_formats",
    "parse_identities",
    "render_plan",
]
