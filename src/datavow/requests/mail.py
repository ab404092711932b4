"""Sending e-mail (verification codes, notices) over SMTP with the standard library.

Settings come from the environment, never from the map (it would put a password in a file):

- ``DATAVOW_SMTP_URL``: ``smtp://[user:password@]host[:port]`` (port 25 by default; STARTTLS
  whenever the server offers it) or ``smtps://[user:password@]host[:port]`` (TLS from the first
  byte, port 465 by default). Percent-encode ``@`` or ``:`` in a user name or password.
- ``DATAVOW_MAIL_FROM``: the sender; by default the map's ``organization.contact.email``.

A password is only ever sent over an encrypted connection: a plain ``smtp://`` server that does
not offer STARTTLS gets no login, and the send fails saying so.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import unquote, urlsplit

from datavow.datamap import LoadedMap
from datavow.errors import ConnectionError_, ErrorKind, RequestError

SMTP_URL_ENV = "DATAVOW_SMTP_URL"
MAIL_FROM_ENV = "DATAVOW_MAIL_FROM"
#: Seconds to wait for the mail server before giving up.
SMTP_TIMEOUT_S = 10

_DEFAULT_PORTS = {"smtp": 25, "smtps": 465}


@dataclass(frozen=True)
class MailSettings:
    """Where and as whom to send mail."""

    host: str
    port: int
    implicit_tls: bool
    sender: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """The server as a URL without the password, for messages."""
        user = f"{self.username}@" if self.username else ""
        return f"{'smtps' if self.implicit_tls else 'smtp'}://{user}{self.host}:{self.port}"


def mail_settings(loaded: LoadedMap | None = None, environ: Mapping[str, str] | None = None) -> MailSettings:
    """Settings from ``$DATAVOW_SMTP_URL`` and ``$DATAVOW_MAIL_FROM`` (else the map's contact
    e-mail). Raises :class:`RequestError` naming the variable to set when one is missing or wrong."""
    env = os.environ if environ is None else environ
    url = env.get(SMTP_URL_ENV, "").strip()
    if not url:
        raise RequestError(
            f"no mail server: set {SMTP_URL_ENV} to smtp://host:port or smtps://user:password@host:465",
            kind=ErrorKind.INVALID,
            field="smtp_url",
        )
    parts = urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise RequestError(
            f"{SMTP_URL_ENV} must look like smtp://host:port or smtps://user:password@host:465, "
            f"not {_without_password(url)!r}",
            kind=ErrorKind.INVALID,
            field="smtp_url",
        )
    try:
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise RequestError(
            f"the port in {SMTP_URL_ENV} ({_without_password(url)!r}) is not a number",
            kind=ErrorKind.INVALID,
            field="smtp_url",
        ) from None
    contact = loaded.model.organization.contact.email if loaded is not None else None
    sender = (env.get(MAIL_FROM_ENV) or contact or "").strip()
    if not sender:
        raise RequestError(
            f"no sender address: set {MAIL_FROM_ENV}, or give the map an organization.contact.email",
            kind=ErrorKind.INVALID,
            field="mail_from",
        )
    return MailSettings(
        host=parts.hostname,
        port=port,
        implicit_tls=parts.scheme == "smtps",
        sender=sender,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def send_mail(settings: MailSettings, to: str, subject: str, body: str) -> None:
    """Send one plain-text message. Raises :class:`ConnectionError_` when the server cannot be
    reached or fails, :class:`RequestError` when it refuses the recipient."""
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
    message.set_content(body)
    context = ssl.create_default_context()
    try:
        if settings.implicit_tls:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=SMTP_TIMEOUT_S, context=context
            )
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=SMTP_TIMEOUT_S)
        with client:
            client.ehlo()
            encrypted = settings.implicit_tls
            if not encrypted and client.has_extn("starttls"):
                client.starttls(context=context)
                client.ehlo()
                encrypted = True
            if settings.username:
                if not encrypted:
                    raise RequestError(
                        f"the mail server {settings.url} offers no encryption, so datavow will not send it "
                        f"the password: use smtps:// in {SMTP_URL_ENV}, or a server that offers STARTTLS",
                        kind=ErrorKind.INVALID,
                        field="smtp_url",
                    )
                client.login(settings.username, settings.password or "")
            client.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        raise RequestError(
            f"the mail server {settings.url} refused the address {to!r}: {exc.recipients}",
            kind=ErrorKind.INVALID,
            field="recipient",
        ) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise ConnectionError_(
            f"cannot send mail through {settings.url}: {exc or type(exc).__name__}. Check {SMTP_URL_ENV} "
            "and that the server is reachable"
        ) from exc


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)
