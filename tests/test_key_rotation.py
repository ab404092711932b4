"""Rotating the key: every answer is the same after it, and a rotation killed at any point finishes
exactly when run again, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import json
import os
import random
import subprocess
import sys
from pathlib import Path

from datavow.datamap import load_map
from datavow.requests.lifecycle import receive
from datavow.rotation import rotate_key
from datavow.secrets import fingerprint, load_key, state_directory
from datavow.store import open_store
from tests.test_key import JANE, QUESTIONS, SOURCES, Installation, answers, shop

__all__ = ["shop"]

HEADER = "email,channel,allowed,at,source\n"
#: A row with a time and one without: an import keeps a checksum of each, keyed by who it names.
PREFS = HEADER + "ann@example.com,email,false,2024-05-01T10:00:00,form\nbob@example.com,email,true,,form\n"
TIMED = HEADER + "ann@example.com,email,false,2024-05-01T10:00:00,form\n"


def _prepare(installation: Installation, tmp_path: Path) -> None:
    """A request and an import besides the shop's consent and restriction: every kind of keyed data."""
    loaded = load_map(installation.map_path)
    key = load_key(state_directory(loaded.path))
    with open_store(installation.state_url, key=lambda _session: key) as store:
        receive(store, loaded, "access", {"email": "jane@example.com"}, source="agent", actor="agent")
    (tmp_path / "prefs.csv").write_text(PREFS)
    (tmp_path / "timed.csv").write_text(TIMED)
    code, _ = installation.run("consent", "import", str(tmp_path / "prefs.csv"))
    assert code == 0, installation.errors
    for n in range(12):  # enough events for a rotation of one row per batch to be stopped in the middle
        assert installation.run("consent", "record", "--email", f"p{n}@example.com", "--channel", "email")[0] == 0


def _everything(installation: Installation, tmp_path: Path) -> list[tuple[int, str]]:
    """Every answer that depends on the key; of the verify commands, whether they found everything
    intact (their counts grow with the audit log, and they print the key's fingerprint)."""
    found = [
        (code, "intact" if args[1] == "verify" and "intact" in out else _unchained(out))
        for (args, *_), (code, out) in zip(QUESTIONS, answers(installation), strict=True)
    ]
    found.append(installation.run("requests", "show", "1", "--reveal"))
    found.append(installation.run("consent", "contact", "--email", "ann@example.com", "--channel", "email"))
    # the same row again, in another batch: found by its checksum, so nothing is recorded
    batch = f"again-{next(_BATCHES)}"
    again = installation.run("consent", "import", str(tmp_path / "timed.csv"), "--batch-id", batch, "--json")
    found.append((again[0], json.dumps({k: v for k, v in json.loads(again[1]).items() if k != "batch_id"})))
    return found


_BATCHES = itertools.count()


def _unchained(out: str) -> str:
    """``out`` without the consent events' chain hashes: a rotation chains the ledger again, since an
    event's hash covers the keyed hashes of who it names (the proof prints them, the export too)."""
    lines = []
    for line in out.splitlines():
        if line.startswith("{"):
            event = json.loads(line)
            lines.append(json.dumps({k: v for k, v in event.items() if k not in ("hash", "prev_hash")}))
        elif not line.strip().startswith("hash "):
            lines.append(line)
    return "\n".join(lines)


def test_after_a_rotation_every_answer_is_the_same_and_only_the_new_key_opens_the_store(
    shop: Installation, tmp_path: Path
) -> None:
    _prepare(shop, tmp_path)
    old = shop.key_file.read_text()
    before = _everything(shop, tmp_path)
    assert "jane@example.com" in before[-3][1]  # the request's identities, unsealed
    assert '"events": 0' in before[-1][1] and '"skipped": 1' in before[-1][1]
    code, out = shop.run("key", "rotate", "--json")
    assert code == 0, shop.errors
    rotation = json.loads(out)
    assert rotation["old_fingerprint"] != rotation["new_fingerprint"]
    assert rotation["new_fingerprint"] == fingerprint(load_key(state_directory(shop.map_path)))
    assert Path(rotation["retired_file"]).read_text() == old
    assert _everything(shop, tmp_path) == before
    assert shop.key_file.stat().st_mode & 0o777 == 0o600
    actions = [entry["action"] for entry in json.loads(shop.run("audit", "show", "--json")[1])]
    assert actions.index("key.rotated") < actions.index("key.rotation_started")  # newest first
    shop.key_file.write_text(old)  # the old key opens nothing any more
    assert shop.run("consent", "contact", *JANE, "--channel", "email") == (9, "")


def _child(map_path: str, url: str) -> None:
    """Run in a child process: rotate one row per transaction, saying so after each commit."""
    with open_store(url) as store:
        rotate_key(store, state_directory(Path(map_path)), actor="drill", batch=1,
                   progress=lambda step, done: print(step, done, flush=True))  # fmt: skip


def test_a_rotation_killed_at_any_point_finishes_exactly_when_run_again(shop: Installation, tmp_path: Path) -> None:
    _prepare(shop, tmp_path)
    before = _everything(shop, tmp_path)
    chance = random.Random(16)
    code = "from tests.test_key_rotation import _child; _child(*__import__('sys').argv[1:])"
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SOURCES, str(root)])}
    stopped = 0
    for _ in range(3):
        child = subprocess.Popen([sys.executable, "-c", code, str(shop.map_path), shop.state_url], cwd=root,
                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        assert child.stdout is not None
        for _ in range(chance.randint(1, 25)):
            if not child.stdout.readline():
                break
        child.kill()  # SIGKILL: mid-batch or between batches, wherever it is
        child.wait()
        if shop.run("key", "status", "--json")[0] == 9:  # stopped: nothing answers until it is finished
            stopped += 1
            assert shop.run("consent", "contact", *JANE, "--channel", "email") == (9, "")
            assert "rotation of the secret key" in shop.errors and "datavow key rotate" in shop.errors
        code_, out = shop.run("key", "rotate", "--json")
        assert code_ == 0, shop.errors
        assert _everything(shop, tmp_path) == before
    assert shop.run("key", "status")[0] == 0
    assert stopped >= 2  # the kills did stop rotations in the middle
