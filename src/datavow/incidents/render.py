"""Turning an incident's facts into documents: Jinja2 templates per language (``templates/<lang>/``,
worded there, not in code) and PDF through WeasyPrint.

HTML templates are autoescaped (names and descriptions come from people and from the map); text
templates are not. Every language directory holds the same set of templates, and ``labels.j2``
there names the register's words (stages, risk levels, kinds of breach) in that language.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, TemplateNotFound, select_autoescape

from datavow.errors import ErrorKind
from datavow.incidents.clock import shown
from datavow.incidents.errors import IncidentError
from datavow.language import NAMES, Language
from datavow.pdf import html_to_pdf


@lru_cache(maxsize=1)
def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("datavow.incidents", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["moment"] = _moment
    environment.filters["number"] = _number
    return environment


def _moment(value: str | None, zone: str) -> str:
    return shown(datetime.fromisoformat(value), zone) if value else ""


def _number(value: int | None, language: str = "en") -> str:
    if value is None:
        return "–"
    grouped = f"{value:,}"
    return grouped if language == "en" else grouped.replace(",", "." if language in ("nl", "de", "da") else "\u00a0")


def render(language: Language, name: str, **context: Any) -> str:
    """Template ``<language>/<name>``, else the shared ``<name>`` (whose words come from the
    language's ``labels.j2``), filled with ``context`` and ``lang``."""
    try:
        template = _environment().get_or_select_template([f"{language}/{name}", name])
    except TemplateNotFound as exc:
        raise IncidentError(
            f"no {name} template in {NAMES[language]} ({language})", kind=ErrorKind.INVALID, field="language"
        ) from exc
    return template.render(lang=language, **context)


def write_pdf(html: str, path: Path) -> None:
    """``html`` as a PDF at ``path``."""
    path.write_bytes(html_to_pdf(html, base_url=str(path.parent)))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
