"""Lint rules about whose row is whose: references whose meaning for a request is unclear."""

from __future__ import annotations

from collections.abc import Iterator

from datavow.datamap import LoadedMap
from datavow.findings import Severity
from datavow.lint import Hit, rule
from datavow.plan.ownership import Reading, ownership


@rule(
    "reference-ownership-ambiguous",
    Severity.warning,
    "Art. 15, 17",
    "A reference that may make a row somebody's, or merely name them: requests do not follow it",
    "say which on the reference: 'owner: true' (the row is that person's) or 'owner: false' (it merely names "
    "them), or declare the table's 'subject:'",
)
def reference_ownership_ambiguous(loaded: LoadedMap) -> Iterator[Hit]:
    readings = ownership(loaded)
    by_table: dict[tuple[str, str], list[Reading]] = {}
    for reading in readings.ambiguous():
        by_table.setdefault(reading.source, []).append(reading)
    for (system, table), ambiguous in by_table.items():
        ref = loaded.table(system, table)
        first = ambiguous[0]
        names = [reading.name for reading in ambiguous]
        targets = ", ".join(f"{reading.name} → {reading.target[0]}.{reading.target[1]}" for reading in ambiguous)
        if len(names) == 1:
            hint = (
                f"if {ref.label}'s rows are the person's whose row {names[0]} points at, write "
                f"'{names[0]}: {{to: …, owner: true}}' (or declare 'subject:'); if it merely names them, "
                "'owner: false'"
            )
        else:
            hint = (
                f"mark the one reference that makes a row the person's 'owner: true' and the others "
                f"'owner: false' (e.g. {names[0]}: {{to: …, owner: true}})"
            )
        yield Hit(
            ref.path + ("references", names[0]),
            f"{ref.label} references {targets}, but whose rows they are is unclear ({first.why}): "
            "requests find its rows only by their own identities",
            hint=hint,
            target=ref.label,
        )
