"""Anchoring the audit log's head on the map's schedule: a file outside the store, a mail to the
DPO over a real SMTP server, and the worker that does it."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from datavow.audit import append, list_entries, read_anchors, verify_chain
from datavow.cli import main
from datavow.datamap import load_map
from datavow.requests.mail import SMTP_URL_ENV
from datavow.retention.anchoring import ANCHORED, anchor_if_due
from datavow.store import Store, default_state_url, open_store
from tests import test_mail, test_store
from tests.test_mail import SmtpServer

state_url = test_store.state_url
store = test_store.store
smtp = test_mail.smtp

KEY = bytes(range(32))

MAP = """organization:
  name: Example bv
  country: BE
  contact: {email: info@example.be}
  dpo: {email: dpo@example.be}
retention:
  anchor: {file: anchors/head.jsonl, every: 1 hour, mail: true}
"""


def _map(tmp_path: Path, text: str = MAP) -> Path:
    (tmp_path / "anchors").mkdir(exist_ok=True)
    path = tmp_path / "datavow.yaml"
    path.write_text(text)
    return path


def test_the_head_is_anchored_to_a_file_and_mailed_when_due(store: Store, tmp_path: Path, smtp: SmtpServer) -> None:
    loaded = load_map(_map(tmp_path))
    signed = Store(store.engine, lambda _session: KEY)
    append(signed, "dpo@example.be", "request.erased", "request", "1")
    first = anchor_if_due(loaded, signed, key=KEY, actor="worker:1")
    assert first is not None and first.anchor.seq == 2 and first.mail_error is None
    assert first.file == tmp_path / "anchors" / "head.jsonl" and first.mailed_to == "dpo@example.be"
    assert anchor_if_due(loaded, signed, key=KEY, actor="worker:1") is None  # not due for an hour
    ((recipients, message),) = smtp.inbox.messages
    assert recipients == ["dpo@example.be"] and "head #2" in str(message["Subject"])
    body = message.get_body(("plain",))
    assert body is not None and first.anchor.hash in body.get_content()
    (entry,) = list_entries(signed, action=ANCHORED)
    assert entry.seq == 3 and entry.details["seq"] == 2 and entry.details["mailed_to"] == "dpo@example.be"

    later = anchor_if_due(loaded, signed, key=KEY, actor="worker:1", now=datetime.now(UTC) + timedelta(hours=2))
    assert later is not None and later.anchor.seq == 3
    anchors = read_anchors(first.file)
    assert [anchor.seq for anchor in anchors] == [2, 3]
    assert verify_chain(signed, key=KEY, anchors=anchors).ok


def test_a_mail_that_fails_still_anchors_and_says_why(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SMTP_URL_ENV, raising=False)
    loaded = load_map(_map(tmp_path))
    signed = Store(store.engine, lambda _session: KEY)
    run = anchor_if_due(loaded, signed, key=KEY, actor="worker:1")
    assert run is not None and run.mailed_to is None
    assert run.mail_error is not None and "no mail server" in run.mail_error
    assert len(read_anchors(run.file)) == 1
    (entry,) = list_entries(signed, action=ANCHORED)
    assert "no mail server" in entry.details["mail_error"]


def test_no_anchor_setting_anchors_nothing(store: Store, tmp_path: Path) -> None:
    loaded = load_map(_map(tmp_path, MAP.split("retention:")[0]))
    assert anchor_if_due(loaded, Store(store.engine, lambda _session: KEY), key=KEY, actor="worker:1") is None
    assert not (tmp_path / "anchors" / "head.jsonl").exists()


def test_the_worker_anchors_on_its_rounds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATAVOW_STATE_URL", raising=False)
    monkeypatch.setenv("DATAVOW_SECRET_KEY", base64.urlsafe_b64encode(KEY).decode())
    path = _map(tmp_path, MAP.replace("mail: true", "mail: false"))
    ran = CliRunner().invoke(main, ["worker", "--once", "--map", str(path)])
    assert ran.exit_code == 0, ran.output
    assert "anchored the audit log's head #" in ran.output
    (line,) = (tmp_path / "anchors" / "head.jsonl").read_text().splitlines()
    anchored = json.loads(line)
    with open_store(default_state_url(path)) as opened:
        (entry,) = list_entries(opened, action=ANCHORED)
        assert entry.details["hash"] == anchored["hash"] and anchored["signature"] is not None
    verified = CliRunner().invoke(
        main, ["audit", "verify", "--map", str(path), "--anchor", str(tmp_path / "anchors" / "head.jsonl")]
    )
    assert verified.exit_code == 0, verified.output
    assert "1 anchored head found in the log" in verified.output
