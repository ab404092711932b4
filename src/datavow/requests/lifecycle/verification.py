"""Verifying that a request comes from the person it names: a code sent to their e-mail address.

A 6-digit code from :mod:`secrets` is mailed to the request's e-mail identity. Only its argon2
hash is kept; it expires (30 minutes by default) and takes 5 wrong tries, then it is locked and
a new one must be sent. At most 5 codes are sent per request, so no more than 25 guesses out of
a million are ever possible. The right code moves the request from received to verified, in the
same transaction as the code is spent and the audit entry written.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from datavow.audit import append
from datavow.datamap import LoadedMap
from datavow.errors import ErrorKind, RequestError
from datavow.requests.lifecycle import RequestRecord, Status, request_identities, request_row, verify
from datavow.requests.lifecycle.clock import utc_now
from datavow.requests.mail import MailSettings, mail_settings, send_mail
from datavow.store import Store
from datavow.store.models import VerificationCodeRow

#: How long a code is valid.
CODE_TTL = timedelta(minutes=30)
#: Wrong tries before a code is locked.
MAX_ATTEMPTS = 5
#: Codes that may be sent for one request.
MAX_CODES = 5
CODE_DIGITS = 6

_HASHER = PasswordHasher()
_TYPED = re.compile(r"[\s\-]")


@dataclass(frozen=True)
class CodeSent:
    """A code went out: to which address (masked, for the agent's screen) and until when it works."""

    request_id: int
    sent_to: str
    expires_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the request, the masked address and when the code stops working (ISO 8601)."""
        return {"request_id": self.request_id, "sent_to": self.sent_to, "expires_at": self.expires_at.isoformat()}


def send_code(
    store: Store,
    loaded: LoadedMap,
    request_id: int,
    actor: str,
    *,
    settings: MailSettings | None = None,
    ttl: timedelta = CODE_TTL,
    now: datetime | None = None,
) -> CodeSent:
    """Mail a new code to the request's e-mail address; the previous code stops working.

    The code is stored and the ``request.code_sent`` entry appended in one transaction that
    commits only once the mail server has accepted the message.
    """
    settings = settings or mail_settings(loaded)
    moment = utc_now(now)
    addresses = request_identities(store, loaded, request_id).get("email")
    if not addresses:
        raise RequestError(
            f"request {request_id} names no e-mail address, so no code can be sent: verify the person "
            "another way, and record how",
            field="manual",
        )
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    with store.session() as session:
        _received(session, request_id)
        sent = session.scalar(
            sa.select(sa.func.count())
            .select_from(VerificationCodeRow)
            .where(VerificationCodeRow.request_id == request_id)
        )
        if (sent or 0) >= MAX_CODES:
            raise RequestError(
                f"{MAX_CODES} codes were sent for request {request_id} already: verify the person another way "
                "and record how, or deny the request",
                field="manual",
            )
        row = VerificationCodeRow(
            request_id=request_id,
            code_hash=_HASHER.hash(code),
            created_at=moment,
            expires_at=moment + ttl,
            attempts=0,
        )
        session.add(row)
        session.flush()
        details = {"channel": "email", "code": (sent or 0) + 1, "expires_at": row.expires_at.isoformat()}
        append(session, actor, "request.code_sent", "request", str(request_id), details=details)
        send_mail(
            settings,
            addresses[0],
            f"Your verification code for {loaded.model.organization.name}",
            _body(loaded, code, row.expires_at, ttl),
        )
    return CodeSent(request_id=request_id, sent_to=mask_email(addresses[0]), expires_at=row.expires_at)


def check_code(store: Store, request_id: int, code: str, actor: str, *, now: datetime | None = None) -> RequestRecord:
    """Verify the request with the code the person gives back.

    A wrong code counts against the code's tries (and is recorded) before :class:`RequestError`
    says how many are left; a code that is expired, locked or already replaced is refused.
    """
    typed = _TYPED.sub("", code or "")
    if not re.fullmatch(rf"[0-9]{{{CODE_DIGITS}}}", typed):
        raise RequestError(
            f"a verification code is {CODE_DIGITS} digits, e.g. 123456", kind=ErrorKind.INVALID, field="code"
        )
    moment = utc_now(now)
    with store.session() as session:
        _received(session, request_id)
        row = session.scalars(
            sa.select(VerificationCodeRow)
            .where(VerificationCodeRow.request_id == request_id)
            .order_by(VerificationCodeRow.id.desc())
            .limit(1)
            .with_for_update()
        ).first()
        if row is None:
            raise RequestError(f"no code was sent for request {request_id}: send one first", field="send")
        resend = "send a new one"
        if row.attempts >= MAX_ATTEMPTS:
            raise RequestError(
                f"the code for request {request_id} is locked after {MAX_ATTEMPTS} wrong tries: {resend}",
                kind=ErrorKind.FORBIDDEN,
                field="send",
            )
        if moment > row.expires_at:
            raise RequestError(
                f"the code for request {request_id} expired at {row.expires_at:%H:%M} UTC: {resend}", field="send"
            )
        if _matches(row.code_hash, typed):
            row.used_at = moment
            return verify(session, request_id, actor, method="email code", now=moment)
        row.attempts += 1
        left = MAX_ATTEMPTS - row.attempts
        details = {"attempts": row.attempts, "left": left}
        append(session, actor, "request.code_rejected", "request", str(request_id), details=details)
    # Raised after the block so the counted try commits.
    locked = f"the code is now locked: {resend}" if left == 0 else f"{left} {'try' if left == 1 else 'tries'} left"
    raise RequestError(f"wrong code for request {request_id}: {locked}", kind=ErrorKind.FORBIDDEN)


def mask_email(address: str) -> str:
    """``j***@example.com``: enough for an agent to confirm, not enough to copy."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


def _received(session: Session, request_id: int) -> None:
    status = request_row(session, request_id).status
    if status != Status.received.value:
        raise RequestError(f"request {request_id} is {status}: only a received request is verified")


def _matches(code_hash: str, code: str) -> bool:
    try:
        return _HASHER.verify(code_hash, code)
    except (VerificationError, InvalidHashError):
        return False


def _body(loaded: LoadedMap, code: str, expires_at: datetime, ttl: timedelta) -> str:
    minutes = int(ttl.total_seconds() // 60)
    return (
        f"Your verification code is {code}\n\n"
        f"You (or someone using your address) asked {loaded.model.organization.name} to act on your "
        "personal data. Give this code to confirm it is you. It works for "
        f"{minutes} minutes, until {expires_at:%H:%M} UTC.\n\n"
        "If you did not ask, ignore this message: nothing happens without the code.\n"
    )
