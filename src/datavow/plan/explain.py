"""A plan in words: what ``--dry-run`` prints, and what ``--json`` gives.

One row per step: the table, how the request reaches it (identity columns, or a reference and
its direction), its tenant scoping, and the rows discovery found there when it has run.
"""

from __future__ import annotations

from rich.table import Table

from datavow.datamap.load import LoadedMap
from datavow.plan.model import Discovery, Link, Plan, Step


def explain(loaded: LoadedMap, plan: Plan, discovery: Discovery | None = None) -> list[dict[str, object]]:
    """One JSON-ready row per step, in plan order.

    Keys: ``step`` (1-based), ``table``, ``schema``, ``subject``, ``key``, ``identities`` (kind ->
    columns), ``links`` (each with ``reference``, ``direction``, ``from``, ``columns``,
    ``source_columns``), ``reached_by`` (the same in words), ``tenant`` (how the step is scoped,
    in words, or None), and ``rows`` (None before discovery).
    """
    explained: list[dict[str, object]] = []
    for number, step in enumerate(plan.steps, 1):
        selection = discovery.selections.get(step.table) if discovery is not None else None
        shown = selection.step if selection is not None else step
        explained.append(
            {
                "step": number,
                "table": step.label,
                "schema": step.schema,
                "subject": step.subject,
                "key": list(shown.key),
                "identities": {kind: list(columns) for kind, columns in step.identities.items()},
                "links": [
                    {
                        "reference": link.reference,
                        "direction": link.direction,
                        "from": "{}.{}".format(*link.source),
                        "columns": list(link.columns),
                        "source_columns": list(link.source_columns),
                    }
                    for link in step.links
                ],
                "reached_by": reached_by(step),
                "tenant": _scoping(loaded, plan, step),
                "rows": selection.rows if selection is not None else None,
            }
        )
    return explained


def reached_by(step: Step) -> list[str]:
    """How the request reaches the step, one line per identity kind and per link."""
    lines = []
    for kind, columns in step.identities.items():
        shown = [
            f"{column} ({step.normalise[column]} form)" if column in step.normalise else column for column in columns
        ]
        lines.append(f"{kind} in {', '.join(shown)}")
    return lines + [_link_words(link) for link in step.links]


def _link_words(link: Link) -> str:
    source = "{}.{}".format(*link.source)
    pairs = ", ".join(f"{mine} = {theirs}" for mine, theirs in zip(link.columns, link.source_columns, strict=True))
    if link.direction == "child":
        return f"points at {source} ({pairs}; reference {link.reference})"
    if link.direction == "owner":
        return f"owns rows of {source} ({pairs}; its reference {link.reference})"
    return f"pointed at by {source} ({pairs}; its reference {link.reference}; leads nowhere, shared rows kept)"


def _scoping(loaded: LoadedMap, plan: Plan, step: Step) -> str | None:
    if step.tenant_column is not None:
        return f"{step.tenant_column} = {plan.tenant}"
    system = loaded.model.systems.get(step.table[0])
    if system is None or system.tenant is None:
        return None
    if plan.all_tenants:
        return "all tenants"
    return "through its links"


def render_plan(loaded: LoadedMap, plan: Plan, discovery: Discovery | None = None) -> Table:
    """The plan as a table for the terminal (``--dry-run``); rows found when discovery ran."""
    kinds = ", ".join(sorted(plan.identity_kinds))
    scope = f" · tenant {plan.tenant}" if plan.tenant is not None else (" · all tenants" if plan.all_tenants else "")
    title = f"Plan: a person by {kinds}{scope}"
    if discovery is not None and not discovery.found_anything:
        title += " · no data held"
    elif discovery is not None and discovery.reach is not None:
        people = discovery.reach.people
        title += " · reaches 1 person" if people == 1 else f" · reaches {people} people: refused"
    table = Table(title=title, title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("table")
    table.add_column("reached by")
    table.add_column("tenant")
    table.add_column("rows", justify="right")
    for step, row in zip(plan.steps, explain(loaded, plan, discovery), strict=True):
        rows = row["rows"]
        table.add_row(
            str(row["step"]),
            step.label,
            "\n".join(reached_by(step)),
            str(row["tenant"] or "—"),
            "—" if rows is None else str(rows),
        )
    return table
