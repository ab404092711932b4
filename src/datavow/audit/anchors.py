"""Anchors: the audit log's signed head, written somewhere the database's writers cannot reach.

An anchor is one JSON line appended to a file (``seq``, ``hash``, ``signed_from``, ``signature``,
``at``). Verification given anchors checks that each anchored head is still in the log with the
same hash, or was pruned by a prune the chain records: so even a writer who holds the key and
rewrites the whole chain is caught by an anchor taken before.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from datavow.audit.breaks import ChainBreak
from datavow.audit.entry import GENESIS_HASH, format_timestamp
from datavow.audit.signing import head_signature, signature_matches, signing_key
from datavow.errors import AuditError, ErrorKind
from datavow.store import Store
from datavow.store.models import HEAD_ID, AuditEntryRow, AuditHeadRow


@dataclass(frozen=True)
class Anchor:
    """A head recorded outside the store; ``source`` says where (``file:line``)."""

    seq: int
    hash: str
    signed_from: int | None
    signature: str | None
    at: datetime
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The JSON line an anchor file holds (``source`` is where it was read, not written)."""
        return {
            "seq": self.seq,
            "hash": self.hash,
            "signed_from": self.signed_from,
            "signature": self.signature,
            "at": format_timestamp(self.at),
        }


def anchor_head(store: Store, path: Path, key: bytes) -> Anchor:
    """Append the log's current head to the file at ``path`` (one JSON line) and return it.

    A signed head is anchored only when its signature verifies under the installation's ``key``:
    a forged head is never recorded as a good one.
    """
    with store.session(write=False) as session:
        head = session.get(AuditHeadRow, HEAD_ID)
        if head is None:
            raise AuditError("the audit head record is missing, so there is no head to anchor: verify the audit chain")
        anchor = Anchor(head.seq, head.hash, head.signed_from, head.signature, datetime.now(UTC))
    if anchor.signature is not None:
        if anchor.signed_from is None or not signature_matches(
            head_signature(signing_key(key), anchor.seq, anchor.hash, anchor.signed_from), anchor.signature
        ):
            raise AuditError(
                f"the audit log's head (#{anchor.seq}) does not carry this key's signature, so it is not "
                "anchored: verify the audit chain"
            )
    line = json.dumps(anchor.to_dict(), sort_keys=True) + "\n"
    try:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise AuditError(
            f"cannot write the anchor to {path}: {exc.strerror or exc}", kind=ErrorKind.UNAVAILABLE, field="anchor"
        ) from exc
    return anchor


def read_anchors(path: Path) -> list[Anchor]:
    """Every anchor in the file at ``path``, in the order written; a line that is not an anchor
    is an error naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AuditError(
            f"cannot read the anchor file {path}: {exc.strerror or exc}", kind=ErrorKind.NOT_FOUND, field="anchor"
        ) from exc
    anchors = [_parsed(line, f"{path}:{number}") for number, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not anchors:
        raise AuditError(f"the anchor file {path} holds no anchor", kind=ErrorKind.INVALID, field="anchor")
    return anchors


def _parsed(line: str, source: str) -> Anchor:
    try:
        value = json.loads(line)
        seq, hash_, signed_from, signature = value["seq"], value["hash"], value["signed_from"], value["signature"]
        at = datetime.fromisoformat(str(value["at"]).replace("Z", "+00:00"))
        valid = (
            _sequence_number(seq)
            and isinstance(hash_, str)
            and len(hash_) == 64
            and (signed_from is None or _sequence_number(signed_from))
            and (signature is None or isinstance(signature, str))
        )
    except (ValueError, TypeError, KeyError, RecursionError):  # RecursionError: a line of nested brackets
        valid = False
    if not valid:
        raise AuditError(
            f"{source}: not an anchor: each line holds seq, hash, signed_from, signature and at, as written "
            "by anchoring the audit log",
            kind=ErrorKind.INVALID,
            field="anchor",
        )
    return Anchor(seq, hash_.lower(), signed_from, signature, at, source)


def _sequence_number(value: object) -> bool:
    # a number the log's column can hold: compared with it, a larger one makes the database refuse
    return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63


def check_anchors(
    session: Session, anchors: Iterable[Anchor], start_seq: int, start_hash: str, signed_from: int | None
) -> list[ChainBreak]:
    """Each anchor's head must be in the log with the same hash, or at or before the log's start
    (``start_seq``: 0, or the checkpoint a prune left). A signed anchor also says the log was signed
    from ``signed_from`` on: a log that now reads as unsigned there had its signatures removed."""
    problems: list[ChainBreak] = []
    for anchor in anchors:
        where = f"the head anchored in {anchor.source} at {format_timestamp(anchor.at)}"
        if anchor.signed_from is not None and (signed_from is None or signed_from > anchor.signed_from):
            problems.append(
                ChainBreak(
                    "anchor",
                    anchor.seq,
                    f"{where} was signed from #{anchor.signed_from}, but the log now reads as "
                    + ("unsigned" if signed_from is None else f"signed only from #{signed_from}")
                    + ": its signatures were removed and the chain rewritten",
                )
            )
            continue
        if anchor.seq < start_seq or (anchor.seq == start_seq and anchor.hash == start_hash):
            continue  # pruned: the prune itself is checked against the map's retention
        if anchor.seq == 0 and anchor.hash == GENESIS_HASH:
            continue
        found = session.scalar(select(AuditEntryRow.hash).where(AuditEntryRow.seq == anchor.seq))
        if found is None:
            problems.append(
                ChainBreak(
                    "anchor",
                    anchor.seq,
                    f"{where} is #{anchor.seq}, which is no longer in the log: entries were removed from its end",
                )
            )
        elif found != anchor.hash:
            problems.append(
                ChainBreak(
                    "anchor",
                    anchor.seq,
                    f"entry #{anchor.seq} is not the one {where}: its hash differs, so the log was rewritten",
                )
            )
    return problems
