"""The installation's key fails closed: made only on purpose, recorded by the store, and without it
(or with another) no answer about consent, restriction or the logs is given, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

import datavow
from datavow.cli import main
from datavow.secrets import KEY_ENV, fingerprint, load_key, new_key_text, state_directory
from tests.test_requests_lifecycle import write_shop

SOURCES = str(Path(datavow.__file__).parent.parent)

JANE = ["--email", "jane@example.com"]
JOHN = ["--email", "john@example.com"]


@dataclass
class Installation:
    """A shop whose key was made with ``datavow key create``, and its state store."""

    map_path: Path
    state_url: str

    @property
    def where(self) -> list[str]:
        return ["--map", str(self.map_path), "--state", self.state_url]

    @property
    def key_file(self) -> Path:
        return state_directory(self.map_path) / "secret.key"

    def run(self, *args: str, stdin: str | None = None, env: dict[str, str | None] | None = None) -> tuple[int, str]:
        """The command's exit code and what it printed on stdout; stderr is in :attr:`errors`."""
        result = CliRunner().invoke(main, [*args, *self.where], input=stdin, env=env, catch_exceptions=False)
        self.errors = result.stderr
        return result.exit_code, result.stdout

    errors: str = ""


@pytest.fixture(params=["sqlite", "postgresql"])
def shop(request: pytest.FixtureRequest, tmp_path: Path, without_key_env: None) -> Iterator[Installation]:
    """A new installation (no key yet) on each backend: a person who withdrew e-mail and asked for a
    restriction (jane), and one who gave consent to the newsletter (john)."""
    loaded = write_shop(tmp_path / "shop")
    url = f"sqlite:///{loaded.directory / '.datavow' / 'state.db'}"
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
    installation = Installation(loaded.path, url)
    code, out = installation.run("key", "create", "--json")
    assert code == 0, installation.errors
    assert json.loads(out)["fingerprint"] == fingerprint(load_key(state_directory(loaded.path)))
    assert installation.run("consent", "withdraw", *JANE, "--channel", "email")[0] == 0
    assert installation.run("request", "restrict", *JANE, "--reason", "accuracy contested")[0] == 0
    assert installation.run("consent", "record", *JOHN, "--purpose", "newsletter")[0] == 0
    assert installation.run("consent", "record", *JOHN, "--channel", "email")[0] == 0
    yield installation


#: Every question the key decides, with the answer a good key gives: (exit code, stdout holds).
QUESTIONS: list[tuple[list[str], str | None, int, str]] = [
    (["consent", "contact", *JANE, "--channel", "email"], None, 1, "no"),
    (["consent", "contact", *JOHN, "--channel", "email"], None, 0, "yes"),
    (["consent", "check", *JOHN, "--purpose", "newsletter"], None, 0, "yes"),
    (["consent", "check", *JANE, "--purpose", "newsletter"], None, 1, "no"),
    (["consent", "filter", "--channel", "email", "-"], "jane@example.com\njohn@example.com\n", 0, "john@example.com"),
    (["consent", "proof", *JANE, "--purpose", "newsletter", "--channel", "email"], None, 0, "withdrawn"),
    (["consent", "export", "--json"], None, 0, "jane@example.com"),
    (["request", "status", *JANE], None, 1, "restricted"),
    (["request", "status", *JANE, "--purpose", "newsletter"], None, 1, "may not process"),
    (["request", "status", *JOHN], None, 0, "not restricted"),
    (["consent", "verify"], None, 0, "intact"),
    (["audit", "verify"], None, 0, "intact"),
]


def answers(shop: Installation, env: dict[str, str | None] | None = None) -> list[tuple[int, str]]:
    return [shop.run(*args, stdin=stdin, env=env) for args, stdin, _, _ in QUESTIONS]


def assert_every_answer_refused(shop: Installation, env: dict[str, str | None] | None = None) -> list[str]:
    """Every question exits 9 and prints no answer at all; returns the messages."""
    messages = []
    for args, stdin, _, _ in QUESTIONS:
        code, out = shop.run(*args, stdin=stdin, env=env)
        assert (code, out) == (9, ""), f"{args}: {code} {out!r}"
        messages.append(shop.errors)
    # Writing is refused as much as reading: nothing lands in the ledgers under another key.
    for args in (["consent", "record", *JANE, "--channel", "email"], ["request", "restrict", *JOHN, "--reason", "x"]):
        assert shop.run(*args, env=env) == (9, ""), args
    return messages


def assert_the_good_answers(shop: Installation) -> None:
    for (args, _, code, holds), (got_code, out) in zip(QUESTIONS, answers(shop), strict=True):
        assert got_code == code and holds in out, f"{args}: {got_code} {out!r} {shop.errors}"
        if args[1] == "filter":
            assert out.split() == ["john@example.com"]


def test_the_good_key_answers_and_a_moved_key_refuses_every_answer(shop: Installation, tmp_path: Path) -> None:
    assert_the_good_answers(shop)
    shop.key_file.rename(tmp_path / "moved.key")
    messages = assert_every_answer_refused(shop)
    assert all("there is no secret key" in message and "Restore the key file" in message for message in messages)
    assert not shop.key_file.exists()  # nothing made a new key, not even the readers
    (tmp_path / "moved.key").rename(shop.key_file)
    assert_the_good_answers(shop)


