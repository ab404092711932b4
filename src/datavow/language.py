"""The languages datavow writes documents in: notices, letters, the privacy statement, the record.

Every document set (``templates/<language>/``) exists in each of these languages; a company picks
one with ``--language`` or the map's default. English is the fallback nothing else may lack.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

from datavow.errors import DatavowError

Language = Literal["en", "nl", "de", "sv", "da"]

LANGUAGES: Final[tuple[Language, ...]] = get_args(Language)

NAMES: Final[dict[Language, str]] = {
    "en": "English",
    "nl": "Nederlands",
    "de": "Deutsch",
    "sv": "Svenska",
    "da": "Dansk",
}


def language(code: str) -> Language:
    """The language for ``code`` (``"EN"``, ``"nl"``, ``"de-DE"``), or a clear error naming the choices."""
    base = code.strip().lower().replace("_", "-").split("-", 1)[0]
    for known in LANGUAGES:
        if known == base:
            return known
    choices = ", ".join(f"{c} ({NAMES[c]})" for c in LANGUAGES)
    raise DatavowError(f"no documents in language {code!r}; choose one of {choices}")
