"""E-mail settings, sending, and identity verification by e-mailed code, against a real SMTP
server (aiosmtpd on 127.0.0.1, a free port) started by the test: nothing in smtplib is mocked.
The tests read each code from the message the server received, as the person would.
"""

from __future__ import annotations

import email
import email.policy
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from click.testing import CliRunner

from datavow.audit import list_entries, verify_chain
from datavow.cli import main
from datavow.datamap import LoadedMap
from datavow.errors import ConnectionError_, RequestError
from datavow.requests import MailSettings, Status, check_code, get, mail_settings, receive, send_code, send_mail
from datavow.requests.lifecycle.clock import utc_now
from datavow.requests.lifecycle.verification import MAX_ATTEMPTS, MAX_CODES
from datavow.requests.mail import MAIL_FROM_ENV, SMTP_URL_ENV
from datavow.store import Store
from datavow.store.models import VerificationCodeRow
from tests import test_requests_lifecycle as lifecycle

shop = lifecycle.shop
store = lifecycle.store
any_store = lifecycle.any_store


@dataclass
class Inbox:
    """An aiosmtpd handler keeping every message it is sent."""

    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"

    def code_for(self, address: str) -> str:
        """The code in the latest message to ``address``."""
        recipients, message = next(m for m in reversed(self.messages) if address in m[0])
        body = message.get_body(("plain",))
        assert body is not None
        match = re.search(r"code is (\d{6})", body.get_content())
        assert match, body.get_content()
        return match.group(1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class SmtpServer:
    inbox: Inbox
    port: int

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    """A real SMTP server on a free loopback port; DATAVOW_SMTP_URL points at it."""
    inbox = Inbox()
    for attempt in range(3):  # another process may take the free port before the server binds it
        port = free_port()
        controller = Controller(inbox, hostname="127.0.0.1", port=port)
        try:
            controller.start()
            break
        except OSError:
            if attempt == 2:
                raise
    server = SmtpServer(inbox, port)
    monkeypatch.setenv(SMTP_URL_ENV, server.url)
    monkeypatch.delenv(MAIL_FROM_ENV, raising=False)
    try:
        yield server
    finally:
        controller.stop()


def jane_request(store: Store, shop: LoadedMap) -> int:
    return receive(store, shop, "access", lifecycle.JANE, source="data_subject", actor="agent:ann").id


# --------------------------------------------------------------------------- settings and sending


def test_settings_come_from_the_environment_and_say_what_to_set(shop: LoadedMap) -> None:
    with pytest.raises(RequestError, match=f"set {SMTP_URL_ENV}"):
        mail_settings(shop, {})
    with pytest.raises(RequestError, match="must look like smtp://host:port"):
        mail_settings(shop, {SMTP_URL_ENV: "http://mail.example.com"})
    with pytest.raises(RequestError, match="is not a number") as caught:
        mail_settings(shop, {SMTP_URL_ENV: "smtp://me:s3cret@mail.example.com:twentyfive"})
    assert "s3cret" not in str(caught.value)
    with pytest.raises(RequestError, match=f"set {MAIL_FROM_ENV}"):
        mail_settings(None, {SMTP_URL_ENV: "smtp://mail.example.com"})

    plain = mail_settings(shop, {SMTP_URL_ENV: "smtp://mail.example.com"})
    assert (plain.host, plain.port, plain.implicit_tls, plain.sender) == (
        "mail.example.com",
        25,
        False,
        "privacy@shop.example",
    )
    secure = mail_settings(
        shop, {SMTP_URL_ENV: "smtps://ann%40shop:p%3Ass@mail.example.com", MAIL_FROM_ENV: "dpo@shop.example"}
    )
    assert (secure.port, secure.implicit_tls, secure.username, secure.password) == (465, True, "ann@shop", "p:ss")
    assert secure.sender == "dpo@shop.example" and "p:ss" not in repr(secure) and "p:ss" not in secure.url


def test_a_message_reaches_a_real_smtp_server(smtp: SmtpServer, shop: LoadedMap) -> None:
    send_mail(mail_settings(shop), "jane@example.com", "Hello", "Dear Jane,\nthe body.\n")
    ((recipients, message),) = smtp.inbox.messages
    assert recipients == ["jane@example.com"]
    assert message["From"] == "privacy@shop.example" and message["Subject"] == "Hello"
    assert message["Message-ID"] and message["Date"]
    body = message.get_body(("plain",))
    assert body is not None and body.get_content().splitlines() == ["Dear Jane,", "the body."]


def test_a_password_is_never_sent_over_an_unencrypted_connection(smtp: SmtpServer) -> None:
    settings = MailSettings("127.0.0.1", smtp.port, implicit_tls=False, sender="a@x.be", username="u", password="p")
    with pytest.raises(RequestError, match="offers no encryption"):
        send_mail(settings, "jane@example.com", "Hello", "body")
    assert smtp.inbox.messages == []


def test_an_unreachable_server_is_a_connection_error() -> None:
    settings = MailSettings("127.0.0.1", free_port(), implicit_tls=False, sender="a@x.be")
    with pytest.raises(ConnectionError_, match="cannot send mail through smtp://127.0.0.1"):
        send_mail(settings, "jane@example.com", "Hello", "body")


# --------------------------------------------------------------------------- verification codes


def test_the_emailed_code_verifies_the_request_and_a_wrong_one_is_counted(
    smtp: SmtpServer, any_store: Store, shop: LoadedMap
) -> None:
    request_id = jane_request(any_store, shop)
    sent = send_code(any_store, shop, request_id, "agent:ann")
    assert sent.sent_to == "j***@example.com"
    ((recipients, message),) = smtp.inbox.messages
    assert recipients == ["jane.doe@example.com"] and "Shop bv" in message["Subject"]
    code = smtp.inbox.code_for("jane.doe@example.com")

    with any_store.session(write=False) as session:
        stored = session.scalars(sa.select(VerificationCodeRow)).one()
    assert stored.code_hash.startswith("$argon2") and code not in stored.code_hash

    wrong = "000000" if code != "000000" else "111111"
    with pytest.raises(RequestError, match=f"wrong code for request {request_id}: {MAX_ATTEMPTS - 1} tries left"):
        check_code(any_store, request_id, wrong, "agent:ann")
    with pytest.raises(RequestError, match="is 6 digits"):
        check_code(any_store, request_id, "12345", "agent:ann")
    record = check_code(any_store, request_id, f"{code[:3]} {code[3:]}", "agent:ann")
    assert record.status is Status.verified and record.verified_at is not None
    with pytest.raises(RequestError, match="is verified: only a received request is verified"):
        check_code(any_store, request_id, code, "agent:ann")

    entries = list_entries(any_store, object_type="request", object_id=str(request_id))
    assert [e.action for e in entries] == [
        "request.received",
        "request.code_sent",
        "request.code_rejected",
        "request.verified",
    ]
    assert entries[2].details == {"attempts": 1, "left": MAX_ATTEMPTS - 1}
    assert entries[3].details == {"method": "email code"}
    assert verify_chain(any_store).ok


def test_a_code_expires(smtp: SmtpServer, store: Store, shop: LoadedMap) -> None:
    request_id = jane_request(store, shop)
    sent_at = utc_now()
    send_code(store, shop, request_id, "agent:ann", now=sent_at)
    code = smtp.inbox.code_for("jane.doe@example.com")
    with pytest.raises(RequestError, match="expired at"):
        check_code(store, request_id, code, "agent:ann", now=sent_at + timedelta(minutes=31))
    assert get(store, request_id).status is Status.received
    assert (
        check_code(store, request_id, code, "agent:ann", now=sent_at + timedelta(minutes=29)).status is Status.verified
    )


def test_five_wrong_codes_lock_it_and_only_a_new_code_helps(smtp: SmtpServer, store: Store, shop: LoadedMap) -> None:
    request_id = jane_request(store, shop)
    send_code(store, shop, request_id, "agent:ann")
    first = smtp.inbox.code_for("jane.doe@example.com")
    wrong = "000000" if first != "000000" else "111111"
    for _ in range(MAX_ATTEMPTS):
        with pytest.raises(RequestError, match="wrong code") as caught:
            check_code(store, request_id, wrong, "agent:ann")
    assert "the code is now locked" in str(caught.value)
    with pytest.raises(RequestError, match=f"locked after {MAX_ATTEMPTS} wrong tries"):
        check_code(store, request_id, first, "agent:ann")  # even the right code

    send_code(store, shop, request_id, "agent:ann")
    second = smtp.inbox.code_for("jane.doe@example.com")
    if second != first:  # the old code stops working once a new one is sent
        with pytest.raises(RequestError, match="wrong code"):
            check_code(store, request_id, first, "agent:ann")
    assert check_code(store, request_id, second, "agent:ann").status is Status.verified


def test_codes_per_request_are_limited(smtp: SmtpServer, store: Store, shop: LoadedMap) -> None:
    request_id = jane_request(store, shop)
    for _ in range(MAX_CODES):
        send_code(store, shop, request_id, "agent:ann")
    with pytest.raises(RequestError, match=f"{MAX_CODES} codes were sent"):
        send_code(store, shop, request_id, "agent:ann")
    assert len(smtp.inbox.messages) == MAX_CODES


def test_no_code_without_an_email_address_or_a_mail_server(
    smtp: SmtpServer, store: Store, shop: LoadedMap, monkeypatch: pytest.MonkeyPatch
) -> None:
    by_phone = receive(store, shop, "access", {"phone": "+32470123456"}, source="data_subject", actor="a").id
    with pytest.raises(RequestError, match="names no e-mail address"):
        send_code(store, shop, by_phone, "agent:ann")
    with pytest.raises(RequestError, match="no code was sent"):
        check_code(store, by_phone, "123456", "agent:ann")

    request_id = jane_request(store, shop)
    monkeypatch.setenv(SMTP_URL_ENV, f"smtp://127.0.0.1:{free_port()}")  # nothing listens there
    with pytest.raises(ConnectionError_):
        send_code(store, shop, request_id, "agent:ann")
    # The mail did not go out, so no code was kept and nothing was logged as sent.
    with store.session(write=False) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(VerificationCodeRow)) == 0
    assert list_entries(store, action="request.code_sent") == []
    monkeypatch.delenv(SMTP_URL_ENV)
    with pytest.raises(RequestError, match=f"set {SMTP_URL_ENV}"):
        send_code(store, shop, request_id, "agent:ann")


def test_cli_sends_the_code_and_checks_it(smtp: SmtpServer, store: Store, shop: LoadedMap) -> None:
    request_id = jane_request(store, shop)
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(main, ["requests", "verify", str(request_id), *args, "--map", str(shop.path)])
        assert "Traceback" not in result.output, result.output
        return result.exit_code, result.output

    code, out = run("--send")
    assert code == 0 and "j***@example.com" in out
    sent = smtp.inbox.code_for("jane.doe@example.com")
    code, out = run("--code", "000000" if sent != "000000" else "111111")
    assert code == 8 and "4 tries left" in out
    code, out = run("--code", sent)
    assert code == 0 and "verified" in out and get(store, request_id).status is Status.verified
