"""fideslang's default taxonomy ships as data (``datavow/taxonomy/fideslang.json``), so loading a map
does not import fideslang (``tests/test_cli_startup.py`` holds that); the file must stay what the
installed fideslang gives."""

from __future__ import annotations

import json

from datavow.taxonomy import FIDESLANG_FILE, default_taxonomy
from datavow.taxonomy.generate import fideslang_taxonomy, render


def test_the_shipped_taxonomy_is_the_installed_fideslangs() -> None:
    shipped = json.loads(FIDESLANG_FILE.read_text(encoding="utf-8"))
    installed = fideslang_taxonomy()
    for kind in ("data_category", "data_subject", "data_use"):
        assert shipped[kind] == installed[kind], f"{kind} changed: run python -m datavow.taxonomy.generate"


def test_the_shipped_file_is_as_the_script_writes_it() -> None:
    taxonomy = json.loads(FIDESLANG_FILE.read_text(encoding="utf-8"))
    assert FIDESLANG_FILE.read_text(encoding="utf-8") == render(taxonomy)


def test_the_taxonomy_holds_fideslangs_terms_with_their_parents() -> None:
    from fideslang.default_taxonomy import DEFAULT_TAXONOMY

    taxonomy = default_taxonomy()
    for item in DEFAULT_TAXONOMY.data_category:
        category = taxonomy.categories[item.fides_key]
        assert (category.name, category.parent, category.origin) == (item.name, item.parent_key, "fideslang")
    assert set(taxonomy.subjects) == {item.fides_key for item in DEFAULT_TAXONOMY.data_subject}
    assert set(taxonomy.uses) == {item.fides_key for item in DEFAULT_TAXONOMY.data_use}
    assert taxonomy.special_article("user.health_and_medical") == "art9"
