"""The words: Jinja2 templates, one set per language, that a company can override.

The built-in templates live in ``datavow/documents/templates``: ``<language>/statement.j2`` and
``<language>/ropa.j2`` hold the wording (one macro per kind of fact, and the titles and labels), and
the shared ``*.html.j2`` and ``documents.css`` lay out the HTML and PDF. A company points at its own
folder (``--templates DIR`` or the map's ``documents.templates``) with the same layout: a macro or a
value it defines there replaces the built-in one, everything else stays as datavow words it. Its
files may import the built-in ones as ``builtin/<language>/statement.j2``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    PrefixLoader,
    StrictUndefined,
    TemplateNotFound,
    TemplateSyntaxError,
    UndefinedError,
)
from markupsafe import Markup, escape

from datavow.datamap import LoadedMap
from datavow.documents.errors import DocumentError
from datavow.errors import ErrorKind
from datavow.language import Language
from datavow.pdf import html_to_pdf

_LINK = r"(https?://[^\s,;()]+[^\s,;().]|[\w.+-]+@[\w-]+(?:\.[\w-]+)+)"


def template_folder(loaded: LoadedMap, given: Path | None) -> Path | None:
    """The company's template folder: ``given`` (``--templates``), else the map's ``documents.templates``
    (relative to the map), else none."""
    if given is not None:
        folder = given
    elif loaded.model.documents.templates is not None:
        folder = loaded.directory / loaded.model.documents.templates
    else:
        return None
    if not folder.is_dir():
        raise DocumentError(
            f"the template folder {folder} does not exist — create it or point elsewhere",
            kind=ErrorKind.NOT_FOUND,
            field="templates",
        )
    return folder


@lru_cache(maxsize=8)
def environment(folder: Path | None, *, html: bool) -> Environment:
    """Templates from ``folder`` first, then datavow's; ``builtin/...`` always reaches datavow's.
    Wording is rendered as plain text (the writers escape it); the HTML layouts autoescape."""
    builtin = PackageLoader("datavow.documents", "templates")
    loaders: list[BaseLoader] = [FileSystemLoader(str(folder))] if folder is not None else []
    loaders += [PrefixLoader({"builtin": builtin}), builtin]
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=html,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["linkify"] = linkify
    return env


def linkify(text: str) -> Markup:
    """``text`` escaped, with web addresses and e-mail addresses made links."""
    parts = re.split(_LINK, str(text))
    out = []
    for i, part in enumerate(parts):
        if i % 2 == 0:
            out.append(str(escape(part)))
        else:
            href = part if part.startswith("http") else f"mailto:{part}"
            out.append(f'<a href="{escape(href)}">{escape(part)}</a>')
    return Markup("".join(out))


@dataclass(frozen=True)
class Wording:
    """The wording of one document in one language: the company's module first, then datavow's."""

    language: Language
    modules: Sequence[Any]  # jinja2 TemplateModule objects, most specific first
    name: str

    def has(self, kind: str) -> bool:
        return any(hasattr(module, kind) for module in self.modules)

    def phrase(self, kind: str, data: Mapping[str, Any]) -> str:
        """The words for one fact, whitespace collapsed."""
        for module in self.modules:
            macro = getattr(module, kind, None)
            if macro is not None:
                try:
                    text = str(macro(data))
                except (UndefinedError, TypeError) as exc:
                    raise DocumentError(f"{self.language}/{self.name}: macro '{kind}' failed: {exc}") from exc
                return " ".join(text.split())
        raise DocumentError(f"{self.language}/{self.name} has no macro '{kind}' — add it to the template")

    def value(self, name: str) -> Any:
        """A value the templates set (``titles``, ``labels``): mappings are merged, the company's winning."""
        found = [getattr(module, name) for module in self.modules if hasattr(module, name)]
        if not found:
            raise DocumentError(f"{self.language}/{self.name} sets no '{name}'")
        if isinstance(found[0], Mapping):
            merged: dict[str, Any] = {}
            for mapping in reversed(found):
                merged.update(mapping)
            return merged
        return found[0]


def wording(language: Language, name: str, folder: Path | None) -> Wording:
    """The wording of ``name`` (``statement`` or ``ropa``) in ``language``."""
    env = environment(folder, html=False)
    own = folder is not None and (folder / language / f"{name}.j2").is_file()
    modules = []
    for candidate in [f"{language}/{name}.j2"] * own + [f"builtin/{language}/{name}.j2"]:
        try:
            modules.append(env.get_template(candidate).make_module())
        except TemplateNotFound as exc:
            raise DocumentError(
                f"there is no {name} template in language '{language}'", kind=ErrorKind.INVALID, field="language"
            ) from exc
        except (TemplateSyntaxError, UndefinedError) as exc:
            raise DocumentError(f"the template {candidate} is broken: {exc}") from exc
    return Wording(language=language, modules=tuple(modules), name=name)


def layout(folder: Path | None, name: str, **context: Any) -> str:
    """Render a shared HTML layout (``statement.html.j2``, ``ropa.html.j2``) with the stylesheet."""
    env = environment(folder, html=True)
    try:
        css = env.loader.get_source(env, "documents.css")[0] if env.loader else ""
        return env.get_template(name).render(css=Markup(css), **context)
    except TemplateNotFound as exc:
        raise DocumentError(f"the layout {name} is missing") from exc


def pdf(html: str) -> bytes:
    """The HTML laid out as a PDF by WeasyPrint."""
    return html_to_pdf(html)
