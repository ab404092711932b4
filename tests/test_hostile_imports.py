"""The other files datavow reads from users meet hostile input as the map loader does: a preference
list with a cell past the CSV reader's limit or a time that leaves the calendar in UTC, a map read
from a git revision that is an alias bomb or includes files outside its folder, an anchor file of
nested brackets or numbers no column holds, a Fides dataset whose key is written as a number. Each is refused as
a :class:`DatavowError` saying where, never a traceback, and nothing is written.

Real things: SQLite state stores, a git repository, the shop's map.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from datavow.audit.anchors import read_anchors
from datavow.consent import ConsentError, consent_key, import_csv
from datavow.datamap import LoadedMap
from datavow.documents.diff import load_revision
from datavow.errors import AuditError, ImportError_, MapError
from datavow.interop.fides import import_fides
from datavow.store import Store
from datavow.store.models import ConsentEventRow
from tests import test_requests_lifecycle as lifecycle

shop = lifecycle.shop
store = lifecycle.store


def _events(store: Store) -> int:
    with store.session(write=False) as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(ConsentEventRow)) or 0)


@pytest.mark.parametrize(
    ("row", "words"),
    [
        ("ann@example.com,true,email," + "x" * 200_000, "line 2: field larger than field limit"),
        ("ann@example.com,true,email,9999-12-31T23:59:59-23:59", "line 2: the time 9999-12-31T23:59:59-23:59"),
        ("ann@example.com,true,email,0001-01-01T00:00:00+23:59", "is out of range in UTC"),
    ],
    ids=["huge-cell", "past-9999", "before-year-1"],
)
def test_a_preference_list_that_breaks_the_reader_is_refused_by_line(
    store: Store, shop: LoadedMap, tmp_path: Path, row: str, words: str
) -> None:
    path = tmp_path / "prefs.csv"
    path.write_text("email,allowed,channel,at\n" + row + "\n", encoding="utf-8")
    with pytest.raises(ConsentError) as raised:
        import_csv(store, shop, path, actor="import", key=consent_key(store, shop))
    assert words in str(raised.value) and "nothing imported" in str(raised.value)
    assert _events(store) == 0


def _commit(repo: Path, files: dict[str, str]) -> None:
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text, encoding="utf-8")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "map"], check=True)


def test_a_map_read_from_git_is_loaded_within_the_loaders_bounds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    rows = ["a0: &a0 [" + ", ".join(["lol"] * 50) + "]"]
    rows += [f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 50) + "]" for n in range(1, 9)]
    _commit(repo, {"datavow.yaml": "\n".join(rows) + "\ninclude: [*a8]\n"})
    monkeypatch.chdir(repo)
    workdir = tmp_path / "work"
    workdir.mkdir()
    started = time.monotonic()
    with pytest.raises(MapError, match="repeat more than"):
        load_revision("HEAD:datavow.yaml", workdir)
    assert time.monotonic() - started < 2.0


def test_a_map_read_from_git_finds_its_includes_and_never_writes_outside_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    shared = "subjects: {customer: Customers}\n"
    main_map = "include: [../shared/subjects.yaml]\norganization: {name: Shop, country: BE}\n"
    _commit(repo, {"maps/datavow.yaml": main_map, "shared/subjects.yaml": shared})
    monkeypatch.chdir(repo)
    workdir = tmp_path / "work"
    workdir.mkdir()
    with pytest.raises(MapError) as raised:  # the map lacks a contact; its include was found
        load_revision("HEAD:maps/datavow.yaml", workdir)
    assert "subjects.yaml" not in str(raised.value) and "contact" in str(raised.value)
    assert (workdir / "shared" / "subjects.yaml").read_text(encoding="utf-8") == shared

    escaping = "include: [../../outside.yaml, ../../../outside.yaml]\n"
    (repo / "maps" / "datavow.yaml").write_text(escaping, encoding="utf-8")
    (tmp_path / "outside.yaml").write_text("{}\n", encoding="utf-8")
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com",
                    "commit", "-qam", "escape"], check=True)  # fmt: skip
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with pytest.raises(MapError, match="no such file"):
        load_revision("HEAD:maps/datavow.yaml", elsewhere)
    assert [p.relative_to(elsewhere).as_posix() for p in elsewhere.rglob("*")] == ["maps", "maps/datavow.yaml"]
    assert (tmp_path / "outside.yaml").read_text(encoding="utf-8") == "{}\n"


@pytest.mark.parametrize(
    "line",
    [
        "[" * 100_000,
        '{"seq": ' + "9" * 4000 + ', "hash": "' + "a" * 64 + '", "signed_from": null, "signature": null, "at": "2026"}',
        '{"seq": 1, "hash": "' + "a" * 64 + '", "signed_from": 1e999, "signature": null, "at": "2026-01-01"}',
    ],
    ids=["nested", "past-64-bits", "infinite"],
)
def test_an_anchor_file_that_is_not_one_is_refused_by_line(tmp_path: Path, line: str) -> None:
    path = tmp_path / "anchors.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(AuditError, match=r"anchors.jsonl:1: not an anchor"):
        read_anchors(path)


@pytest.mark.parametrize("key", ["12", "shop"])
def test_a_fides_dataset_whose_key_is_written_as_a_number_is_placed_not_a_crash(tmp_path: Path, key: str) -> None:
    path = tmp_path / "dataset.yml"
    path.write_text(
        f"dataset:\n  - fides_key: {key}\n    name: shop\n    collections:\n      - name: users\n        fields:\n"
        "          - {name: email, data_categories: [user.contact.email], fides_meta: {identity: email}}\n",
        encoding="utf-8",
    )
    if key == "shop":
        assert "users:" in import_fides(path)  # the same file with a key of text imports
        return
    with pytest.raises(ImportError_) as raised:
        import_fides(path)
    (problem,) = raised.value.problems
    assert str(problem.location).endswith(":2:16") and "'12' cannot name a datavow system" in problem.message
