"""Data categories, data subjects and data uses: fideslang's default taxonomy, extended.

fideslang's taxonomy is not retyped: its categories keep their keys, names and parents, so a
Fides user's map reads the same here. They are shipped as data (``fideslang.json``, written from
the installed fideslang by :mod:`datavow.taxonomy.generate` and checked against it by a test), so
that loading a map does not import fideslang. datavow adds what the GDPR needs and fideslang lacks: which
categories are special (Art. 9) or about criminal offences (Art. 10), and the categories a map
declares under ``taxonomy:``.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

#: fideslang's default taxonomy: its data categories, data subjects and data uses.
FIDESLANG_FILE = Path(__file__).with_name("fideslang.json")

#: Which GDPR article makes a category special: Art. 9 (special categories) or Art. 10 (criminal data).
Article = Literal["art9", "art10"]

# Keys whose category and every descendant is a special category (Art. 9(1)) or criminal data
# (Art. 10). Trade union membership and sex life are missing from fideslang, so datavow adds them.
_SPECIAL_ROOTS: dict[str, Article] = {
    "user.biometric": "art9",
    "user.authorization.biometric": "art9",
    "user.health_and_medical": "art9",
    "user.demographic.political_opinion": "art9",
    "user.demographic.race_ethnicity": "art9",
    "user.demographic.religious_belief": "art9",
    "user.demographic.sexual_orientation": "art9",
    "user.demographic.trade_union_membership": "art9",
    "user.demographic.sex_life": "art9",
    "user.criminal_history": "art10",
}

# Biometric data is special only when processed to identify someone (Art. 4(14), recital 51): a
# voicemail recording is a voice recording, not a voiceprint, so it does not inherit Art. 9.
_NOT_SPECIAL: frozenset[str] = frozenset({"user.biometric.voice"})

_DATAVOW_CATEGORIES: dict[str, tuple[str, str]] = {
    "user.demographic.trade_union_membership": (
        "Trade Union Membership",
        "Membership of a trade union (a special category under GDPR Art. 9(1)).",
    ),
    "user.demographic.sex_life": (
        "Sex Life",
        "Data concerning a person's sex life (a special category under GDPR Art. 9(1)).",
    ),
}


@dataclass(frozen=True)
class Category:
    """One data category: its key, name and parent, whether it is special (Art. 9 / 10), and where it comes from."""

    key: str
    name: str
    description: str
    parent: str | None
    special: Article | None = None
    origin: Literal["fideslang", "datavow", "map"] = "fideslang"


@dataclass(frozen=True)
class Term:
    """A data subject or a data use."""

    key: str
    name: str
    description: str


@dataclass(frozen=True)
class Taxonomy:
    """The data categories, data subjects and data uses a map can name."""

    categories: Mapping[str, Category]
    subjects: Mapping[str, Term]
    uses: Mapping[str, Term]

    def has_category(self, key: str) -> bool:
        return key in self.categories

    def ancestors(self, key: str) -> list[str]:
        """The key itself and every parent up to the root, nearest first."""
        chain: list[str] = []
        current: str | None = key
        while current is not None and current not in chain:
            chain.append(current)
            category = self.categories.get(current)
            current = category.parent if category else None
        return chain

    def covers(self, broad: str, narrow: str) -> bool:
        """True when ``narrow`` is ``broad`` or one of its descendants."""
        return broad in self.ancestors(narrow)

    def special_article(self, key: str) -> Article | None:
        """``art9`` for a special category, ``art10`` for criminal data, else None."""
        for ancestor in self.ancestors(key):
            if ancestor in _NOT_SPECIAL:
                return None
            category = self.categories.get(ancestor)
            if category is not None and category.special is not None:
                return category.special
        return None

    def suggest(self, key: str, among: Iterable[str] | None = None) -> str | None:
        """The closest known key, for "did you mean" hints."""
        candidates = list(among if among is not None else self.categories)
        matches = difflib.get_close_matches(key, candidates, n=1, cutoff=0.6)
        return matches[0] if matches else None

    def extended(
        self,
        categories: Mapping[str, tuple[str, str | None, str | None, bool]],
    ) -> Taxonomy:
        """A copy with the map's own categories: key -> (name, description, parent, special)."""
        merged = dict(self.categories)
        for key, (name, description, parent, special) in categories.items():
            parent_key = parent if parent is not None else (key.rsplit(".", 1)[0] if "." in key else None)
            merged[key] = Category(
                key=key,
                name=name,
                description=description or "",
                parent=parent_key,
                special="art9" if special else None,
                origin="map",
            )
        return Taxonomy(categories=merged, subjects=self.subjects, uses=self.uses)


@lru_cache(maxsize=1)
def default_taxonomy() -> Taxonomy:
    """fideslang's default taxonomy with datavow's GDPR additions."""
    fideslang = json.loads(FIDESLANG_FILE.read_text(encoding="utf-8"))
    categories: dict[str, Category] = {}
    for item in fideslang["data_category"]:
        categories[item["key"]] = Category(
            key=item["key"],
            name=item["name"] or item["key"],
            description=item["description"] or "",
            parent=item["parent"],
        )
    for key, (name, description) in _DATAVOW_CATEGORIES.items():
        categories[key] = Category(
            key=key, name=name, description=description, parent=key.rsplit(".", 1)[0], origin="datavow"
        )
    for key, article in _SPECIAL_ROOTS.items():
        if key in categories:
            base = categories[key]
            categories[key] = Category(
                key=base.key,
                name=base.name,
                description=base.description,
                parent=base.parent,
                special=article,
                origin=base.origin,
            )
    subjects, uses = (
        {term["key"]: Term(term["key"], term["name"] or term["key"], term["description"] or "") for term in terms}
        for terms in (fideslang["data_subject"], fideslang["data_use"])
    )
    return Taxonomy(categories=categories, subjects=subjects, uses=uses)


__all__ = ["FIDESLANG_FILE", "Article", "Category", "Taxonomy", "Term", "default_taxonomy"]
