"""``datavow requests package``: a support agent opens a completed access request's package for
delivery, through the real command, on a real SQLite shop (the map of ``test_requests_run``)."""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import struct
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from datavow.cli import main
from tests.test_requests_run import MAP

JANE = "jane@example.com"


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    (tmp_path / "datavow.yaml").write_text(MAP)
    with sqlite3.connect(tmp_path / "shop.db") as db:
        db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, name TEXT, restricted BOOLEAN)")
        db.executemany(
            "INSERT INTO customers VALUES (?, ?, ?, 0)", [(1, JANE, "Jane Doe"), (2, "bob@example.com", "Bob Roe")]
        )
    with sqlite3.connect(tmp_path / "mail.db") as db:
        db.execute("CREATE TABLE messages (id INTEGER PRIMARY KEY, customer_id INTEGER, body TEXT)")
        db.executemany("INSERT INTO messages VALUES (?, ?, ?)", [(10, 1, "hi"), (11, 1, "again"), (12, 2, "bob's")])
    return tmp_path / "datavow.yaml"


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False, env=env)
    return result.exit_code, result.output


def request(shop: Path, kind: str = "access", *, verified: bool = True) -> dict[str, Any]:
    """A request for Jane made through the command; run at once when ``verified``."""
    verification = ["--verified-by", "passport seen"] if verified else []
    code, out = invoke("request", kind, "--map", str(shop), "--email", JANE, *verification, "--json")
    assert code == 0, out
    if not verified:
        listed = json.loads(invoke("requests", "list", "--map", str(shop), "--json")[1])
        return dict(listed[-1])
    return dict(json.loads(out))


def audit(shop: Path) -> list[dict[str, Any]]:
    code, out = invoke("audit", "show", "--map", str(shop), "--json")
    assert code == 0, out
    return list(json.loads(out))


