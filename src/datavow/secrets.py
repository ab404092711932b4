"""The secret key, and what is derived from it: encryption at rest and keyed hashes.

One 32-byte key per installation, from ``$DATAVOW_SECRET_KEY`` (URL-safe base64) or the file
``.datavow/secret.key`` beside the map (mode 0600, made only by :func:`create_key`). Each use gets its own
subkey (HKDF with a purpose label), so an export key never equals the erasure hash key.

Values (identities, small payloads) are sealed with AES-GCM. Files are sealed as a stream of
AES-GCM chunks, each bound to its position and to whether it is the last, so a file cannot be
truncated, reordered or spliced without :func:`open_stream` noticing; memory stays one chunk.
"""

from __future__ import annotations

import base64
import binascii
import os
import struct
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from datavow.errors import SecretError

KEY_ENV = "DATAVOW_SECRET_KEY"
KEY_FILE = "secret.key"
CHUNK = 64 * 1024
_MAGIC = b"DVS1"


def state_directory(map_path: Path) -> Path:
    """``.datavow`` beside the map: where the key file lives (and the default state store)."""
    return Path(map_path).resolve().parent / ".datavow"


def key_file(state_dir: Path) -> Path:
    """Where the installation's key file is: ``secret.key`` in the state folder."""
    return Path(state_dir) / KEY_FILE


def load_key(state_dir: Path) -> bytes:
    """The installation's key: ``$DATAVOW_SECRET_KEY``, else ``state_dir/secret.key``.

    Never makes one: a missing key is a :class:`SecretError` (only :func:`create_key` writes a key
    file), as is a key file that others than its owner may read or write."""
    return read_key(state_dir)[0]


def key_source(state_dir: Path) -> str:
    """Where :func:`load_key` takes the key from: ``$DATAVOW_SECRET_KEY`` when it is set, else the key file."""
    return f"${KEY_ENV}" if os.environ.get(KEY_ENV) is not None else str(key_file(state_dir))


def read_key(state_dir: Path) -> tuple[bytes, str]:
    """The installation's key and where it came from (as :func:`key_source` says it)."""
    text = os.environ.get(KEY_ENV)
    where = f"${KEY_ENV}"
    path = key_file(state_dir)
    if text is None:
        where = str(path)
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise SecretError(
                f"there is no secret key: ${KEY_ENV} is not set and there is no key file {path}. Restore the key "
                f"file from its backup (mode 0600), or set ${KEY_ENV} to the key this installation was made with; "
                "a new installation creates its key first, once",
                field="secret_key",
            ) from None
        if mode & 0o077:
            raise SecretError(
                f"the key file {path} may be read or written by others than its owner (mode {mode & 0o777:04o}): "
                f"make it private with chmod 600 {path}, and consider the key exposed if others could read it",
                field="secret_key",
            )
        text = path.read_text()
    return parse_key(text, where), where


def parse_key(text: str, where: str) -> bytes:
    """A key written as :func:`new_key_text` writes it; ``where`` names its source in errors."""
    try:
        key = base64.urlsafe_b64decode(text.strip())
    except (binascii.Error, ValueError) as exc:
        raise SecretError(f"the secret key in {where} is not URL-safe base64", field="secret_key") from exc
    if len(key) != 32:
        raise SecretError(
            f"the secret key in {where} must be 32 bytes (44 base64 characters), not {len(key)}", field="secret_key"
        )
    return key


def create_key(state_dir: Path) -> Path:
    """Write a new key file in ``state_dir`` (made 0700 if it is not there), mode 0600; refuses
    when a key file is already there, so that no key is ever replaced by accident."""
    path = key_file(state_dir)
    make_state_directory(state_dir)
    write_key_file(path, new_key_text())
    return path


def write_key_file(path: Path, text: str) -> None:
    """``text`` as a new key file at ``path`` (mode 0600), unless one is there: written aside and
    linked into place, so that a concurrent reader never sees a half-written file, and two writers
    cannot both succeed."""
    aside = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text.strip() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(aside, path)
        except FileExistsError:
            raise SecretError(
                f"there is a key file at {path} already: it is kept, and no new key was made", field="secret_key"
            ) from None
    finally:
        aside.unlink()


