"""Preference lists in and out: reading an import file (:mod:`datavow.consent.imports` records
it), ledger export, and a person's ledger for their access export.

An import file has a header row. Columns (any order; see ``docs/consent.md``):

- one column per identity kind the map knows (``email``, ``phone``, ...): at least one non-empty;
  several values in one cell are separated by ``;``;
- ``event`` (``granted``/``withdrawn``) or ``allowed`` (``true``/``false``, ``yes``/``no``, ``1``/``0``);
- ``purpose``, ``channel``, ``topic``: the scope, as :func:`~datavow.consent.record_event` takes it;
- ``at`` (ISO 8601; without an offset it is read as UTC), ``source`` (how it was learnt, in
  words), ``notice`` (the text shown), ``basis``;
- the columns an export adds (``seq``, ``hash``, ...) are accepted and ignored, so an export
  imports again.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

import sqlalchemy as sa

from datavow.consent.errors import ConsentError
from datavow.consent.identity import Hasher
from datavow.consent.ledger import EventInput, event_from_mapping, prepare_all, unseal_identities
from datavow.datamap import LoadedMap
from datavow.plan.identity_keys import IdentityInput
from datavow.store import Store
from datavow.store.key import check_key
from datavow.store.models import ConsentEventIdentityRow, ConsentEventRow, ConsentNoticeRow

SCOPE_COLUMNS = ("event", "allowed", "purpose", "channel", "topic", "at", "source", "notice", "basis")
#: Written by :func:`export_events`, ignored on import.
EXPORT_ONLY = ("seq", "recorded_at", "actor", "source_detail", "notice_hash", "prev_hash", "hash")
_YES, _NO = {"true", "yes", "1", "y"}, {"false", "no", "0", "n"}


def export_events(store: Store, loaded: LoadedMap, out: TextIO, *, key: bytes, as_json: bool = False) -> int:
    """Write the whole ledger, oldest first, identities unsealed: CSV (importable again) or JSON
    lines. Returns how many events."""
    check_key(store, key)
    kinds = sorted(Hasher(loaded, key).formats)
    columns = [*kinds, *SCOPE_COLUMNS[:1], *SCOPE_COLUMNS[2:], *EXPORT_ONLY]
    writer = None if as_json else csv.DictWriter(out, columns, extrasaction="ignore")
    if writer is not None:
        writer.writeheader()
    count = 0
    for row in _event_rows(store, loaded, key, None):
        if writer is not None:
            flat = {kind: ";".join(values) for kind, values in row.pop("identities").items()}
            writer.writerow({**row, **flat})
        else:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    return count


def ledger_for_export(store: Store, loaded: LoadedMap, identities: IdentityInput, key: bytes) -> list[dict[str, Any]]:
    """Every ledger event naming any of these identities, oldest first, as JSON-able dicts with the
    notice text each event saw: the consent part of a person's access export (Art. 15)."""
    check_key(store, key)
    hasher = Hasher(loaded, key)
    hashes = sorted(
        {
            hasher.hash(kind, value)
            for kind, values in identities.items()
            for value in ([values] if isinstance(values, str) else values)
        }
    )
    return list(_event_rows(store, loaded, key, hashes))


def _event_rows(store: Store, loaded: LoadedMap, key: bytes, hashes: list[str] | None) -> Iterator[dict[str, Any]]:
    keys = Hasher(loaded, key).keys
    events = ConsentEventRow.__table__
    query = (
        sa.select(events, ConsentNoticeRow.text.label("notice"))
        .outerjoin(ConsentNoticeRow, ConsentNoticeRow.hash == events.c.notice_hash)
        .order_by(events.c.seq)
    )
    if hashes is not None:
        naming = sa.select(ConsentEventIdentityRow.seq).where(ConsentEventIdentityRow.identity_hash.in_(hashes))
        query = query.where(events.c.seq.in_(naming))
    with store.session(write=False) as session:
        for row in session.execute(query.execution_options(yield_per=2000)).mappings():
            data = event_from_mapping(dict(row)).to_dict()
            data["notice"] = row["notice"]
            data["identities"] = {
                kind: list(values) for kind, values in unseal_identities(keys, row["seq"], row["identities"]).items()
            }
            yield data


