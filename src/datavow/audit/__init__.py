"""The tamper-evident audit log: who did what, to which object, when and why.

Entries are append-only and hash-chained, and the head is signed with a key kept outside the
store (see ``docs/audit.md``)::

    from datavow.audit import append, verify_chain

    append(store, "dpo@example.com", "request.erased", "request", "42", reason="Art. 17")
    result = verify_chain(store)
    assert result.ok, result.message

The click group for ``datavow audit`` lives in :mod:`datavow.cli.audit`.
"""

from __future__ import annotations

from datavow.audit.anchors import Anchor, anchor_head, read_anchors
from datavow.audit.breaks import BreakKind, ChainBreak
from datavow.audit.entry import GENESIS_HASH, AuditEntry, canonical_json
from datavow.audit.log import append, list_entries
from datavow.audit.marks import mark_entries
from datavow.audit.signing import resign
from datavow.audit.trail import audit_trail
from datavow.audit.verify import VerifyResult, verify_chain

__all__ = [
    "GENESIS_HASH",
    "Anchor",
    "AuditEntry",
    "BreakKind",
    "ChainBreak",
    "VerifyResult",
    "anchor_head",
    "append",
    "audit_trail",
    "canonical_json",
    "list_entries",
    "mark_entries",
    "read_anchors",
    "resign",
    "verify_chain",
]