def files_under(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_completed_access_package_opens_into_a_folder_and_is_audited(shop: Path, tmp_path: Path) -> None:
    done = request(shop)
    out = tmp_path / "for-jane"

    code, printed = invoke("requests", "package", str(done["id"]), "--map", str(shop), "--out", str(out),
                           "--actor", "agent:kim")  # fmt: skip

    assert code == 0, printed
    files = files_under(out)
    assert set(files) == {
        "letter.html",
        "manifest.json",
        "data/shop/customers.json",
        "data/shop/customers.csv",
        "data/mail/messages.json",
        "data/mail/messages.csv",
    }
    # Jane's rows, and nobody else's
    customers = json.loads(files["data/shop/customers.json"])
    assert [(row["id"], row["email"]) for row in customers] == [(1, JANE)]
    assert sorted(row["id"] for row in json.loads(files["data/mail/messages.json"])) == [10, 11]
    assert b"Bob" not in b"".join(files.values()) and b"bob's" not in b"".join(files.values())
    manifest = json.loads(files["manifest.json"])
    assert manifest["request"]["id"] == str(done["id"])
    # what it wrote is printed, and only the owner may read it
    for name in files:
        assert str(out / name) in printed
        assert (out / name).stat().st_mode & 0o777 == 0o600
    assert f"request #{done['id']}: 6 files written to {out}" in printed
    assert not [p for p in out.iterdir() if p.name.endswith(".zip")]  # the decrypted ZIP does not stay behind

    (entry,) = [entry for entry in audit(shop) if entry["action"] == "request.package_opened"]
    assert (entry["actor"], entry["object_type"], entry["object_id"]) == ("agent:kim", "request", str(done["id"]))
    assert entry["details"]["files"] == 6 and entry["details"]["bytes"] == sum(map(len, files.values()))
    logged = json.dumps(entry).lower()
    assert "jane" not in logged and "for-jane" not in logged  # never the person, nor a folder named after them


def test_the_package_opened_prints_its_files_as_json(shop: Path, tmp_path: Path) -> None:
    done = request(shop)
    out = tmp_path / "json"
    code, printed = invoke("requests", "package", str(done["id"]), "--map", str(shop), "--out", str(out), "--json")
    assert code == 0, printed
    opened = json.loads(printed)
    assert opened["request_id"] == done["id"] and opened["folder"] == str(out) and opened["expires_at"]
    assert {item["name"]: item["size"] for item in opened["files"]} == {
        name: len(content) for name, content in files_under(out).items()
    }
    assert opened["size"] == sum(item["size"] for item in opened["files"])


def test_a_folder_that_holds_files_is_never_written_into(shop: Path, tmp_path: Path) -> None:
    done = request(shop)
    out = tmp_path / "out"
    out.mkdir()
    (out / "letter.html").write_text("another person's letter")

    code, printed = invoke("requests", "package", str(done["id"]), "--map", str(shop), "--out", str(out))

    assert code == 8 and "is not empty" in printed and "Traceback" not in printed
    assert files_under(out) == {"letter.html": b"another person's letter"}
    assert "request.package_opened" not in [entry["action"] for entry in audit(shop)]


def test_requests_without_a_package_are_refused(shop: Path, tmp_path: Path) -> None:
    erased = request(shop, "erase")
    code, printed = invoke("requests", "package", str(erased["id"]), "--map", str(shop), "--out", str(tmp_path / "a"))
    assert code == 8 and "is a erasure request; only access and portability requests have a package" in printed

    waiting = request(shop, verified=False)
    code, printed = invoke("requests", "package", str(waiting["id"]), "--map", str(shop), "--out", str(tmp_path / "b"))
    assert code == 8 and f"request {waiting['id']} is received, not completed" in printed

    code, printed = invoke("requests", "package", "999", "--map", str(shop), "--out", str(tmp_path / "c"))
    assert code == 8 and "999" in printed
    assert not any((tmp_path / name).exists() for name in ("a", "b", "c"))
    assert "request.package_opened" not in [entry["action"] for entry in audit(shop)]


def _package_path(shop: Path, request_id: int) -> Path:
    code, out = invoke("requests", "show", str(request_id), "--map", str(shop), "--json")
    assert code == 0, out
    return Path(json.loads(out)["result"]["package"])


def _expire(package: Path, expires_at: str) -> None:
    """Rewrite the clear header's expiry, as time passing would leave it (its length prefix too)."""
    data = package.read_bytes()
    (length,) = struct.unpack(">I", data[4:8])
    header = json.loads(data[8 : 8 + length])
    header["expires_at"] = expires_at
    raw = json.dumps(header, sort_keys=True).encode()
    package.write_bytes(data[:4] + struct.pack(">I", len(raw)) + raw + data[8 + length :])


def test_an_expired_package_is_refused_saying_when_it_expired(shop: Path, tmp_path: Path) -> None:
    done = request(shop)
    _expire(_package_path(shop, done["id"]), "2026-01-31T09:30:00+00:00")
    out = tmp_path / "out"

    code, printed = invoke("requests", "package", str(done["id"]), "--map", str(shop), "--out", str(out))

    assert code == 8, printed
    assert f"the package of request {done['id']} expired on 2026-01-31 09:30 UTC" in printed
    assert not out.exists()


def test_a_missing_package_or_a_wrong_key_leaves_nothing_behind(shop: Path, tmp_path: Path) -> None:
    done = request(shop)
    package = _package_path(shop, done["id"])
    out = tmp_path / "out"

    wrong = {"DATAVOW_SECRET_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode()}
    code, printed = invoke("requests", "package", str(done["id"]), "--map", str(shop), "--out", str(out), env=wrong)
    # another key is refused before the package is touched: it is not the key the state store was made with
    assert code == 9 and "is not the key the state store" in printed
    assert not out.exists()  # nothing of the person's data was written, not even the folder

    package.unlink()
    code, printed = invoke("requests", "package", str(done["id"]), "--map", str(shop), "--out", str(out))
    assert code == 8 and f"the package of request {done['id']} is not at {package}" in printed
    assert "request.package_opened" not in [entry["action"] for entry in audit(shop)]


def test_a_package_swapped_for_another_requests_is_refused(shop: Path, tmp_path: Path) -> None:
    first, second = request(shop), request(shop)
    package = _package_path(shop, first["id"])
    package.write_bytes(_package_path(shop, second["id"]).read_bytes())

    code, printed = invoke("requests", "package", str(first["id"]), "--map", str(shop), "--out", str(tmp_path / "o"))

    assert code == 8 and f"holds the package of request {second['id']}, not of request {first['id']}" in printed
    assert not (tmp_path / "o").exists()
