"""Access and portability (Art. 15 and 20): the export package, written encrypted and streamed.

:func:`export_access` reads the person's rows step by step of a :class:`~datavow.plan.model.Discovery`
and writes one encrypted file, ``<name>.zip.dvs``, holding a ZIP with

- ``data/<system>/<table>.json`` and ``.csv`` for every table where the person has rows;
- ``letter.html``, the answer Art. 15(1)–(2) requires, drawn from the data map;
- ``manifest.json``, the same in machine-readable form, with a SHA-256 for every other file.

Rows stream from server-side cursors into the ZIP, and the ZIP streams through the encryption
(:func:`datavow.secrets.seal_stream`) into the file: memory does not grow with the person's data
and no unencrypted byte touches the disk. The file starts with a short clear header (request id,
when it was made, when it expires), bound to the ciphertext as authenticated data, so the expiry
can be read without the key but not changed without breaking the package. :func:`open_export`
and :func:`read_export` decrypt it for delivery, and refuse once it has expired.
"""

from __future__ import annotations

import itertools
import json
import os
import struct
from collections.abc import Collection, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from datavow.connectors.sql import translate_errors
from datavow.datamap.load import LoadedMap, TableRef
from datavow.documents.disclosure import Disclosure, LetterFile, disclose, letter_template, render_letter
from datavow.errors import ErrorKind, RequestError
from datavow.plan.model import Discovery, Selection
from datavow.plan.sql import reflect_table
from datavow.requests.export.archive import ArchiveFile, StreamingArchive
from datavow.requests.export.rows import Batch, Wanted, few_rows, person_rows, write_csv, write_json
from datavow.requests.reading import Source, reader
from datavow.secrets import derive, open_stream, seal_stream

FORMAT = "datavow-export/1"
SUBKEY = "export"
_MAGIC = b"DVX1"
_READ = 256 * 1024
_HEADER_LIMIT = 64 * 1024
# Credentials are the person's data, but only as one-way hashes: a copy tells them nothing and,
# should the package leak, helps an attacker. Their columns are listed as withheld instead.
WITHHELD_CATEGORIES = ("user.authorization.password", "user.authorization.credentials")


@dataclass(frozen=True)
class ExportInfo:
    """The request an export answers, as the letter and the manifest show it."""

    request_id: str
    received_at: datetime | date
    identities: Mapping[str, Collection[object]]  # identity kind -> values searched (shown masked)
    language: str = "en"
    controller: str | None = None  # in processor mode, the name of the tenant's controller


@dataclass(frozen=True)
class ExportedTable:
    """A table where the person was found, and the files holding their rows."""

    system: str
    table: str
    rows: int
    json: str
    csv: str

    @property
    def label(self) -> str:
        return f"{self.system}.{self.table}"


@dataclass(frozen=True)
class ExportHeader:
    """The clear header of a package: readable without the key, bound to the ciphertext."""

    request_id: str
    generated_at: datetime
    expires_at: datetime

    def expired(self, now: datetime | None = None) -> bool:
        return self.expires_at <= (now or datetime.now(UTC))


@dataclass(frozen=True)
class ExportPackage:
    """An export package written to ``path``."""

    path: Path
    header: ExportHeader
    tables: tuple[ExportedTable, ...]
    files: tuple[ArchiveFile, ...]  # every file in the ZIP, the manifest last, with its SHA-256
    size: int  # bytes on disk, encrypted

    @property
    def rows(self) -> int:
        return sum(table.rows for table in self.tables)

    @property
    def found_anything(self) -> bool:
        return bool(self.tables)


