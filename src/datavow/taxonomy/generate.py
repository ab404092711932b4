"""Write ``fideslang.json``: fideslang's default taxonomy as facts datavow ships.

datavow reads the taxonomy on every load of a map; importing fideslang for it cost a noticeable
part of a command's start-up. The keys, names, descriptions and parents are written here once,
from the installed fideslang, and ``tests/test_taxonomy_data.py`` fails when the shipped file no
longer equals what the installed version gives. After upgrading fideslang, run::

    python -m datavow.taxonomy.generate
"""

from __future__ import annotations

import json
from importlib.metadata import version
from typing import Any

from datavow.taxonomy import FIDESLANG_FILE


def fideslang_taxonomy() -> dict[str, Any]:
    """The installed fideslang's default taxonomy, as ``fideslang.json`` holds it."""
    from fideslang.default_taxonomy import DEFAULT_TAXONOMY

    def terms(items: Any, *, parents: bool) -> list[dict[str, str | None]]:
        rows: list[dict[str, str | None]] = []
        for item in items:
            row = {"key": item.fides_key, "name": item.name, "description": item.description}
            if parents:
                row["parent"] = item.parent_key
            rows.append(row)
        return rows

    return {
        "fideslang": version("fideslang"),
        "data_category": terms(DEFAULT_TAXONOMY.data_category, parents=True),
        "data_subject": terms(DEFAULT_TAXONOMY.data_subject, parents=False),
        "data_use": terms(DEFAULT_TAXONOMY.data_use, parents=True),
    }


def render(taxonomy: dict[str, Any]) -> str:
    """The file's text: one term per line, so that a diff shows what fideslang changed."""
    parts = [f'"fideslang": {json.dumps(taxonomy["fideslang"])}']
    for kind in ("data_category", "data_subject", "data_use"):
        rows = ",\n".join("  " + json.dumps(row, ensure_ascii=False) for row in taxonomy[kind])
        parts.append(f'"{kind}": [\n{rows}\n]')
    return "{\n" + ",\n".join(parts) + "\n}\n"


def main() -> None:
    FIDESLANG_FILE.write_text(render(fideslang_taxonomy()), encoding="utf-8")
    print(f"wrote {FIDESLANG_FILE}")


if __name__ == "__main__":
    main()
