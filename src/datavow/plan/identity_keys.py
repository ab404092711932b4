"""A person's identities as the state store keeps them: sealed, and findable by keyed hash.

The values (an e-mail address, a phone number) are personal data the state store must not show
to whoever reads its tables: each record seals them with AES-GCM under the ``identities`` subkey,
bound to the record (``request:7``), and keeps an HMAC-SHA256 per value under the
``identity-index`` subkey so "which requests and restrictions name jane@example.com?" is an
indexed lookup, not a decryption of every row.

Values are validated and normalised by the planner's :func:`~datavow.plan.identities.parse_value`,
the one validator, and hashed by :class:`IndexHash`, the one HMAC: the requests ledger, the
restriction ledger and the consent ledger all find a person by the same hashes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from datavow.datamap import LoadedMap
from datavow.plan.identities import Format, parse_identities, parse_value
from datavow.secrets import derive, seal, state_directory, unseal
from datavow.store.engine import Store
from datavow.store.key import store_key

#: Identity kind -> the normalised values a person is named by, e.g. ``{"email": ("jane@x.org",)}``.
#: A person's identities in normal form: each kind (``email``, ``phone``, ...) with its values.
Identities = Mapping[str, tuple[str, ...]]
#: What callers may pass: one value or several per kind.
IdentityInput = Mapping[str, str | Iterable[str]]


def canonical_identities(loaded: LoadedMap, identities: IdentityInput) -> dict[str, tuple[str, ...]]:
    """Identities validated and normalised by the planner's :func:`~datavow.plan.parse_identities`
    (so a request finds the person exactly as discovery will), as sorted text per kind: the one
    form that is sealed and hashed, whatever order or spelling the values were given in."""
    parsed = parse_identities(loaded, identities)
    return {kind: tuple(sorted(map(str, parsed[kind]))) for kind in sorted(parsed)}


def identity_hashes(store: Store, loaded: LoadedMap, identities: IdentityInput) -> list[str]:
    """The keyed hashes ``store`` indexes these identities by: what finds the records naming them."""
    return IdentityKeys.for_store(store, loaded).hashes(canonical_identities(loaded, identities))


def normal_text(format_: Format, value: str, region: str | None, field: str | None = None) -> str:
    """One value in the form :func:`canonical_identities` gives it: the planner's normal form, as text.
    ``field`` is the kind of identity it was given as, for an error to name."""
    return str(parse_value(format_, value, region=region, field=field))


class IndexHash:
    """HMAC-SHA256 (RFC 2104) in hex with the key's inner and outer pads hashed once: a mailing
    list of a million addresses is hashed in half the time ``hmac.digest`` takes, setting the key
    up each time."""

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


@dataclass(frozen=True)
class IdentityKeys:
    """The two subkeys identities need: one seals them, one hashes them for lookups."""

    sealing: bytes
    index: bytes
    #: ``hmac-sha256(index, text)`` in hex, its pads prepared once per key.
    index_hash: IndexHash = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "index_hash", IndexHash(self.index))

    @classmethod
    def for_store(cls, store: Store, loaded: LoadedMap) -> IdentityKeys:
        """From the installation's key (``$DATAVOW_SECRET_KEY``, else ``.datavow/secret.key`` beside
        the map), once it is found to be the key ``store`` was made with (:func:`datavow.store.key.store_key`)."""
        return cls.from_key(store_key(store, state_directory(loaded.path)))

    @classmethod
    def from_key(cls, key: bytes) -> IdentityKeys:
        return identity_keys(key)

    def hash(self, kind: str, normal: str) -> str:
        """The keyed hash of one value already in normal form: ``hmac-sha256(index key, "kind:value")``, in hex."""
        return self.index_hash(f"{kind}:{normal}")

    def hashes(self, identities: Identities) -> list[str]:
        """One keyed hash per value (see :meth:`hash`), sorted."""
        index = self.index_hash
        return sorted({index(f"{kind}:{value}") for kind, values in identities.items() for value in values})

    def seal(self, identities: Identities, context: str) -> bytes:
        data = json.dumps({kind: list(values) for kind, values in identities.items()}, sort_keys=True)
        return seal(self.sealing, data.encode(), context.encode())

    def unseal(self, blob: bytes, context: str) -> dict[str, tuple[str, ...]]:
        data = json.loads(unseal(self.sealing, blob, context.encode()))
        return {str(kind): tuple(str(value) for value in values) for kind, values in data.items()}


@lru_cache(maxsize=8)
def identity_keys(key: bytes) -> IdentityKeys:
    """The identity subkeys of ``key``, derived once per process: HKDF twice per answer was a
    fifth of an uncached "may contact"."""
    return IdentityKeys(sealing=derive(key, "identities"), index=derive(key, "identity-index"))


def kinds_text(identities: Identities) -> str:
    """``"email,phone"``: which kinds a record names, stored in clear for listings."""
    return ",".join(sorted(identities))


def kinds_from_text(text: str) -> tuple[str, ...]:
    """The kinds :func:`kinds_text` wrote, back as a tuple."""
    return tuple(text.split(",")) if text else ()