def test_a_replaced_key_file_refuses_every_answer(shop: Installation) -> None:
    good = shop.key_file.read_text()
    shop.key_file.write_text(new_key_text() + "\n")
    messages = assert_every_answer_refused(shop)
    assert all("is not the key the state store" in message for message in messages)
    assert all("datavow key status" in message for message in messages)  # the CLI adds the command that helps
    shop.key_file.write_text(good)
    assert_the_good_answers(shop)


@pytest.mark.parametrize("corrupt", ["cut", "garbage", "empty"])
def test_a_corrupt_key_file_refuses_every_answer(shop: Installation, corrupt: str) -> None:
    good = shop.key_file.read_text()
    shop.key_file.write_text({"cut": good[:20], "garbage": "!" * 44, "empty": ""}[corrupt])
    messages = assert_every_answer_refused(shop)
    assert all(f"the secret key in {shop.key_file}" in message for message in messages)
    shop.key_file.write_text(good)
    assert_the_good_answers(shop)


def test_another_key_in_the_environment_is_refused_and_the_same_key_there_works(shop: Installation) -> None:
    messages = assert_every_answer_refused(shop, env={KEY_ENV: new_key_text()})
    assert all(f"the secret key from ${KEY_ENV}" in message for message in messages)
    same: dict[str, str | None] = {KEY_ENV: shop.key_file.read_text().strip()}
    shop.key_file.unlink()  # the variable alone is the key
    for (args, _, code, holds), (got_code, out) in zip(QUESTIONS, answers(shop, env=same), strict=True):
        assert got_code == code and holds in out, args


def test_a_key_file_others_may_read_is_refused_with_the_fix(shop: Installation) -> None:
    shop.key_file.chmod(0o644)
    messages = assert_every_answer_refused(shop)
    assert all(f"chmod 600 {shop.key_file}" in message for message in messages)
    shop.key_file.chmod(0o600)
    assert_the_good_answers(shop)


def test_key_create_refuses_to_replace_a_key_and_status_reports(shop: Installation, tmp_path: Path) -> None:
    key = shop.key_file.read_text()
    assert shop.run("key", "create")[0] == 9 and "there is a key file" in shop.errors
    shop.key_file.unlink()
    # the store remembers its key: a new one would open none of its data
    assert shop.run("key", "create")[0] == 9 and "was made with a key already" in shop.errors
    assert not shop.key_file.exists()
    code, out = shop.run("key", "status", "--json")
    status = json.loads(out)
    assert code == 9 and status["ok"] is False and status["fingerprint"] is None and status["store_fingerprint"]
    shop.key_file.write_text(key)
    shop.key_file.chmod(0o600)
    code, out = shop.run("key", "status", "--json")
    status = json.loads(out)
    assert code == 0 and status["matches"] is True and status["fingerprint"] == status["store_fingerprint"]
    assert shop.run("key", "create", env={KEY_ENV: key.strip()})[0] == 9 and f"${KEY_ENV} is set" in shop.errors


def test_the_state_folder_the_store_and_the_key_are_private(tmp_path: Path, without_key_env: None) -> None:
    loaded = write_shop(tmp_path / "shop")
    result = CliRunner().invoke(main, ["key", "create", "--map", str(loaded.path)])
    assert result.exit_code == 0, result.stderr
    folder = state_directory(loaded.path)
    assert "Back it up" in result.stdout and str(folder / "secret.key") in result.stdout
    modes = {path.name: path.stat().st_mode & 0o777 for path in (folder, folder / "secret.key", folder / "state.db")}
    assert modes == {".datavow": 0o700, "secret.key": 0o600, "state.db": 0o600}


def _datavow(*args: str, key: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": SOURCES, KEY_ENV: key}
    return subprocess.run(
        [sys.executable, "-m", "datavow", *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_two_processes_on_one_postgresql_store_share_the_key_or_are_refused(tmp_path: Path, postgres_url: str) -> None:
    """Two hosts on one store, each with its own copy of the map: only the store's key works."""
    hosts = [write_shop(tmp_path / name).path for name in ("one", "two")]
    key, other = new_key_text(), new_key_text()
    first = _datavow("consent", "withdraw", *JANE, "--channel", "email", "--map", str(hosts[0]),
                     "--state", postgres_url, key=key)  # fmt: skip
    assert first.returncode == 0, first.stderr  # the first key used with the store is its key
    ask = ["consent", "contact", *JANE, "--channel", "email", "--state", postgres_url]
    same = _datavow(*ask, "--map", str(hosts[1]), key=key)
    assert (same.returncode, same.stdout.splitlines()[0]) == (1, "no")
    wrong = _datavow(*ask, "--map", str(hosts[1]), key=other)
    assert (wrong.returncode, wrong.stdout) == (9, "") and "is not the key the state store" in wrong.stderr
    written = _datavow("consent", "record", *JANE, "--channel", "email", "--map", str(hosts[1]),
                       "--state", postgres_url, key=other)  # fmt: skip
    assert written.returncode == 9
    again = _datavow(*ask, "--map", str(hosts[0]), key=key)
    assert again.returncode == 1 and "(event #1)" in again.stdout  # the refused host wrote nothing
    assert not any((state_directory(host) / "secret.key").exists() for host in hosts)  # nor made a key
