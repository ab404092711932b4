"""A person's identities as the state store keeps them: sealed, and findable by keyed hash.

The values (an e-mail address, a phone number) are personal data the state store must not show
to whoever reads its tables: each record seals them with AES-GCM under the ``identities`` subkey,
bound to the record (``request:7``), and keeps an HMAC-SHA256 per value under the
``identity-index`` subkey so "which requests and restrictions name jane@example.com?" is an
indexed lookup, not a decryption of every row.

Values are validated by the planner's :func:`~datavow.plan.parse_identities`, the one validator.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from datavow.datamap import LoadedMap
from datavow.plan.identities import parse_identities
from datavow.secrets import derive, load_key, seal, state_directory, unseal

#: Identity kind -> the normalised values a person is named by, e.g. ``{"email": ("jane@x.org",)}``.
Identities = Mapping[str, tuple[str, ...]]
#: What callers may pass: one value or several per kind.
IdentityInput = Mapping[str, str | Iterable[str]]


def canonical_identities(loaded: LoadedMap, identities: IdentityInput) -> dict[str, tuple[str, ...]]:
    """Identities validated and normalised by the planner's :func:`~datavow.plan.parse_identities`
    (so a request finds the person exactly as discovery will), as sorted text per kind: the one
    form that is sealed and hashed, whatever order or spelling the values were given in."""
    parsed = parse_identities(loaded, identities)
    return {kind: tuple(sorted(str(value) for value in parsed[kind])) for kind in sorted(parsed)}


@dataclass(frozen=True)
class IdentityKeys:
    """The two subkeys identities need: one seals them, one hashes them for lookups."""

    sealing: bytes
    index: bytes

    @classmethod
    def for_map(cls, loaded: LoadedMap, *, create: bool = True) -> IdentityKeys:
        """From the installation's key: ``$DATAVOW_SECRET_KEY``, else ``.datavow/secret.key``
        beside the map (created by writers, required by readers)."""
        return cls.from_key(load_key(state_directory(loaded.path), create=create))

    @classmethod
    def from_key(cls, key: bytes) -> IdentityKeys:
        return cls(sealing=derive(key, "identities"), index=derive(key, "identity-index"))

    def hashes(self, identities: Identities) -> list[str]:
        """One keyed hash per value, ``hmac-sha256(index key, "kind:value")``, in hex."""
        return sorted(
            {
                hmac.new(self.index, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
                for kind, values in identities.items()
                for value in values
            }
        )

    def seal(self, identities: Identities, context: str) -> bytes:
        data = json.dumps({kind: list(values) for kind, values in identities.items()}, sort_keys=True)
        return seal(self.sealing, data.encode(), context.encode())

    def unseal(self, blob: bytes, context: str) -> dict[str, tuple[str, ...]]:
        data = json.loads(unseal(self.sealing, blob, context.encode()))
        return {str(kind): tuple(str(value) for value in values) for kind, values in data.items()}


def kinds_text(identities: Identities) -> str:
    """``"email,phone"``: which kinds a record names, stored in clear for listings."""
    return ",".join(sorted(identities))


def kinds_from_text(text: str) -> tuple[str, ...]:
    """The kinds :func:`kinds_text` wrote, back as a tuple."""
    return tuple(text.split(",")) if text else ()
