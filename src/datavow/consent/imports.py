"""Importing a preference list exactly once.

Each import has a batch id: the SHA-256 of the file's bytes, unless the importer names one (a
file that is written again on every export, in another order, is the same batch by its name).
Each row has a checksum of what it says. Both are kept in the transaction that appends the
events, so whatever stops an import (a crash, a lost connection, a kill after the commit), running
it again gives the ledger exactly the events of one import:

- a batch already imported adds nothing, and says when it was imported;
- a row already imported (by any batch, or earlier in the same file) is skipped and counted.

A row's checksum covers the keyed hashes of its identities (never the values), its event, scope,
time, source, notice and basis; not its file or line. A row without a time happens "now" when it
is imported: it is the same row only within its own batch, so the same words in a later list are
a new event (the person said it again).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from datavow.audit import canonical_json
from datavow.consent.bulk import insert_rows
from datavow.consent.errors import ConsentError
from datavow.consent.ledger import PreparedEvent, append_in, lock_head, prepare_all, utc_now
from datavow.consent.transfer import ImportRow, parse_rows
from datavow.datamap import LoadedMap
from datavow.errors import ErrorKind
from datavow.store import Store
from datavow.store.key import check_key
from datavow.store.models import ConsentImportedRow, ConsentImportRow

_ROWS: sa.Table = ConsentImportedRow.__table__  # type: ignore[assignment]
_CHUNK = 1000  # checksums asked about per query: well under any driver's limit on parameters


@dataclass(frozen=True)
class ImportResult:
    """What an import recorded: how many events (the ledger's first and last seq), under which
    batch id, how many rows were skipped as imported before, and, for a batch imported already,
    when that was (nothing is recorded again)."""

    events: int
    first_seq: int | None
    last_seq: int | None
    batch_id: str = ""
    skipped: int = 0
    imported_before: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``events``, ``first_seq``, ``last_seq``, ``batch_id``, ``skipped`` and
        ``imported_before`` (ISO 8601, or null)."""
        return {
            "events": self.events,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "batch_id": self.batch_id,
            "skipped": self.skipped,
            "imported_before": self.imported_before.isoformat() if self.imported_before else None,
        }


def import_csv(
    store: Store, loaded: LoadedMap, path: Path, *, actor: str, key: bytes, batch_id: str | None = None
) -> ImportResult:
    """Import a preference list once. Every row is checked first; if any is malformed,
    :class:`ConsentError` lists each such row by its line number and nothing is written.
    Otherwise the rows not imported before are appended in one transaction, which also keeps the
    batch id (``batch_id``, else the file's SHA-256) and each row's checksum."""
    check_key(store, key)
    try:
        data = path.read_bytes()
        text = data.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConsentError(f"cannot read {path}: {exc}") from exc
    batch = _batch_id(batch_id, data)
    with store.session(write=False) as session:
        done = session.get(ConsentImportRow, batch)
    if done is not None:  # checked again below, under the ledger's lock
        return _already(done)
    rows, problems = parse_rows(loaded, key, text, path.name)
    if problems:
        shown = problems[:50] + ([f"... and {len(problems) - 50} more"] if len(problems) > 50 else [])
        raise ConsentError(f"{path.name}: {len(problems)} malformed row(s), nothing imported:\n  " + "\n  ".join(shown))
    prepared = prepare_all(loaded, key, [row.item for row in rows])
    sums = [_checksum(row, item, batch) for row, item in zip(rows, prepared, strict=True)]
    with store.session() as session:
        lock_head(session)  # one import at a time decides what is new
        done = session.get(ConsentImportRow, batch)
        if done is not None:
            return _already(done)
        seen = _imported(session, sums)
        new = []
        for index, checksum in enumerate(sums):
            if checksum not in seen:
                seen.add(checksum)
                new.append(index)
        recorded = append_in(session, key, [prepared[i] for i in new], actor)
        first = recorded[0].seq if recorded else None
        last = recorded[-1].seq if recorded else None
        session.add(
            ConsentImportRow(
                batch_id=batch,
                imported_at=utc_now(),
                actor=actor,
                file_name=path.name[:300],
                rows=len(rows),
                events=len(recorded),
                first_seq=first,
                last_seq=last,
            )
        )
        session.flush()
        links = [{"checksum": sums[i], "batch_id": batch, "seq": e.seq} for i, e in zip(new, recorded, strict=True)]
        insert_rows(session.connection(), _ROWS, links)
    return ImportResult(len(recorded), first, last, batch, len(rows) - len(recorded))


def _batch_id(given: str | None, data: bytes) -> str:
    if given is None:
        return f"sha256:{hashlib.sha256(data).hexdigest()}"
    if not given.strip() or len(given.strip()) > 100:
        raise ConsentError(
            f"a batch id is 1 to 100 characters, got {given!r}", kind=ErrorKind.INVALID, field="batch_id"
        )
    return given.strip()


def _already(done: ConsentImportRow) -> ImportResult:
    return ImportResult(0, None, None, done.batch_id, 0, done.imported_at)


def _checksum(row: ImportRow, item: PreparedEvent, batch: str) -> str:
    timed = row.item.at is not None
    # a row without a time is "now": the same row only within its batch
    at, within = (item.at, None) if timed else (None, batch)
    return checksum_of(item.hashes, item.event, item.scope.key, at, within, row.source, item.notice_hash, item.basis)


def checksum_of(
    hashes: Sequence[str],
    event: str,
    scope: str,
    at: datetime | None,
    batch: str | None,
    source: str,
    notice: str | None,
    basis: str | None,
) -> str:
    """The checksum an imported row is kept by: what it says, and who it names by keyed hash; a row
    with a time gives ``at``, one without its ``batch``. A key rotation gives each again."""
    said = {
        "identities": sorted(hashes),
        "event": event,
        "scope": scope,
        "at": at.isoformat() if at is not None else None,
        "batch": batch,
        "source": source,
        "notice": notice,
        "basis": basis,
    }
    return hashlib.sha256(canonical_json(said).encode()).hexdigest()


def _imported(session: Session, checksums: Sequence[str]) -> set[str]:
    """Those of ``checksums`` an earlier import recorded."""
    found: set[str] = set()
    column = ConsentImportedRow.checksum
    for start in range(0, len(checksums), _CHUNK):
        chunk = list(set(checksums[start : start + _CHUNK]))
        found.update(session.scalars(sa.select(column).where(column.in_(chunk))))
    return found
