"""``datavow incident``, end to end through the command line on MIRA Software's demo, and the notices
in each of the five languages."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from datavow import load_map
from datavow.audit import list_entries, verify_chain
from datavow.cli import main
from datavow.datamap import LoadedMap
from datavow.demo import build_demo
from datavow.incidents import get_incident, notify, open_incident
from datavow.language import LANGUAGES, Language
from datavow.store import default_state_url, open_store
from tests.test_demo import TODAY


@pytest.fixture(scope="module")
def mira(tmp_path_factory: pytest.TempPathFactory) -> LoadedMap:
    (built,) = build_demo(tmp_path_factory.mktemp("demo"), scale=0.1, today=TODAY, companies=["mira-software"])
    return load_map(built.map_path)


def test_the_incident_commands(mira: LoadedMap, tmp_path: Path) -> None:
    runner = CliRunner()
    state = f"sqlite:///{tmp_path / 'state.db'}"

    def run(*args: str, code: int = 0) -> Any:
        result = runner.invoke(main, ["incident", *args, "--map", str(mira.path), "--state", state])
        assert result.exit_code == code, result.output
        return json.loads(result.output) if "--json" in args else result.output

    aware = datetime.now(UTC) - timedelta(hours=60)
    stamp = aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    run("open", "Old breach", "--description", "x", "--aware", "2026-01-05 10:00", code=11)  # no zone: refused
    old = run(
        "open",
        "Old breach",
        "--description",
        "Found late",
        "--aware",
        "2026-01-05 10:00",
        "--zone",
        "Europe/Brussels",
        "--json",
    )
    assert old["aware_at"] == "2026-01-05T09:00:00+00:00" and old["zone"] == "Europe/Brussels"
    opened = run(
        "open", "Debug endpoint", "--description", "Login records were served without authentication.",
        "--aware", f"{stamp} UTC", "--actor", "dpo:eva", "--json",
    )  # fmt: skip
    number = str(opened["id"])
    assert opened["clocks"]["authority"]["status"] == "due_soon"  # 12 of 72 hours left
    listed = run("list")
    assert "OVERDUE" in listed and "DUE SOON" in listed
    assert [i["id"] for i in run("list", "--open", "--json")] == [opened["id"], old["id"]]

    run("classify", number, "--risk", "high", "--reasoning", "r", "--kind", "confidentiality", code=11)  # not analysed
    analysed = run("analyse", number, "--table", "platform.login_events", "--since", "2026-02-01T00:00Z", "--json")
    assert analysed["impact"]["records"] > 0 and analysed["stage"] == "analysed"
    assert "records" in run("analyse", number, "--table", "platform.login_events", "--since", "2026-02-01T00:00Z")
    analysed = run("analyse", number, "--table", "platform.login_events", "--tenant", "2", "--tenant", "3", "--json")
    assert [c["tenant"] for c in analysed["impact"]["controllers"]] == ["2", "3"]
    run("classify", number, "--risk", "risk", "--reasoning", "r", "--kind", "confidentiality", code=11)  # no measures
    classified = run(
        "classify", number, "--risk", "risk", "--reasoning", "Addresses and IPs", "--kind", "confidentiality",
        "--consequences", "Phishing", "--measures", "Endpoint off", "--json",
    )  # fmt: skip
    assert classified["notify_authority"] is True and classified["notify_people"] is False
    drafts = run("notify", number, "--to", "authority", "--language", "nl", "--draft", "--out", str(tmp_path), "--json")
    assert Path(drafts[0]["files"]["pdf"]).is_file() and get_notices(state, int(number)) == 0
    run("resolve", number, "--resolution", "Fixed", code=11)  # nobody told yet
    given = run("notify", number, "--to", "authority", "--at", f"{stamp} UTC", "--out", str(tmp_path), "--json")
    assert given[0]["late"] is False and get_notices(state, int(number)) == 1
    controllers = run(
        "notify", number, "--to", "controllers", "--out", str(tmp_path), "--delay-reason", "weekend", "--json"
    )
    assert controllers and all(c["late"] for c in controllers)  # 60 hours: past the controllers' 24
    shown = run("show", number)
    assert "LATE: weekend" in shown and "authority: due" in shown
    run("resolve", number, "--resolution", "Endpoint removed")
    run("close", number, "--lessons", "Review debug flags", "--changes", "Release checklist step 7")
    run("export", code=2)  # neither --csv nor --pdf
    out = run("export", "--csv", str(tmp_path / "r.csv"), "--pdf", str(tmp_path / "r.pdf"), "--language", "de")
    assert "r.csv" in out and (tmp_path / "r.pdf").stat().st_size > 1000
    with (tmp_path / "r.csv").open(newline="") as handle:
        rows = {row["id"]: row for row in csv.DictReader(handle)}
    assert rows[number]["stage"] == "evaluated" and rows[number]["delay_reasons"] == "weekend"
    assert rows[number]["lessons"] == "Review debug flags"
    with open_store(state) as store:
        assert verify_chain(store).ok
        actors = {e.actor for e in list_entries(store, object_type="incident", object_id=number)}
        assert "dpo:eva" in actors


def get_notices(state: str, number: int) -> int:
    with open_store(state) as store:
        return len(get_incident(store, number).notices)


WORDS = {  # a phrase each language's notices must use, and the English they must not fall back to
    "en": ("The nature of the breach", "Your data affected", "What this can mean for you"),
    "nl": ("De aard van de inbreuk", "Uw getroffen gegevens", "Wat dit voor u kan betekenen"),
    "de": ("Die Art der Verletzung", "Ihre betroffenen Daten", "Was das für Sie bedeuten kann"),
    "sv": ("Incidentens art", "Era berörda uppgifter", "Vad detta kan innebära för dig"),
    "da": ("Bruddets karakter", "Jeres berørte oplysninger", "Hvad det kan betyde for dig"),
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_notices_in_every_language(mira: LoadedMap, tmp_path: Path, language: Language) -> None:
    from datavow.incidents import analyse_incident, classify_incident, resolve_scope

    now = datetime(2026, 3, 2, 12, tzinfo=UTC)
    with open_store(default_state_url(tmp_path / "datavow.yaml")) as store:
        incident = open_incident(
            store, "Breach", "Exposed <b>records</b>", aware_at=now, zone="Europe/Copenhagen", actor="t", now=now
        )
        scope = resolve_scope(mira, tables=["platform.users"], tenants=["2"])
        analyse_incident(store, mira, incident.id, scope, actor="t", now=now)
        classify_incident(
            store, incident.id, risk="high", reasoning="r", kinds=["confidentiality"], consequences="Phishing & spam",
            measures="Reset", actor="t", now=now,
        )  # fmt: skip
        written = {}
        for audience in ("authority", "controllers", "people"):
            (document,) = notify(
                store, mira, incident.id, audience, actor="t", language=language, out_dir=tmp_path, now=now, draft=True
            )
            written[audience] = document.files["html"].read_text()
    authority, controller, people = WORDS[language]
    assert authority in written["authority"] and controller in written["controllers"] and people in written["people"]
    assert f'lang="{language}"' in written["authority"]
    assert "&lt;b&gt;records&lt;/b&gt;" in written["authority"] and "Phishing &amp; spam" in written["people"]
    text = (tmp_path / f"incident-{incident.id}-people-1.{language}.txt").read_text()
    assert "Phishing & spam" in text and "Exposed <b>records</b>" in text and "<p>" not in text  # plain, unescaped
    if language != "en":
        assert WORDS["en"][0] not in written["authority"] and WORDS["en"][1] not in written["controllers"]


def test_the_maps_incident_settings_are_the_defaults(mira: LoadedMap, tmp_path: Path) -> None:
    """``incidents.zone`` reads times written without a zone; ``incidents.controller_hours`` sets
    the controllers' clock; an option given still wins."""
    map_path = tmp_path / "datavow.yaml"
    text = mira.path.read_text(encoding="utf-8").replace(
        "sqlite:///", f"sqlite:///{mira.path.parent}/"
    )  # the copy points at the demo's databases
    map_path.write_text(text + "\nincidents:\n  controller_hours: 12\n  zone: Europe/Stockholm\n", encoding="utf-8")
    state = f"sqlite:///{tmp_path / 'state.db'}"
    runner = CliRunner()

    def opened(*extra: str) -> Any:
        args = ["incident", "open", "Lost laptop", "--description", "Stolen from a car", "--map", str(map_path)]
        result = runner.invoke(main, [*args, "--state", state, "--json", *extra])
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    by_map = opened("--aware", "2026-10-24 09:00")
    assert by_map["aware_at"] == "2026-10-24T07:00:00+00:00" and by_map["zone"] == "Europe/Stockholm"
    assert by_map["controller_hours"] == 12
    by_options = opened("--aware", "2026-10-24 09:00", "--zone", "Europe/London", "--controller-hours", "6")
    assert by_options["aware_at"] == "2026-10-24T08:00:00+00:00" and by_options["controller_hours"] == 6