def make_state_directory(state_dir: Path) -> None:
    """The state folder, made readable by its owner only (0700) when it is not there yet."""
    Path(state_dir).mkdir(mode=0o700, parents=True, exist_ok=True)


def fingerprint(key: bytes) -> str:
    """A key's fingerprint, in hex: a subkey of its own, so it tells keys apart and reveals none."""
    return derive(key, "fingerprint").hex()


def short_fingerprint(value: str) -> str:
    """The first 16 hex digits of a fingerprint, in groups of four, for people to compare."""
    return ":".join(value[i : i + 4] for i in range(0, 16, 4))


def new_key_text() -> str:
    """A fresh key, as ``$DATAVOW_SECRET_KEY`` takes it."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def derive(key: bytes, purpose: str) -> bytes:
    """A 32-byte subkey for one purpose, e.g. ``"erasure-hash"`` or ``"export"``."""
    # cryptography is imported where it is used: finding the state directory or a dry run needs none
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"datavow:" + purpose.encode()).derive(key)


def seal(key: bytes, data: bytes, context: bytes = b"") -> bytes:
    """Encrypt and authenticate ``data``; ``context`` must be given again to open it."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, data, context)


def unseal(key: bytes, blob: bytes, context: bytes = b"") -> bytes:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        return AESGCM(key).decrypt(blob[:12], blob[12:], context)
    except (InvalidTag, ValueError) as exc:
        raise SecretError("the data does not open with this key (wrong key, or the data was changed)") from exc


def _chunk_aad(prefix: bytes, index: int, last: bool) -> bytes:
    return prefix + struct.pack(">Q?", index, last)


def seal_stream(key: bytes, chunks: Iterable[bytes], context: bytes = b"") -> Iterator[bytes]:
    """Encrypt a stream: a header, then each chunk as length + nonce + ciphertext."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    prefix = os.urandom(16)
    yield _MAGIC + prefix
    aead = AESGCM(key)
    pending: bytes | None = None
    index = 0
    buffer = b""

    def frame(data: bytes, last: bool) -> bytes:
        nonce = os.urandom(12)
        body = aead.encrypt(nonce, data, context + _chunk_aad(prefix, index, last))
        return struct.pack(">I", len(body)) + nonce + body

    for piece in chunks:
        buffer += piece
        while len(buffer) >= CHUNK:
            if pending is not None:
                yield frame(pending, False)
                index += 1
            pending, buffer = buffer[:CHUNK], buffer[CHUNK:]
    if buffer or pending is None:
        if pending is not None:
            yield frame(pending, False)
            index += 1
        pending = buffer
    yield frame(pending, True)


def open_stream(key: bytes, source: Iterable[bytes], context: bytes = b"") -> Iterator[bytes]:
    """Decrypt what :func:`seal_stream` wrote; raises :class:`SecretError` on any tampering."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    reader = _Reader(iter(source))
    header = reader.take(4 + 16)
    if header[:4] != _MAGIC:
        raise SecretError("not a datavow encrypted file")
    prefix = header[4:]
    aead = AESGCM(key)
    index = 0
    while True:
        size_bytes = reader.take(4, allow_end=True)
        if not size_bytes:
            raise SecretError("the encrypted file is truncated")
        (size,) = struct.unpack(">I", size_bytes)
        nonce, body = reader.take(12), reader.take(size)
        for last in (False, True):
            try:
                plain = aead.decrypt(nonce, body, context + _chunk_aad(prefix, index, last))
            except InvalidTag:
                continue
            yield plain
            if last:
                if reader.take(1, allow_end=True):
                    raise SecretError("the encrypted file has data after its last chunk")
                return
            break
        else:
            raise SecretError("the encrypted file does not open with this key, or was changed")
        index += 1


class _Reader:
    def __init__(self, source: Iterator[bytes]) -> None:
        self.source, self.buffer = source, b""

    def take(self, size: int, *, allow_end: bool = False) -> bytes:
        while len(self.buffer) < size:
            piece = next(self.source, None)
            if piece is None:
                if allow_end and not self.buffer:
                    return b""
                raise SecretError("the encrypted file is truncated")
            self.buffer += piece
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data