@dataclass(frozen=True)
class ImportRow:
    """One row of an import file, checked: the event it records, and what it says apart from
    where it stands in the file (its line), which is what makes two rows the same."""

    item: EventInput
    source: str  # the row's source in words, without the file and line
    line: int


def parse_rows(loaded: LoadedMap, key: bytes, text: str, name: str) -> tuple[list[ImportRow], list[str]]:
    """The rows of an import file, each checked as :func:`~datavow.consent.record_event` checks
    an event, and the problems of the rows that are malformed, by line."""
    reader = csv.DictReader(io.StringIO(text))
    header = [column.strip() for column in reader.fieldnames or []]
    kinds = Hasher(loaded, key).formats
    if not header:
        raise ConsentError(f"{name}: the file is empty; the first line must name the columns")
    unknown = [c for c in header if c not in kinds and c not in SCOPE_COLUMNS and c not in EXPORT_ONLY]
    if unknown:
        known = ", ".join([*kinds, *SCOPE_COLUMNS])
        raise ConsentError(f"{name}: line 1: unknown column(s) {', '.join(unknown)}; the columns are: {known}")
    if not any(c in kinds for c in header):
        raise ConsentError(f"{name}: line 1: no identity column; name one of {', '.join(kinds)}")
    if ("event" in header) == ("allowed" in header):
        raise ConsentError(f"{name}: line 1: give exactly one of the columns 'event' and 'allowed'")
    reader.fieldnames = header
    rows: list[ImportRow] = []
    problems: list[str] = []
    while True:
        try:
            raw = next(reader, None)
        except csv.Error as exc:  # a cell past the csv module's size limit, a quote never closed
            raise ConsentError(f"{name}: line {reader.reader.line_num}: {exc}; nothing imported") from exc
        if raw is None:
            break
        line = reader.line_num
        try:
            item, source = _item(raw, kinds, f"{name}, line {line}")
            prepare_all(loaded, key, [item])  # every check record_event makes, before anything is written
        except ConsentError as exc:
            problems.append(f"line {line}: {exc}")
            continue
        rows.append(ImportRow(item, source, line))
    return rows, problems


def _item(raw: dict[str, Any], kinds: Mapping[str, Any], where: str) -> tuple[EventInput, str]:
    if None in raw:
        raise ConsentError("more cells than the header has columns")
    cells = {column: (value or "").strip() for column, value in raw.items()}
    identities = {kind: [v.strip() for v in cells[kind].split(";") if v.strip()] for kind in kinds if cells.get(kind)}
    if not identities:
        raise ConsentError(f"no identity: fill in one of {', '.join(k for k in kinds if k in cells)}")
    if "allowed" in cells:
        flag = cells["allowed"].lower()
        if flag not in _YES | _NO:
            raise ConsentError(f"allowed is {cells['allowed']!r}: write true or false")
        event = "granted" if flag in _YES else "withdrawn"
    else:
        event = cells["event"]
    source = "; ".join(part for part in (cells.get("source"), cells.get("source_detail")) if part)
    event_input = EventInput(
        identities,
        event,
        purpose=cells.get("purpose") or None,
        channel=cells.get("channel") or None,
        topic=cells.get("topic") or None,
        source="import",
        source_detail=f"{source} ({where})" if source else where,
        notice=cells.get("notice") or None,
        basis=cells.get("basis") or None,
        at=parse_time(cells.get("at") or ""),
    )
    return event_input, source


def parse_time(text: str) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ConsentError(f"at is {text!r}: write an ISO 8601 time, e.g. 2024-03-15T10:00:00+01:00") from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
