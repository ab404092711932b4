"""The record of processing written out: HTML, PDF, CSV, XLSX and JSON-LD with W3C DPV terms.

CSV and XLSX have one row per field of the record (record, activity, Art. 30 point, field, value,
map paths, missing-because), so they filter well; XLSX has one sheet per record with an
auto-filter. JSON-LD describes each activity with DPV: purpose, legal basis, personal data
categories (dpv-pd), data subjects, recipients, storage duration and measures.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datavow.datamap import LoadedMap
from datavow.datamap.model import Role
from datavow.documents import dpv
from datavow.documents.ropa import Record, records_of_processing
from datavow.documents.wording import layout, pdf, wording
from datavow.errors import ErrorKind
from datavow.language import Language

FORMATS = ("html", "pdf", "csv", "xlsx", "jsonld")
COLUMNS = ("record", "activity", "point", "field", "value", "sources", "missing")


def labels(language: Language, folder: Path | None) -> dict[str, str]:
    found: dict[str, str] = wording(language, "ropa", folder).value("labels")
    return found


def rows(records: list[Record], words: dict[str, str]) -> Iterator[tuple[str, ...]]:
    """One row per field: what CSV and XLSX hold."""
    for record in records:
        title = f"{words[record.kind + '_record']}: {record.title}"
        for entry in record.header:
            yield _row(title, "", entry, words)
        for activity in record.activities:
            for entry in activity.entries:
                yield _row(title, activity.name, entry, words)


def _row(title: str, activity: str, entry: Any, words: dict[str, str]) -> tuple[str, ...]:
    return (
        title,
        activity,
        f"Art. {entry.point}",
        words[entry.label],
        "; ".join(entry.values),
        " ".join(entry.sources),
        entry.missing or "",
    )


def to_csv(records: list[Record], words: dict[str, str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([words[c] for c in COLUMNS])
    writer.writerows(rows(records, words))
    return out.getvalue()


def to_xlsx(records: list[Record], words: dict[str, str]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    book = Workbook()
    book.remove(book.active) if book.active is not None else None
    used: set[str] = set()
    for number, record in enumerate(records, start=1):
        # Excel sheet names: at most 31 characters, none of []:*?/\ and unique
        name = re.sub(r"[\[\]:*?/\\]", " ", f"{number} {record.title}")[:31].strip()
        used.add(name)
        sheet = book.create_sheet(name)
        sheet.append([words[c] for c in COLUMNS])
        for row in rows([record], words):
            sheet.append(list(row))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row_cells in sheet.iter_rows(min_row=2):
            if row_cells[-1].value:
                for cell in row_cells:
                    cell.fill = PatternFill("solid", fgColor="FFF1E0")
        for column, width in zip("ABCDEFG", (28, 34, 11, 24, 70, 40, 26), strict=True):
            sheet.column_dimensions[column].width = width
        for row_cells in sheet.iter_rows():
            for cell in row_cells:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.auto_filter.ref = sheet.dimensions
        sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def to_html(records: list[Record], words: dict[str, str], loaded: LoadedMap, folder: Path | None) -> str:
    organization = loaded.model.organization
    return layout(folder, "ropa.html.j2", records=records, labels=words, organization=organization)


def to_jsonld(records: list[Record], loaded: LoadedMap) -> str:
    model = loaded.model
    org = model.organization
    kinds = {Role.controller: "dpv:DataController", Role.processor: "dpv:DataProcessor"}
    me = {
        "@id": "#organisation",
        "@type": [kinds[role] for role in org.roles],
        "dpv:hasName": org.legal_name or org.name,
    }
    graph: list[dict[str, Any]] = [me]
    for key, purpose in model.purposes.items():
        activity: dict[str, Any] = {
            "@id": f"#purpose-{key}",
            "@type": "dpv:Process",
            "dct:title": purpose.name,
            "dpv:hasPurpose": {"@type": dpv.purpose_term(purpose.use), "rdfs:label": purpose.name},
            "dpv:hasLegalBasis": [{"@id": term} for term in dpv.LEGAL_BASES[purpose.basis]],
            "dpv:hasPersonalData": [
                {"@type": dpv.category_term(c), "rdfs:label": _category_name(loaded, c)} for c in purpose.categories
            ],
            "dpv:hasDataSubject": [
                {"@type": "dpv:DataSubject", "rdfs:label": model.subjects[s].name}
                for s in purpose.subjects
                if s in model.subjects
            ],
            "dpv:hasRecipient": [{"@id": f"#recipient-{r}"} for r in purpose.recipients],
            "dpv:hasTechnicalOrganisationalMeasure": [{"@id": f"#measure-{m}"} for m in model.measures],
        }
        if purpose.role is Role.processor:
            activity["dpv:hasDataProcessor"] = {"@id": "#organisation"}
        else:
            activity["dpv:hasDataController"] = {"@id": "#organisation"}
        retention = purpose.retention
        if retention is not None:
            activity["dpv:hasStorageCondition"] = {
                "@type": "dpv:StorageDuration",
                "rdfs:label": " ".join(
                    filter(None, [str(retention.period or ""), retention.after, retention.criterion])
                ),
            }
        graph.append(activity)
    for key, recipient in model.recipients.items():
        kind = {"processor": "dpv:DataProcessor", "sub_processor": "dpv:DataSubProcessor"}.get(
            recipient.kind.value, "dpv:Recipient"
        )
        node: dict[str, Any] = {"@id": f"#recipient-{key}", "@type": kind, "dpv:hasName": recipient.name}
        if recipient.country:
            node["dpv:hasCountry"] = recipient.country
        graph.append(node)
    for key, measure in model.measures.items():
        term = f"dpv:{measure.dpv}" if measure.dpv else dpv.MEASURE_KINDS[measure.kind]
        graph.append({"@id": f"#measure-{key}", "@type": term, "rdfs:label": measure.name})
    document = {"@context": dpv.CONTEXT, "@graph": graph}
    return json.dumps(document, indent=2, ensure_ascii=False)


def _category_name(loaded: LoadedMap, key: str) -> str:
    found = loaded.taxonomy.categories.get(key)
    return found.name if found else key


def write_ropa(loaded: LoadedMap, fmt: str, *, language: Language = "en", templates: Path | None = None) -> str | bytes:
    """The record of processing in ``fmt`` (one of :data:`FORMATS`)."""
    from datavow.documents.errors import DocumentError
    from datavow.documents.wording import template_folder

    if fmt not in FORMATS:
        raise DocumentError(
            f"unknown format '{fmt}' — choose one of {', '.join(FORMATS)}", kind=ErrorKind.INVALID, field="format"
        )
    records = records_of_processing(loaded)
    if fmt == "jsonld":
        return to_jsonld(records, loaded)
    folder = template_folder(loaded, templates)
    words = labels(language, folder)
    if fmt == "csv":
        return to_csv(records, words)
    if fmt == "xlsx":
        return to_xlsx(records, words)
    html = to_html(records, words, loaded, folder)
    return pdf(html) if fmt == "pdf" else html


@dataclass(frozen=True)
class WrittenRecord:
    """The record of processing in one format, and how many of its fields the map leaves empty
    (each is marked missing in the record, and a lint rule names it)."""

    content: str | bytes
    missing: int


def write_record(
    loaded: LoadedMap, fmt: str, *, language: str | None = None, templates: Path | None = None
) -> WrittenRecord:
    """:func:`write_ropa` in the language ``language`` names (else the map's default), with the count
    of fields the map leaves empty."""
    content = write_ropa(loaded, fmt, language=loaded.model.documents.language_for(language), templates=templates)
    missing = sum(1 for record in records_of_processing(loaded) for entry in record.entries() if entry.missing)
    return WrittenRecord(content, missing)
