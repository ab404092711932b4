"""One identity value to its keyed hash, as the requests ledger hashes it (so restrictions and
consent events about the same person meet on the same hash): the normal form and the HMAC are the
ones of :mod:`datavow.plan.identity_keys`; this adds the consent ledger's errors."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from datavow.consent.errors import ConsentError
from datavow.datamap import LoadedMap
from datavow.errors import RequestError
from datavow.plan.identities import Format, format_of, home_region, identity_formats
from datavow.plan.identity_keys import identity_keys, normal_text


class Hasher:
    """Normalises values as the planner does (``Jane@X.org`` is ``jane@x.org``) and hashes them
    with the ``identity-index`` subkey of the installation's key."""

    def __init__(self, loaded: LoadedMap, key: bytes) -> None:
        self.keys = identity_keys(key)
        self.formats: Mapping[str, Format] = identity_formats(loaded)
        # a phone number or national id without a country is read as the requests ledger reads it
        self.region = home_region(loaded)

    def check_kind(self, kind: str) -> None:
        """:class:`ConsentError` unless the map knows the identity ``kind``, naming those it knows."""
        try:
            format_of(self.formats, kind)
        except RequestError as exc:
            raise ConsentError(str(exc), kind=exc.kind, field=exc.field) from exc

    def hash(self, kind: str, value: str) -> str:
        """The hash of ``value``, or :class:`ConsentError` saying why it is not a ``kind``."""
        try:
            return self.keys.hash(kind, normal_text(format_of(self.formats, kind), value, self.region, kind))
        except RequestError as exc:
            raise ConsentError(str(exc), kind=exc.kind, field=exc.field) from exc

    def try_hash(self, kind: str, value: str) -> str | None:
        """The hash of ``value``, or ``None`` when it is not a valid ``kind`` (a mailing list's ``jane@``)."""
        try:
            return self.keys.hash(kind, normal_text(self.formats[kind], value, self.region))
        except RequestError:
            return None

    def hash_all(self, kind: str, values: Iterable[str]) -> list[tuple[str, str]]:
        """``(value, hash)`` for each of ``values`` that is a valid ``kind``, in their order: a
        mailing list's addresses (a million in about three seconds, so kept to one loop)."""
        format_, index, prefix, region = self.formats[kind], self.keys.index_hash, f"{kind}:", self.region
        pairs: list[tuple[str, str]] = []
        for value in values:
            try:
                pairs.append((value, index(prefix + normal_text(format_, value, region))))
            except RequestError:
                continue
        return pairs
