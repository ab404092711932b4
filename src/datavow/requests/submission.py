"""Submitting a request as one operation: receive it; in processor mode forward it to its
controller; and when the person's identity is verified already, verify it and run it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from datavow.connectors.databases import Databases
from datavow.datamap import LoadedMap
from datavow.errors import ErrorKind, RequestError
from datavow.plan.identity_keys import IdentityInput
from datavow.requests.lifecycle import RequestKind, RequestRecord, Source, prepare_receipt
from datavow.store import Store

if TYPE_CHECKING:
    from datavow.requests.service import RunOptions


class Outcome(StrEnum):
    """What became of a submitted request."""

    forwarded = "forwarded"  # processor mode: the controller answers it (Art. 28(3)(e))
    received = "received"  # waiting for the person's identity to be verified
    run = "run"  # verified and executed: the record's ``result`` holds what was done


@dataclass(frozen=True)
class Submitted:
    """The request as it stands after :func:`submit_request`, and what became of it."""

    outcome: Outcome
    record: RequestRecord

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the outcome, then the request as :meth:`RequestRecord.to_dict` gives it."""
        return {"outcome": self.outcome.value, **self.record.to_dict()}


def submit_request(
    store: Store,
    loaded: LoadedMap,
    kind: RequestKind | str,
    identities: IdentityInput,
    *,
    source: Source | str,
    actor: str,
    databases: Databases,
    tenant: str | None = None,
    verified_by: str | None = None,
    options: RunOptions | None = None,
    received_at: datetime | None = None,
) -> Submitted:
    """Receive a request and take it as far as it can go now.

    Forwarded in processor mode, it stops there. Without ``verified_by`` it waits for the person's
    identity to be verified. With ``verified_by`` (how the identity was verified) it is received and
    verified and run at once with ``options`` on the engines of ``databases``: received, verified,
    started and what discovery found are committed together, then the request is completed
    (:func:`~datavow.requests.service.run_received`).
    """
    if verified_by is not None and options is None:
        raise RequestError(
            "a request verified on receipt runs at once: give the options to run it with", kind=ErrorKind.INVALID
        )
    receipt = prepare_receipt(
        store,
        loaded,
        kind,
        identities,
        source=source,
        tenant=tenant,
        actor=actor,
        received_at=received_at,
        databases=databases,
        verified_by=verified_by,
    )
    if receipt.forwarded or verified_by is None or options is None:
        with store.session() as session:
            record = receipt.record(session)
        return Submitted(Outcome.forwarded if receipt.forwarded else Outcome.received, record)
    # imported here: running reaches the executors and the letter's templates, which receiving never needs
    from datavow.requests.service import run_received

    # received, verified, started and what discovery found in one transaction; then completed
    return Submitted(Outcome.run, run_received(store, loaded, receipt, options, databases=databases))


__all__ = ["Outcome", "Submitted", "submit_request"]