def export_access(
    loaded: LoadedMap,
    discovery: Discovery,
    sources: Mapping[str, Source],
    out_path: Path,
    *,
    key: bytes,
    request: ExportInfo,
    expires_at: datetime,
    tenant: str | None = None,
    own_records: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
) -> ExportPackage:
    """Write the access/portability package for the person ``discovery`` found, to ``out_path``.

    ``own_records`` are what datavow itself keeps about the person (``{"consent": [...]}``: the
    consent ledger's events), each written as ``datavow/<name>.json`` and listed in the letter.

    ``sources`` maps each system of the plan to its engine, or to a connection already reading
    in the transaction discovery read in (:func:`datavow.requests.reading.snapshots`: then the
    package holds exactly what discovery found); ``key`` is the installation key (the
    package is sealed with its ``export`` subkey). In processor mode the plan's tenant keeps every
    read to one controller's rows; ``tenant``, when given, must be it. A person found nowhere gets
    a package whose letter says that no data is held. The file is written beside ``out_path`` and
    renamed into place when complete; on any error nothing is left behind.
    """
    tenant = _tenant(discovery, tenant)
    generated_at = datetime.now(UTC)
    if expires_at.tzinfo is None or expires_at <= generated_at:
        raise RequestError(
            f"the export would expire at {expires_at.isoformat()}, which is not a time-zone-aware moment in the future"
            " — pass e.g. datetime.now(UTC) + timedelta(days=30)",
            kind=ErrorKind.INVALID,
            field="expires_at",
        )
    letter_template(request.language)  # refuse an unknown language before reading anything
    selections = [s for s in discovery.selections.values() if not s.is_empty()]
    missing = sorted({s.step.table[0] for s in selections} - set(sources))
    if missing:
        raise RequestError(
            f"no database connection for system(s) {', '.join(missing)} — pass an engine for each",
            kind=ErrorKind.INVALID,
            field="sources",
        )
    header = ExportHeader(request.request_id, generated_at, expires_at)
    writer = _PackageWriter(loaded, sources, request, header, tenant, StreamingArchive(generated_at))
    writer.own_records = {name: list(rows) for name, rows in (own_records or {}).items() if rows}
    size = write_sealed(out_path, key, header, writer.archive_bytes(selections))
    return ExportPackage(out_path, header, tuple(writer.tables), tuple(writer.archive.files), size)


#: What each kind of ``own_records`` is, as the letter names it.
OWN_RECORDS = {"consent": "your consents and communication preferences, as we recorded them"}


def _tenant(discovery: Discovery, tenant: str | None) -> str | None:
    """The plan's tenant; one given here must be it (the plan's steps carry the scoping)."""
    planned = discovery.plan.tenant
    if tenant is not None and str(tenant).strip() != planned:
        scoped = f"tenant '{planned}'" if planned is not None else "no tenant"
        raise RequestError(
            f"the plan was compiled for {scoped}, not tenant '{tenant}' — plan the request for the tenant it is for",
            kind=ErrorKind.INVALID,
            field="tenant",
        )
    return planned


