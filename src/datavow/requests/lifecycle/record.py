"""What a request is: the right it exercises, its states and who brought it, and the record the
state store keeps of it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from datavow.errors import ErrorKind, RequestError
from datavow.plan.identity_keys import kinds_from_text
from datavow.requests.lifecycle.clock import utc_now
from datavow.store.models import RequestRow

_E = TypeVar("_E", bound=StrEnum)


class RequestKind(StrEnum):
    """The right a request exercises."""

    access = "access"  # Art. 15
    erasure = "erasure"  # Art. 17
    rectification = "rectification"  # Art. 16
    restriction = "restriction"  # Art. 18
    objection = "objection"  # Art. 21
    portability = "portability"  # Art. 20


class Status(StrEnum):
    received = "received"
    verified = "verified"
    in_progress = "in_progress"
    completed = "completed"
    denied = "denied"
    forwarded = "forwarded"


class Source(StrEnum):
    """Who brought the request: the person, a controller we process for, or an agent for either."""

    data_subject = "data_subject"
    controller = "controller"
    agent = "agent"


#: The states a request can move to from each state; the last three are final.
TRANSITIONS: Mapping[Status, frozenset[Status]] = {
    Status.received: frozenset({Status.verified, Status.denied, Status.forwarded}),
    Status.verified: frozenset({Status.in_progress, Status.denied}),
    Status.in_progress: frozenset({Status.completed, Status.denied}),
    Status.completed: frozenset(),
    Status.denied: frozenset(),
    Status.forwarded: frozenset(),
}
#: States in which the clock runs.
OPEN = frozenset({Status.received, Status.verified, Status.in_progress})


@dataclass(frozen=True)
class RequestRecord:
    """A request as the state store holds it. Its identities stay sealed: read them with
    :func:`request_identities`. ``completed_at`` is when it was closed: completed, denied or
    forwarded."""

    id: int
    kind: RequestKind
    status: Status
    source: Source
    tenant: str | None
    received_at: datetime
    due_at: datetime
    extended_to: datetime | None
    extension_reason: str | None
    verified_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    denied_reason: str | None
    forwarded_to: str | None
    identity_kinds: tuple[str, ...]
    result: dict[str, Any] | None

    @property
    def deadline(self) -> datetime:
        """When the answer is due: the extended date if there is one (Art. 12(3))."""
        return self.extended_to or self.due_at

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    def is_overdue(self, now: datetime | None = None) -> bool:
        return self.is_open and utc_now(now) > self.deadline

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: times as ISO 8601 UTC, enums as their values."""

        def when(moment: datetime | None) -> str | None:
            return moment.isoformat() if moment else None

        return {
            "id": self.id,
            "kind": self.kind.value,
            "status": self.status.value,
            "source": self.source.value,
            "tenant": self.tenant,
            "identity_kinds": list(self.identity_kinds),
            "received_at": when(self.received_at),
            "due_at": when(self.due_at),
            "extended_to": when(self.extended_to),
            "extension_reason": self.extension_reason,
            "deadline": when(self.deadline),
            "verified_at": when(self.verified_at),
            "started_at": when(self.started_at),
            "completed_at": when(self.completed_at),
            "denied_reason": self.denied_reason,
            "forwarded_to": self.forwarded_to,
            "result": self.result,
        }


def choice(enum: type[_E], value: _E | str, what: str, field: str) -> _E:
    """``value`` as a member of ``enum``; an invalid-input error naming ``field`` and the allowed values otherwise."""
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise RequestError(
            f"unknown {what} {value!r}: use one of {allowed}", kind=ErrorKind.INVALID, field=field
        ) from None


def record_of(row: RequestRow) -> RequestRecord:
    """The record of a request row, with its enums and identity kinds read back."""
    return RequestRecord(
        id=row.id,
        kind=RequestKind(row.kind),
        status=Status(row.status),
        source=Source(row.source),
        tenant=row.tenant,
        received_at=row.received_at,
        due_at=row.due_at,
        extended_to=row.extended_to,
        extension_reason=row.extension_reason,
        verified_at=row.verified_at,
        started_at=row.started_at,
        completed_at=row.completed_at,
        denied_reason=row.denied_reason,
        forwarded_to=row.forwarded_to,
        identity_kinds=kinds_from_text(row.identity_kinds),
        result=row.result,
    )
