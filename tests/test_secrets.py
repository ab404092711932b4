"""The secret key and encryption at rest: what is sealed opens only with its key, unchanged."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from datavow.errors import SecretError
from datavow.secrets import (
    CHUNK,
    KEY_ENV,
    create_key,
    derive,
    load_key,
    new_key_text,
    open_stream,
    seal,
    seal_stream,
    unseal,
)


def test_a_key_is_made_only_on_purpose_private_and_never_replaced(tmp_path: Path, without_key_env: None) -> None:
    state = tmp_path / ".datavow"
    with pytest.raises(SecretError, match="there is no secret key") as missing:
        load_key(state)
    assert "Restore the key file from its backup" in str(missing.value) and not state.exists()  # nothing made
    path = create_key(state)
    assert path == state / "secret.key"
    assert state.stat().st_mode & 0o777 == 0o700 and path.stat().st_mode & 0o777 == 0o600
    key = load_key(state)
    assert len(key) == 32 and load_key(state) == key
    with pytest.raises(SecretError, match="there is a key file at .* already"):
        create_key(state)
    assert load_key(state) == key  # the first key stands


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620, 0o602, 0o644])
def test_a_key_file_others_may_read_or_write_is_refused_with_the_fix(
    tmp_path: Path, without_key_env: None, mode: int
) -> None:
    path = create_key(tmp_path)
    path.chmod(mode)
    with pytest.raises(SecretError, match=f"mode 0{mode:o}.*chmod 600 {path}"):
        load_key(tmp_path)
    path.chmod(0o600)
    assert len(load_key(tmp_path)) == 32


def test_a_corrupt_key_file_is_refused(tmp_path: Path, without_key_env: None) -> None:
    path = create_key(tmp_path)
    path.write_text("abcde\n")  # not base64: its padding is wrong
    with pytest.raises(SecretError, match="is not URL-safe base64"):
        load_key(tmp_path)
    path.write_text("c2hvcnQ=\n")
    with pytest.raises(SecretError, match="must be 32 bytes"):
        load_key(tmp_path)


def test_environment_key_wins_and_bad_keys_are_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = new_key_text()
    monkeypatch.setenv(KEY_ENV, text)
    assert load_key(tmp_path) == __import__("base64").urlsafe_b64decode(text)
    monkeypatch.setenv(KEY_ENV, "c2hvcnQ=")
    with pytest.raises(SecretError, match="must be 32 bytes"):
        load_key(tmp_path)


def test_subkeys_differ_per_purpose() -> None:
    key = os.urandom(32)
    assert derive(key, "export") != derive(key, "erasure-hash") and derive(key, "export") == derive(key, "export")


def test_sealed_values_need_the_key_and_the_context() -> None:
    key = os.urandom(32)
    blob = seal(key, b"jane@example.com", b"request:7")
    assert unseal(key, blob, b"request:7") == b"jane@example.com"
    for wrong_key, context in ((os.urandom(32), b"request:7"), (key, b"request:8")):
        with pytest.raises(SecretError):
            unseal(wrong_key, blob, context)


@pytest.mark.parametrize("size", [0, 1, CHUNK, CHUNK + 1, 3 * CHUNK + 17])
def test_streams_round_trip(size: int) -> None:
    key, data = os.urandom(32), os.urandom(size)
    pieces = [data[i : i + 5000] for i in range(0, len(data), 5000)]
    assert b"".join(open_stream(key, seal_stream(key, pieces))) == data


def test_stream_tampering_truncation_and_splicing_are_refused() -> None:
    key = os.urandom(32)
    blob = b"".join(seal_stream(key, [os.urandom(3 * CHUNK)]))
    frame = 4 + 12 + CHUNK + 16
    header = 20
    flipped = bytearray(blob)
    flipped[header + 100] ^= 1
    cut_last = blob[: header + 2 * frame]  # drop the last chunk: the stream ends without one marked last
    swapped = (
        blob[:header]
        + blob[header + frame : header + 2 * frame]
        + blob[header : header + frame]
        + blob[header + 2 * frame :]
    )
    for bad in (bytes(flipped), cut_last, swapped, blob + b"x"):
        with pytest.raises(SecretError):
            b"".join(open_stream(key, [bad]))
