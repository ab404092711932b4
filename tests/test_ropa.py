"""The record of processing (Art. 30) from the demo maps: every field filled or flagged by lint; the
CSV, XLSX, JSON-LD, HTML and PDF parse back."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from datavow.cli import main
from datavow.datamap import LoadedMap, load_map
from datavow.demo import packaged_map
from datavow.documents import write_record
from datavow.documents.ropa import records_of_processing
from datavow.documents.ropa_formats import write_ropa
from datavow.lint import run_lint

COMPANIES = ("mira-software", "mira-network", "miralix")
DPV = "https://w3id.org/dpv#"


@pytest.fixture(scope="module")
def maps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, LoadedMap]:
    found = {}
    for name in COMPANIES:
        path = tmp_path_factory.mktemp(name) / "datavow.yaml"
        path.write_text(packaged_map(name))
        found[name] = load_map(path)
    return found


@pytest.mark.parametrize("name", COMPANIES)
def test_every_art30_field_is_filled_or_flagged_by_lint(maps: dict[str, LoadedMap], name: str) -> None:
    loaded = maps[name]
    records = records_of_processing(loaded)
    assert records[0].kind == "controller"
    assert [r.kind for r in records[1:]] == ["processor"] * len(loaded.model.organization.controllers)
    fired = {finding.rule for finding in run_lint(loaded)}
    points = set()
    for record in records:
        for entry in record.entries():
            points.add(entry.point)
            if entry.filled:
                assert entry.missing is None and entry.sources
            else:
                assert entry.missing in fired, f"{name}: {entry.label} is empty and {entry.missing} does not fire"
    expected = {f"30(1)({p})" for p in "abcdefg"} | {f"30(2)({p})" for p in "abcd"}
    assert points == expected


def test_the_gaps_the_seeds_leave_are_named(maps: dict[str, LoadedMap]) -> None:
    missing = {
        name: {(e.label, e.missing) for r in records_of_processing(loaded) for e in r.entries() if e.missing}
        for name, loaded in maps.items()
    }
    assert ("organisation", "controller-contact-missing") in missing["miralix"]
    assert ("transfers", "system-without-location") in missing["mira-network"]
    assert ("retention", "purpose-without-retention") in missing["mira-network"]  # recruitment
    assert ("controller", "controller-served-without-contact") in missing["mira-software"]
    assert ("transfers", "system-without-location") not in missing["mira-software"]


def test_csv_and_xlsx_hold_one_row_per_field(maps: dict[str, LoadedMap], tmp_path: Path) -> None:
    from openpyxl import load_workbook

    loaded = maps["mira-network"]
    records = records_of_processing(loaded)
    fields = sum(1 for r in records for _ in r.entries())
    text = write_ropa(loaded, "csv")
    assert isinstance(text, str)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == fields
    support = next(
        r for r in rows if r["Processing activity"] == "Customer support" and r["Field"] == "Categories of recipients"
    )
    assert "Intercom (processor, United States)" in support["Value"] and support["Art. 30"] == "Art. 30(1)(d)"
    out = tmp_path / "ropa.xlsx"
    result = CliRunner().invoke(main, ["ropa", "--map", str(loaded.path), "--format", "xlsx", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "field(s) missing" in result.output
    book = load_workbook(out)
    assert len(book.sheetnames) == len(records)
    for sheet in book.worksheets:
        assert sheet.auto_filter.ref == sheet.dimensions
        assert sheet.cell(1, 1).value == "Record"
    assert sum(sheet.max_row - 1 for sheet in book.worksheets) == fields
    german = write_ropa(loaded, "csv", language="de")
    assert isinstance(german, str) and german.startswith("Verzeichnis,Verarbeitungstätigkeit")


def test_jsonld_uses_dpv_terms(maps: dict[str, LoadedMap]) -> None:
    text = write_ropa(maps["mira-software"], "jsonld")
    assert isinstance(text, str)
    document = json.loads(text)
    assert document["@context"]["dpv"] == DPV and document["@context"]["pd"] == "https://w3id.org/dpv/pd#"
    nodes = {node["@id"]: node for node in document["@graph"]}
    invoicing = nodes["#purpose-invoicing"]
    assert invoicing["@type"] == "dpv:Process"
    assert invoicing["dpv:hasLegalBasis"] == [{"@id": "dpv:LegalObligation"}]
    assert invoicing["dpv:hasPurpose"]["@type"] == "dpv:LegalCompliance"
    assert {"pd:Name", "pd:EmailAddress", "pd:PhysicalAddress"} == {
        c["@type"] for c in invoicing["dpv:hasPersonalData"]
    }
    assert nodes["#purpose-security"]["dpv:hasLegalBasis"] == [{"@id": "dpv:LegitimateInterest"}]
    assert nodes["#purpose-cookies"]["dpv:hasLegalBasis"] == [{"@id": "dpv:Consent"}]
    assert nodes["#purpose-service"]["dpv:hasDataProcessor"] == {"@id": "#organisation"}
    assert nodes["#measure-tls"]["@type"] == "dpv:EncryptionInTransfer"
    assert nodes["#recipient-azure"]["@type"] == "dpv:DataProcessor"
    assert nodes["#organisation"]["@type"] == ["dpv:DataController", "dpv:DataProcessor"]


def test_html_and_pdf_render(maps: dict[str, LoadedMap], tmp_path: Path) -> None:
    import pypdfium2

    loaded = maps["miralix"]
    html = write_ropa(loaded, "html")
    assert isinstance(html, str)
    assert (
        '<td class="missing" data-source="organization.name">missing, flagged by lint: controller-contact-missing</td>'
        in html
    )
    out = tmp_path / "ropa.pdf"
    result = CliRunner().invoke(main, ["ropa", "--map", str(loaded.path), "--format", "pdf", "--out", str(out)])
    assert result.exit_code == 0, result.output
    pdf = pypdfium2.PdfDocument(out)
    assert len(pdf) >= 2  # the controller's record and the processor's, each on its own page
    image = pdf[0].render(scale=1).to_pil().convert("L")
    dark = sum(image.histogram()[:128])
    assert dark > 2000, "the first page is blank"


def test_the_written_record_counts_the_fields_the_map_leaves_empty(maps: dict[str, LoadedMap]) -> None:
    loaded = maps["mira-network"]
    written = write_record(loaded, "csv", language="nl")
    gaps = sum(1 for record in records_of_processing(loaded) for entry in record.entries() if entry.missing)
    assert written.missing == gaps > 0
    assert isinstance(written.content, str) and written.content == write_ropa(loaded, "csv", language="nl")
    assert write_record(loaded, "csv").content == write_ropa(loaded, "csv", language=loaded.model.documents.language)