@dataclass
class _PackageWriter:
    """Writes the ZIP of one package; ``tables`` and ``archive.files`` say what went in."""

    loaded: LoadedMap
    sources: Mapping[str, Source]
    request: ExportInfo
    header: ExportHeader
    tenant: str | None
    archive: StreamingArchive
    tables: list[ExportedTable] = field(default_factory=list)
    own_records: dict[str, list[Mapping[str, Any]]] = field(default_factory=dict)

    def archive_bytes(self, selections: Sequence[Selection]) -> Iterator[bytes]:
        """The ZIP's bytes as they are made: the data files, system by system in plan order, then
        the letter and the manifest, which count the rows and hash the files."""
        for system in dict.fromkeys(s.step.table[0] for s in selections):
            source = self.sources[system]
            with reader(source, system) as connection, translate_errors(connection.engine.url, system):
                wanted = [self._wanted(connection, s) for s in selections if s.step.table[0] == system]
                for item, rows in zip(wanted, few_rows(connection, wanted, tenant=self.tenant), strict=True):
                    exported = yield from self._table_files(connection, item, rows)
                    if exported is not None:
                        self.tables.append(exported)
        for name, records in self.own_records.items():
            with self.archive.text_entry(f"datavow/{name}.json") as out:
                json.dump(records, out, ensure_ascii=False, indent=2, default=str)
            if self.archive.ready():
                yield self.archive.take()
        yield from self._documents()

    def _wanted(self, connection: Connection, selection: Selection) -> Wanted:
        """The step's table as the database has it, and the columns a package holds."""
        table = reflect_table(self.loaded, selection.step, connection)
        withheld = withheld_columns(self.loaded, self.loaded.table(*selection.step.table))
        return Wanted(table, selection, [column for column in table.c.keys() if column not in withheld])

    def _table_files(
        self, connection: Connection, wanted: Wanted, rows: Batch | None
    ) -> Generator[bytes, None, ExportedTable | None]:
        """The JSON and CSV files of one step, if the person has rows there: from ``rows`` when
        they were read whole, else streamed from the database (twice: a ZIP entry is written whole
        before the next begins)."""
        system, name = wanted.selection.step.table
        table, selection, columns = wanted.table, wanted.selection, wanted.columns
        base = f"data/{system}/{name}"
        if rows is not None:
            if not rows:
                return None
            json_rows, csv_rows = iter([rows]), iter([rows])
        else:
            batches = person_rows(connection, table, selection, columns, tenant=self.tenant)
            first = next(batches, None)
            if first is None:
                return None
            json_rows = itertools.chain([first], batches)
            csv_rows = person_rows(connection, table, selection, columns, tenant=self.tenant)
        count = yield from write_json(self.archive, base + ".json", columns, json_rows)
        yield from write_csv(self.archive, base + ".csv", columns, csv_rows)
        return ExportedTable(system, name, count, base + ".json", base + ".csv")

    def _documents(self) -> Iterator[bytes]:
        """The letter and the manifest, and the end of the archive."""
        refs = [self.loaded.table(t.system, t.table) for t in self.tables]
        disclosure = disclose(self.loaded, refs)
        request, header = self.request, self.header
        shown = {
            "id": request.request_id,
            "received_at": _when(request.received_at),
            "identities": [(kind, value) for kind, values in self._masked().items() for value in values],
            "controller": request.controller,
            "generated_at": _when(header.generated_at),
            "expires_at": _when(header.expires_at),
        }
        files = [
            LetterFile(name, t.label, fmt, t.rows)
            for t in self.tables
            for name, fmt in ((t.json, "JSON"), (t.csv, "CSV"))
        ]
        files += [
            LetterFile(f"datavow/{name}.json", OWN_RECORDS.get(name, name), "JSON", len(records))
            for name, records in self.own_records.items()
        ]
        withheld = [f"{ref.label}.{column}" for ref in refs for column in withheld_columns(self.loaded, ref)]
        letter = render_letter(
            self.loaded,
            disclosure,
            language=request.language,
            request=shown,
            files=files,
            withheld=withheld,
            tenant=self.tenant,
        )
        with self.archive.text_entry("letter.html") as out:
            out.write(letter)
        with self.archive.text_entry("manifest.json") as out:
            # Compact: the C encoder is ten times quicker than an indented one, and a reader's
            # tool indents it; the letter is what people read.
            out.write(json.dumps(self._manifest(refs, disclosure), ensure_ascii=False))
        yield self.archive.close()

    def _masked(self) -> dict[str, list[str]]:
        return {kind: sorted(mask_identity(v) for v in values) for kind, values in self.request.identities.items()}

    def _manifest(self, refs: Sequence[TableRef], disclosure: Disclosure) -> dict[str, Any]:
        organization = self.loaded.model.organization
        authority = organization.supervisory_authority
        request, header = self.request, self.header
        return {
            "format": FORMAT,
            "request": {
                "id": request.request_id,
                "received_at": _utc(request.received_at).isoformat(),
                "identities": self._masked(),
                "language": request.language,
                "controller": request.controller,
            },
            "generated_at": header.generated_at.isoformat(),
            "expires_at": header.expires_at.isoformat(),
            "tenant": self.tenant,
            "organization": organization.model_dump(include={"name", "legal_name", "country", "contact", "dpo"}),
            "found": bool(self.tables),
            "tables": [
                {
                    "system": table.system,
                    "table": table.table,
                    "rows": table.rows,
                    "files": [table.json, table.csv],
                    "categories": {column: list(declared.category) for column, declared in ref.table.fields.items()},
                    "withheld": list(withheld_columns(self.loaded, ref)),
                }
                for table, ref in zip(self.tables, refs, strict=True)
            ],
            **self.loaded.derived(("manifest", *(ref.path for ref in refs)), lambda: _disclosed(disclosure)),
            "supervisory_authority": authority.model_dump(exclude_none=True) if authority else None,
            "files": {file.name: {"sha256": file.sha256, "bytes": file.size} for file in self.archive.files},
        }


def _disclosed(disclosure: Disclosure) -> dict[str, list[dict[str, Any]]]:
    """The disclosure as the manifest holds it."""
    return {
        "purposes": [asdict(purpose) for purpose in disclosure.purposes],
        "categories": [asdict(category) for category in disclosure.categories],
        "recipients": [asdict(recipient) for recipient in disclosure.recipients],
        "holds": [asdict(hold) for hold in disclosure.holds],
    }


def withheld_columns(loaded: LoadedMap, ref: TableRef) -> tuple[str, ...]:
    """Columns of a table left out of exports: those holding credentials (worked out once per map)."""

    def withheld() -> tuple[str, ...]:
        taxonomy = loaded.taxonomy
        return tuple(
            column
            for column, declared in ref.table.fields.items()
            if any(taxonomy.covers(broad, key) for key in declared.category for broad in WITHHELD_CATEGORIES)
        )

    return loaded.derived(("withheld", *ref.path), withheld)


def mask_identity(value: object) -> str:
    """An identity value with most of it hidden: ``j***@example.com``, ``+4***67``."""
    text = str(value)
    local, at, domain = text.partition("@")
    if at:
        return local[:1] + "***@" + domain
    return text[:2] + "***" + text[-2:] if len(text) >= 7 else text[:1] + "***"


