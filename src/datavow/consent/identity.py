"""One identity value to its keyed hash, as the requests ledger hashes it (so restrictions and
consent events about the same person meet on the same hash)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from functools import lru_cache

from datavow.consent.errors import ConsentError
from datavow.datamap import LoadedMap
from datavow.errors import RequestError
from datavow.plan.identities import Format, home_region, identity_formats, parse_value
from datavow.plan.identity_keys import IdentityKeys


class Hasher:
    """Normalises values as the planner does (``Jane@X.org`` is ``jane@x.org``) and hashes them
    with the ``identity-index`` subkey of the installation's key."""

    def __init__(self, loaded: LoadedMap, key: bytes) -> None:
        self.keys = identity_keys(key)
        self.formats: Mapping[str, Format] = identity_formats(loaded)
        # a phone number or national id without a country is read as the requests ledger reads it
        self.region = home_region(loaded)
        self._index = index_hash(self.keys.index)

    def hash(self, kind: str, value: str) -> str:
        """The hash of ``value``, or :class:`ConsentError` saying why it is not a ``kind``."""
        if kind not in self.formats:
            raise ConsentError(
                f"'{kind}' is not a kind of identity this map knows — use one of: {', '.join(self.formats)}"
            )
        try:
            normal = parse_value(self.formats[kind], value, region=self.region)
        except RequestError as exc:
            raise ConsentError(str(exc)) from exc
        return self.hash_normal(kind, str(normal))

    def try_hash(self, kind: str, value: str) -> str | None:
        """The hash of ``value``, or ``None`` when it is not a valid ``kind`` (a mailing list's ``jane@``)."""
        try:
            return self.hash_normal(kind, str(parse_value(self.formats[kind], value, region=self.region)))
        except RequestError:
            return None

    def hash_all(self, kind: str, values: Iterable[str]) -> list[tuple[str, str]]:
        """``(value, hash)`` for each of ``values`` that is a valid ``kind``, in their order: a
        mailing list's addresses (a million in about three seconds, so kept to one loop)."""
        format_, index, prefix, region = self.formats[kind], self._index, f"{kind}:", self.region
        pairs: list[tuple[str, str]] = []
        for value in values:
            try:
                pairs.append((value, index(prefix + str(parse_value(format_, value, region=region)))))
            except RequestError:
                continue
        return pairs

    def hash_normal(self, kind: str, normal: str) -> str:
        """``hmac-sha256(index key, "kind:value")`` of a value already in normal form, in hex."""
        return self._index(f"{kind}:{normal}")


class IndexHash:
    """HMAC-SHA256 (RFC 2104) in hex with the key's inner and outer pads hashed once: a mailing
    list of a million addresses is hashed in half the time ``hmac.digest`` takes, setting the key
    up each time. The same value as :meth:`IdentityKeys.hashes` computes."""

    def __init__(self, key: bytes) -> None:
        block = hashlib.sha256().block_size
        padded = (hashlib.sha256(key).digest() if len(key) > block else key).ljust(block, b"\0")
        self._inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in padded))
        self._outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in padded))

    def __call__(self, text: str) -> str:
        inner = self._inner.copy()
        inner.update(text.encode())
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


@lru_cache(maxsize=8)
def index_hash(index_key: bytes) -> IndexHash:
    return IndexHash(index_key)


@lru_cache(maxsize=8)
def identity_keys(key: bytes) -> IdentityKeys:
    """The identity subkeys of ``key``, derived once per process: HKDF twice per answer was a
    fifth of an uncached "may contact"."""
    return IdentityKeys.from_key(key)
