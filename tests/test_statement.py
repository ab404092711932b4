"""The privacy statement written from the demo maps: every topic its seed statement covers, in all
five languages, each drawn from map entries; the statement diff; a company's own wording."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from datavow.cli import main
from datavow.datamap import LoadedMap, load_map
from datavow.demo import packaged_map
from datavow.documents import DocumentError, write_statement, write_statements
from datavow.documents.diff import compare_statements, statement_diff
from datavow.language import LANGUAGES, Language

# The topics each seed statement (../shared/seeds) covers, read from it by hand.
SEED_TOPICS = {
    # MIRA Software: 1 who, 2 scope (visitors, customers, suppliers, platform users; processor), 3 data
    # per group, 4 purposes, 5 legal bases, 6 retention, 7 third parties (Azure, DPAs), 8 transfers,
    # 9 security, 10 rights (forwarded to the controller) and complaints, 11 cookies, 12 changes.
    "mira-software": [
        "who", "processor", "subjects", "data", "purposes", "legal_bases", "retention", "recipients",
        "transfers", "security", "rights", "complaints", "cookies", "changes",
    ],
    # Mira Network: who we are, about whom, data as controller, cookies, what we do with the data,
    # data as processor, legal grounds, third parties, retention, protection, incident procedure,
    # your rights (complaints to us), revisions.
    "mira-network": [
        "who", "subjects", "data", "cookies", "purposes", "processor", "legal_bases", "recipients",
        "retention", "security", "breaches", "rights", "complaints", "changes",
    ],
    # Miralix: based in Denmark; data collection defined by the employer; use of data; no disclosure
    # to third parties; not kept longer than necessary; the grounds it processes on; confidentiality policy.
    "miralix": ["who", "processor", "data", "purposes", "recipients", "retention", "legal_bases", "security"],
}  # fmt: skip


def demo_map(tmp_path: Path, name: str, edit: tuple[str, str] | None = None) -> LoadedMap:
    text = packaged_map(name)
    if edit is not None:
        assert edit[0] in text
        text = text.replace(edit[0], edit[1], 1)
    folder = tmp_path / name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "datavow.yaml"
    path.write_text(text)
    return load_map(path)


def resolves(loaded: LoadedMap, source: str) -> bool:
    """The dotted map path names something the map declares."""
    node: object = loaded.model
    for part in source.split("."):
        if isinstance(node, dict):
            if part not in node:
                return False
            node = node[part]
        elif hasattr(node, part):
            node = getattr(node, part)
        else:
            return False
    return True


@pytest.fixture(scope="module")
def maps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, LoadedMap]:
    folder = tmp_path_factory.mktemp("maps")
    return {name: demo_map(folder, name) for name in SEED_TOPICS}


@pytest.mark.parametrize("name", SEED_TOPICS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_statement_covers_every_topic_of_its_seed_with_map_content(
    maps: dict[str, LoadedMap], name: str, language: Language
) -> None:
    loaded = maps[name]
    statement = write_statement(loaded, language)
    for topic in SEED_TOPICS[name]:
        part = statement.part(topic)
        assert part is not None, f"{name}/{language}: no section on {topic}"
        assert part.title and part.blocks, f"{name}/{language}: {topic} is empty"
        for block in part.blocks:
            assert block.sources, f"{name}/{language}/{topic}: '{block.text}' comes from nowhere"
            unknown = [s for s in block.sources if not resolves(loaded, s)]
            assert not unknown, f"{name}/{language}/{topic}: {unknown} are not in the map"
    # The words are the language's, and the map's names are in them.
    text = statement.markdown()
    assert loaded.model.organization.name in text
    for purpose in loaded.model.purposes.values():
        assert purpose.name in text
    marker = {
        "en": "Your rights",
        "nl": "Uw rechten",
        "de": "Ihre Rechte",
        "sv": "Dina rättigheter",
        "da": "Dine rettigheder",
    }
    assert marker[language] in text


def test_each_language_is_worded_in_that_language(maps: dict[str, LoadedMap]) -> None:
    texts = {code: write_statement(maps["mira-software"], code).markdown() for code in LANGUAGES}
    assert "Privacy statement of MIRA Software" in texts["en"]
    assert "Privacyverklaring van MIRA Software" in texts["nl"] and "gevestigd in België" in texts["nl"]
    assert "Datenschutzerklärung von MIRA Software" in texts["de"] and "Art. 6 Abs. 1 lit. b DSGVO" in texts["de"]
    assert "Integritetspolicy för MIRA Software" in texts["sv"] and "24 månader" in texts["sv"]
    assert "Privatlivspolitik for MIRA Software" in texts["da"] and "24 måneder" in texts["da"]
    assert len(set(texts.values())) == 5


def test_nothing_is_claimed_that_the_map_does_not_support(maps: dict[str, LoadedMap]) -> None:
    miralix = write_statement(maps["miralix"], "en")
    # No contact channel in the map: no "contact us at", and no invented address.
    assert "contact us" not in miralix.markdown().lower()
    # No locations, no cookies section, no date: none of those topics.
    assert miralix.part("transfers") is None and miralix.part("cookies") is None and miralix.part("changes") is None
    # Without recipients, the statement says so, from the map's empty recipients.
    recipients = miralix.part("recipients")
    assert recipients is not None and recipients.blocks[0].text == "We do not disclose personal data to third parties."
    network = write_statement(maps["mira-network"], "en").markdown()
    # Its systems have no location: the US transfers are stated with their safeguards, but nothing
    # claims where the rest of the data is kept.
    assert "Intercom in United States, safeguarded by the EU-U.S. Data Privacy Framework" in network
    assert "hosted here" not in network and "We do not transfer" not in network
    # Its cookies are placed without consent, and the statement says exactly that.
    assert "placed without asking for your consent" in network and "only with your consent" not in network
    software = write_statement(maps["mira-software"], "en").markdown()
    assert "We do not transfer personal data outside the European Economic Area (EEA)." in software
    assert "Non-essential cookies" in software and "placed only with your consent" in software


def test_the_html_carries_each_paragraphs_map_paths_and_the_trace_lists_them(
    maps: dict[str, LoadedMap], tmp_path: Path
) -> None:
    statement = write_statement(maps["mira-software"], "en")
    html = statement.html()
    assert (
        '<li data-source="purposes.support.retention">Technical support: 24 months after the ticket is closed.</li>'
        in html
    )
    assert '<a href="mailto:info@izit.be">info@izit.be</a>' in html
    assert len(re.findall(r"data-source=", html)) == len(statement.trace())
    result = CliRunner().invoke(
        main, ["statement", "--map", str(maps["mira-software"].path), "--trace", "--language", "de"]
    )
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in result.output.splitlines()]
    assert all(len(row) == 4 and row[0] == "de" for row in rows)
    assert ["de", "retention", "purposes.support.retention"] in [row[:3] for row in rows]


def test_the_cli_writes_every_published_language(maps: dict[str, LoadedMap], tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main,
        ["statement", "--map", str(maps["miralix"].path), "--language", "all", "--format", "html", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(f"statement.{code}.html" for code in LANGUAGES)
    assert '<html lang="da">' in (out / "statement.da.html").read_text()


def test_changing_one_retention_period_changes_exactly_its_sentence(tmp_path: Path) -> None:
    before = demo_map(tmp_path / "a", "mira-software")
    after = demo_map(
        tmp_path / "b",
        "mira-software",
        (
            "retention: {period: 24 months, after: the ticket is closed}",
            "retention: {period: 36 months, after: the ticket is closed}",
        ),
    )
    for code in LANGUAGES:
        changes = statement_diff(write_statement(before, code), write_statement(after, code))
        assert [(c.change, c.topic, c.sources) for c in changes] == [
            ("removed", "retention", ("purposes.support.retention",)),
            ("added", "retention", ("purposes.support.retention",)),
        ], code
        assert "24" in changes[0].text and "36" in changes[1].text
    compared = compare_statements(str(before.path), str(after.path), "nl")
    assert [(c.change, c.sources) for c in compared] == [
        ("removed", ("purposes.support.retention",)),
        ("added", ("purposes.support.retention",)),
    ]
    assert compare_statements(str(before.path), str(before.path)) == []
    result = CliRunner().invoke(main, ["statement", "diff", str(before.path), str(after.path), "--json"])
    assert result.exit_code == 1, result.output
    assert [c["text"] for c in json.loads(result.output)] == [
        "Technical support: 24 months after the ticket is closed.",
        "Technical support: 36 months after the ticket is closed.",
    ]
    same = CliRunner().invoke(main, ["statement", "diff", str(before.path), str(before.path)])
    assert same.exit_code == 0 and "does not change" in same.output


def test_diff_reads_a_git_revision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    path = repo / "datavow.yaml"
    path.write_text(packaged_map("miralix"))
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "datavow.yaml"], check=True)
    subprocess.run([*git, "commit", "-qm", "map"], check=True)
    path.write_text(packaged_map("miralix").replace("name: Datatilsynet", "name: Datatilsynet (the Danish DPA)"))
    monkeypatch.chdir(repo)
    result = CliRunner().invoke(main, ["statement", "diff", "HEAD:datavow.yaml", "datavow.yaml", "--language", "da"])
    assert result.exit_code == 1, result.output
    assert "- [complaints]" in result.output and "Datatilsynet (the Danish DPA)" in result.output
    wrong = CliRunner().invoke(main, ["statement", "diff", "nope:datavow.yaml", "datavow.yaml"])
    assert wrong.exit_code == DocumentError.exit_code and "git cannot show" in wrong.output


def test_a_company_overrides_the_wording_macro_by_macro(tmp_path: Path) -> None:
    loaded = demo_map(
        tmp_path, "miralix", ("documents:\n  language: en\n", "documents:\n  language: en\n  templates: wording\n")
    )
    (loaded.directory / "wording" / "nl").mkdir(parents=True)
    (loaded.directory / "wording" / "nl" / "statement.j2").write_text(
        "{% macro recipients_none(f) %}Wij verkopen uw gegevens aan niemand.{% endmacro %}\n"
        '{% set titles = {"who": "Over ons"} %}\n'
    )
    statement = write_statement(loaded, "nl")
    recipients, who = statement.part("recipients"), statement.part("who")
    assert recipients is not None and recipients.blocks[0].text == "Wij verkopen uw gegevens aan niemand."
    assert who is not None and who.title == "Over ons"
    retention = statement.part("retention")
    assert retention is not None and retention.title == "Hoe lang bewaren wij persoonsgegevens?"  # still datavow's
    recipients = write_statement(loaded, "en").part("recipients")
    assert recipients is not None and recipients.blocks[0].text.startswith("We do not disclose")
    (loaded.directory / "wording" / "nl" / "statement.j2").write_text(
        "{% macro recipients_none(f) %}{{ f.nope }}{% endmacro %}"
    )
    with pytest.raises(DocumentError, match="recipients_none"):
        write_statement(loaded, "nl")


def test_the_statement_pdf_renders(maps: dict[str, LoadedMap], tmp_path: Path) -> None:
    import pypdfium2

    out = tmp_path / "statement.pdf"
    arguments = ["statement", "--map", str(maps["mira-network"].path), "--language", "sv", "--format", "pdf"]
    result = CliRunner().invoke(main, [*arguments, "--out", str(out)])
    assert result.exit_code == 0, result.output
    pdf = pypdfium2.PdfDocument(out)
    assert len(pdf) >= 2
    assert "Integritetspolicy för Mira Network" in pdf[0].get_textpage().get_text_range()
    image = pdf[0].render(scale=1).to_pil().convert("L")
    assert sum(image.histogram()[:128]) > 2000, "the first page is blank"
    binary = CliRunner().invoke(main, arguments)
    assert binary.exit_code == 2 and "--out" in binary.output


def test_statements_come_in_the_languages_asked_for(maps: dict[str, LoadedMap]) -> None:
    loaded = next(iter(maps.values()))
    documents = loaded.model.documents
    assert [s.language for s in write_statements(loaded)] == [documents.language]
    assert [s.language for s in write_statements(loaded, ["all"])] == list(documents.languages)
    assert [s.language for s in write_statements(loaded, ["DE", "nl-BE"])] == ["de", "nl"]