def _when(moment: datetime | date) -> str:
    """A moment for the letter: minutes in UTC, or a day."""
    return _utc(moment).strftime("%Y-%m-%d %H:%M UTC") if isinstance(moment, datetime) else moment.isoformat()


def _utc(moment: datetime | date) -> datetime | date:
    """A datetime in UTC; one without a time zone is UTC already (as the state store keeps them)."""
    if not isinstance(moment, datetime):
        return moment
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# --------------------------------------------------------------------------- the sealed file


def _header_bytes(header: ExportHeader) -> bytes:
    fields = {
        "format": FORMAT,
        "request": header.request_id,
        "generated_at": header.generated_at.isoformat(),
        "expires_at": header.expires_at.isoformat(),
    }
    return json.dumps(fields, sort_keys=True).encode()


def _context(header_bytes: bytes) -> bytes:
    return b"datavow-export\0" + header_bytes


def write_sealed(out_path: Path, key: bytes, header: ExportHeader, plain: Iterator[bytes]) -> int:
    """Write the header and the sealed ``plain`` stream to ``out_path``; return its size. The one
    writer of the package format: access exports and a tenant's return both use it."""
    header_bytes = _header_bytes(header)
    prelude = _MAGIC + struct.pack(">I", len(header_bytes)) + header_bytes
    _write_whole(out_path, itertools.chain([prelude], seal_stream(derive(key, SUBKEY), plain, _context(header_bytes))))
    return out_path.stat().st_size


def _write_whole(target: Path, pieces: Iterable[bytes]) -> None:
    """Write ``pieces`` beside ``target`` (readable by the owner only) and rename it into place
    once complete; on any error, remove what was written."""
    part = target.with_name(target.name + ".part")
    done = False
    try:
        with os.fdopen(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
            for piece in pieces:
                out.write(piece)
        os.replace(part, target)
        done = True
    finally:
        if not done:
            part.unlink(missing_ok=True)


def export_header(path: Path) -> ExportHeader:
    """The clear header of a package: which request, when made, when it expires."""
    header, _ = _read_header(path)
    return header


def _read_header(path: Path) -> tuple[ExportHeader, bytes]:
    with path.open("rb") as handle:
        start = handle.read(len(_MAGIC) + 4)
        if len(start) < len(_MAGIC) + 4 or start[: len(_MAGIC)] != _MAGIC:
            raise RequestError(f"{path} is not a datavow export package", kind=ErrorKind.INVALID, field="package")
        (length,) = struct.unpack(">I", start[len(_MAGIC) :])
        header_bytes = handle.read(min(length, _HEADER_LIMIT))
    try:
        if len(header_bytes) != length:
            raise ValueError("header cut short, or longer than a header can be")
        fields = json.loads(header_bytes)
        header = ExportHeader(
            fields["request"],
            datetime.fromisoformat(fields["generated_at"]),
            datetime.fromisoformat(fields["expires_at"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise RequestError(
            f"{path} is not a datavow export package (its header is damaged)", kind=ErrorKind.INTEGRITY, field="package"
        ) from exc
    return header, header_bytes


def open_export(path: Path, key: bytes, *, allow_expired: bool = False, now: datetime | None = None) -> Iterator[bytes]:
    """The package's ZIP, decrypted, in pieces.

    Raises :class:`RequestError` at once when the package has expired (unless ``allow_expired``),
    and :class:`~datavow.errors.SecretError` while reading when the key is wrong or the file was
    changed.
    """
    header, header_bytes = _read_header(path)
    if header.expired(now) and not allow_expired:
        raise RequestError(
            f"the export package of request {header.request_id} expired on {_when(header.expires_at)} — "
            "export the request again to send the person their data"
        )
    return open_stream(
        derive(key, SUBKEY), _file_pieces(path, len(_MAGIC) + 4 + len(header_bytes)), _context(header_bytes)
    )


def _file_pieces(path: Path, offset: int) -> Iterator[bytes]:
    with path.open("rb") as handle:
        handle.seek(offset)
        while piece := handle.read(_READ):
            yield piece


def read_export(
    path: Path, key: bytes, dest_dir: Path, *, allow_expired: bool = False, now: datetime | None = None
) -> Path:
    """Decrypt the package into ``dest_dir`` as a ``.zip`` file, for delivery; return its path."""
    pieces = open_export(path, key, allow_expired=allow_expired, now=now)
    name = path.name.removesuffix(".dvs")
    target = dest_dir / (name if name.endswith(".zip") else name + ".zip")
    _write_whole(target, pieces)
    return target
