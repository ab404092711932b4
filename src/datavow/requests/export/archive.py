"""A ZIP archive written as a stream of bytes, never to a file.

``zipfile`` writes to any object with ``write``; when that object cannot ``tell`` or ``seek`` it
marks each entry with a data descriptor (sizes and CRC after the data), so nothing is ever
rewritten. :class:`StreamingArchive` collects what ``zipfile`` writes and hands it out in pieces
(:meth:`StreamingArchive.take`) for the caller to encrypt and store: the plain archive exists
only a piece at a time, in memory.
"""

from __future__ import annotations

import hashlib
import io
import stat
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import IO, TYPE_CHECKING

from datavow.secrets import CHUNK

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

_TEXT_BUFFER = 64 * 1024


@dataclass(frozen=True)
class ArchiveFile:
    """One file written into the archive: its name, size and SHA-256 before compression."""

    name: str
    sha256: str
    size: int


class _Collector:
    """The write-only, non-seekable file ``zipfile`` writes into."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


class _Hashing(io.RawIOBase):
    """Passes bytes on to an archive entry, hashing and counting them on the way."""

    def __init__(self, target: IO[bytes]) -> None:
        super().__init__()
        self.target = target
        self.digest = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: ReadableBuffer, /) -> int:
        view = memoryview(data)
        self.digest.update(view)
        self.size += view.nbytes
        self.target.write(view)
        return view.nbytes


class StreamingArchive:
    """A deflated ZIP archive whose bytes are taken out as they are produced."""

    def __init__(self, moment: datetime) -> None:
        self._out = _Collector()
        self._zip = zipfile.ZipFile(self._out, "w", compression=zipfile.ZIP_DEFLATED)
        self._date_time = moment.timetuple()[:6]  # every entry is dated when the package was made
        self.files: list[ArchiveFile] = []

    @contextmanager
    def text_entry(self, name: str, *, large: bool = False) -> Iterator[io.TextIOWrapper]:
        """Write ``name`` as UTF-8 text; ``large`` entries may pass 2 GiB (ZIP64)."""
        entry = zipfile.ZipInfo(name, date_time=self._date_time)
        entry.compress_type = zipfile.ZIP_DEFLATED
        entry.external_attr = (stat.S_IFREG | 0o644) << 16  # a plain file, readable once unpacked
        raw = self._zip.open(entry, "w", force_zip64=large)
        hashing = _Hashing(raw)
        text = io.TextIOWrapper(io.BufferedWriter(hashing, _TEXT_BUFFER), encoding="utf-8", newline="")
        try:
            yield text
            text.flush()
        finally:
            text.close()
            raw.close()
        self.files.append(ArchiveFile(name, hashing.digest.hexdigest(), hashing.size))

    def ready(self) -> bool:
        """True when enough bytes wait to be worth one encrypted chunk."""
        return self._out.size >= CHUNK

    def take(self) -> bytes:
        """The archive's bytes produced since the last call."""
        data = b"".join(self._out.parts)
        self._out.parts.clear()
        self._out.size = 0
        return data

    def close(self) -> bytes:
        """Finish the archive (its central directory) and return the last bytes."""
        self._zip.close()
        return self.take()
