"""The privacy statement: the map's facts worded in one language, as Markdown, HTML or PDF.

Every block of text keeps the map paths of the fact it words. The HTML carries them in a
``data-source`` attribute on each paragraph and list item, :meth:`Statement.trace` lists them, and
the statement diff compares sentence by sentence with them attached.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from datavow.datamap import LoadedMap
from datavow.documents.facts import Section, day, statement_facts
from datavow.documents.wording import Wording, layout, pdf, template_folder, wording
from datavow.language import Language

# A sentence ends at . ! or ? followed by a space and a capital letter (or a digit, or a quote).
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"“„(]?[A-ZÄÖÅÆØÜ0-9])")


@dataclass(frozen=True)
class Block:
    """A paragraph or a list item, and the map paths it is drawn from."""

    text: str
    sources: tuple[str, ...]
    item: bool


@dataclass(frozen=True)
class Part:
    """One section of the statement: its topic, its heading and its blocks."""

    topic: str
    title: str
    blocks: tuple[Block, ...]

    def runs(self) -> Iterator[tuple[bool, tuple[Block, ...]]]:
        """The blocks grouped into paragraphs (False) and lists (True), in order."""
        run: list[Block] = []
        for block in self.blocks:
            if run and (block.item != run[-1].item or not block.item):
                yield run[-1].item, tuple(run)
                run = []
            run.append(block)
        if run:
            yield run[-1].item, tuple(run)


@dataclass(frozen=True)
class Sentence:
    topic: str
    text: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Statement:
    """The privacy statement in one language."""

    language: Language
    title: str
    updated: str | None
    parts: tuple[Part, ...]

    def part(self, topic: str) -> Part | None:
        return next((p for p in self.parts if p.topic == topic), None)

    def markdown(self) -> str:
        lines = [f"# {self.title}", ""]
        if self.updated:
            lines += [f"_{self.updated}_", ""]
        for number, part in enumerate(self.parts, start=1):
            lines += [f"## {number}. {part.title}", ""]
            for is_list, blocks in part.runs():
                lines += [f"- {b.text}" for b in blocks] if is_list else [b.text for b in blocks]
                lines.append("")
        return "\n".join(lines)

    def html(self, templates: Path | None = None) -> str:
        return layout(templates, "statement.html.j2", statement=self)

    def pdf(self, templates: Path | None = None) -> bytes:
        return pdf(self.html(templates))

    def sentences(self) -> list[Sentence]:
        """Every sentence, with its section and the map paths of the block it is in."""
        return [
            Sentence(part.topic, text, block.sources)
            for part in self.parts
            for block in part.blocks
            for text in _SENTENCE_END.split(block.text)
            if text
        ]

    def trace(self) -> list[tuple[str, str, tuple[str, ...]]]:
        """(topic, text, sources) for every block: what a reviewer checks against the map."""
        return [(part.topic, block.text, block.sources) for part in self.parts for block in part.blocks]


def write_statement(loaded: LoadedMap, language: Language, *, templates: Path | None = None) -> Statement:
    """The statement for ``loaded`` in ``language``; ``templates`` overrides the map's template folder."""
    folder = template_folder(loaded, templates)
    words = wording(language, "statement", folder)
    titles = words.value("titles")
    organization = loaded.model.organization
    title = words.phrase("heading", {"name": organization.name, "legal_name": organization.legal_name})
    updated_on = loaded.model.documents.statement.updated
    updated = words.phrase("updated", {"date": day(updated_on)}) if updated_on else None
    return Statement(
        language=language,
        title=title,
        updated=updated,
        parts=tuple(_part(section, titles[section.topic], words) for section in statement_facts(loaded)),
    )


def _part(section: Section, title: str, words: Wording) -> Part:
    blocks = tuple(Block(words.phrase(f.kind, f.data), f.sources, f.item) for f in section.facts)
    return Part(section.topic, title, tuple(b for b in blocks if b.text))


def write_statements(
    loaded: LoadedMap, languages: Sequence[str] = (), *, templates: Path | None = None
) -> list[Statement]:
    """The statement in each of ``languages`` (codes such as ``"nl"`` or ``"de-DE"``): every language
    the map publishes when they include ``"all"``, the map's default language when there are none."""
    documents = loaded.model.documents
    if "all" in languages:
        chosen = list(documents.languages)
    else:
        chosen = [documents.language_for(code) for code in languages or [""]]
    return [write_statement(loaded, code, templates=templates) for code in chosen]
