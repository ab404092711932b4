"""Delivering an access or portability package: a support agent opens a completed request's
package into a folder, to send the person their data.

The package stays encrypted at rest (:mod:`datavow.requests.export`); opening it is the one moment
its contents leave datavow, so it is refused once the package has expired, written only into an
empty folder (never over another person's files), and recorded in the audit log with the actor
(never with the person's data or the folder's name, which may well be the person's).
"""

from __future__ import annotations

import os
import shutil
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from datavow.audit import append
from datavow.errors import DatavowError, ErrorKind, RequestError
from datavow.requests.export import export_header, read_export
from datavow.requests.lifecycle import RequestKind, RequestRecord, Status, get
from datavow.store import Store
from datavow.store.key import check_key

#: The kinds of request that end with a package.
PACKAGED = (RequestKind.access, RequestKind.portability)
_COPY = 1024 * 1024


@dataclass(frozen=True)
class DeliveredFile:
    """One file written out of a package: its path inside the folder, and its size."""

    name: str
    size: int


@dataclass(frozen=True)
class DeliveredPackage:
    """A package opened into ``folder`` for delivery."""

    request_id: int
    folder: Path
    files: tuple[DeliveredFile, ...]
    expires_at: datetime

    @property
    def size(self) -> int:
        return sum(file.size for file in self.files)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the request, the folder, each file with its size, and when the package expires."""
        return {
            "request_id": self.request_id,
            "folder": str(self.folder),
            "files": [{"name": file.name, "size": file.size} for file in self.files],
            "size": self.size,
            "expires_at": self.expires_at.isoformat(),
        }


def open_package(
    store: Store, request_id: int, folder: Path, *, key: bytes, actor: str, now: datetime | None = None
) -> DeliveredPackage:
    """Decrypt the package of completed access or portability request ``request_id`` into
    ``folder`` (created if missing, refused unless empty), and audit it as ``request.package_opened``.

    Raises :class:`RequestError` when the request has no package (another kind, not completed),
    the package has expired or is missing, or the folder holds files; on any error, nothing is
    left in the folder.
    """
    check_key(store, key)
    now = now or datetime.now(UTC)
    record = get(store, request_id)
    package = _package_of(record, now)
    header = export_header(package)
    if header.request_id != str(record.id):
        raise RequestError(
            f"{package} holds the package of request {header.request_id}, not of request {record.id} — "
            "run the request again to write its own package"
        )
    _refuse_expired(record.id, header.expires_at, now)
    _empty_folder(folder)
    written: list[DeliveredFile] = []
    try:
        written = _unpack(package, key, folder, now)
        append(
            store,
            actor,
            "request.package_opened",
            "request",
            str(record.id),
            details={
                "kind": record.kind.value,
                "files": len(written),
                "bytes": sum(file.size for file in written),
                "expires_at": header.expires_at.isoformat(),
            },
        )
    except (DatavowError, OSError):
        # Unaudited personal data must not stay behind: empty the folder again, then report.
        _clear(folder)
        raise
    return DeliveredPackage(record.id, folder, tuple(written), header.expires_at)


def _package_of(record: RequestRecord, now: datetime) -> Path:
    """The package file of ``record``, or the reason there is none."""
    if record.kind not in PACKAGED:
        raise RequestError(
            f"request {record.id} is a {record.kind.value} request; only access and portability requests have a package"
        )
    if record.status is not Status.completed:
        hint = (
            "run it first"
            if record.status in (Status.verified, Status.in_progress)
            else "its package exists once it is completed"
        )
        raise RequestError(f"request {record.id} is {record.status.value}, not completed — {hint}")
    result = record.result or {}
    name = result.get("package")
    if not isinstance(name, str) or not name:
        raise RequestError(
            f"request {record.id} was completed without a package — receive a new access request to "
            "send the person their data"
        )
    path = Path(name)
    if not path.is_file():
        expires = result.get("expires_at")
        if isinstance(expires, str):
            # Retention deletes expired packages: say that it expired rather than that it is missing.
            _refuse_expired(record.id, datetime.fromisoformat(expires), now)
        raise RequestError(
            f"the package of request {record.id} is not at {path} — restore the file, or receive a new "
            "access request to send the person their data",
            kind=ErrorKind.NOT_FOUND,
        )
    return path


def _refuse_expired(request_id: int, expires_at: datetime, now: datetime) -> None:
    if expires_at <= now:
        raise RequestError(
            f"the package of request {request_id} expired on {expires_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC — "
            "receive a new access request to send the person their data"
        )


def _empty_folder(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise RequestError(
            f"{folder} is a file, not a folder — name an empty folder to open the package into",
            kind=ErrorKind.INVALID,
            field="folder",
        )
    if folder.is_dir() and any(folder.iterdir()):
        raise RequestError(
            f"{folder} is not empty — name an empty or new folder, so that no other file is overwritten "
            "or sent by mistake",
            kind=ErrorKind.INVALID,
            field="folder",
        )
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)


def _unpack(package: Path, key: bytes, folder: Path, now: datetime) -> list[DeliveredFile]:
    """Decrypt the package's ZIP into the folder (a ZIP is read from its end, so it is written
    whole first), then write out each file, readable by the owner only, and remove the ZIP."""
    archive = read_export(package, key, folder, now=now)
    try:
        with zipfile.ZipFile(archive) as opened:
            return [_extract(opened, member, folder) for member in opened.infolist() if not member.is_dir()]
    finally:
        archive.unlink(missing_ok=True)


def _extract(opened: zipfile.ZipFile, member: zipfile.ZipInfo, folder: Path) -> DeliveredFile:
    name = PurePosixPath(member.filename)
    if name.is_absolute() or ".." in name.parts:
        raise RequestError(
            f"the package holds a file named {member.filename!r}, outside its folder — it is damaged",
            kind=ErrorKind.INTEGRITY,
        )
    target = folder.joinpath(*name.parts)
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with opened.open(member) as source, os.fdopen(descriptor, "wb") as out:
        shutil.copyfileobj(source, out, _COPY)
    return DeliveredFile(str(name), target.stat().st_size)


def _clear(folder: Path) -> None:
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
