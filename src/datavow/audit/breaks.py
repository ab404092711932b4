"""What verification can find wrong with the audit log: one :class:`ChainBreak` per problem."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: What went wrong: an entry's contents, a missing entry, entries out of order, the head
#: record disagreeing with the last entry, an anchored head that is not in the log, a row outside
#: the chain, a signature that does not verify, or a prune the map's audit retention does not allow.
BreakKind = Literal["changed", "removed", "reordered", "head", "anchor", "outside", "signature", "pruned"]


@dataclass(frozen=True)
class ChainBreak:
    """One thing wrong with the chain. ``seq`` is the entry named, when one can be."""

    kind: BreakKind
    seq: int | None
    message: str
