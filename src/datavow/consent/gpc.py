"""Global Privacy Control: a recorded ``Sec-GPC: 1`` signal opts the person out of every purpose
that sells or shares data or targets advertising, by the purpose's fideslang ``use``.

The uses (and every use below them): ``marketing.advertising`` (targeted, first- and third-party
advertising, profiling, frequency capping, serving) and ``third_party_sharing``, except
``third_party_sharing.legal_obligation``, which no one can opt out of.
"""

from __future__ import annotations

from datetime import datetime

from datavow.consent.ledger import ConsentEvent, EventInput, append_prepared, prepare_all
from datavow.datamap import LoadedMap
from datavow.plan.identity_keys import IdentityInput
from datavow.store import Store

#: Purposes whose ``use`` is one of these, or below one of them, are opted out of by GPC.
GPC_USES = ("marketing.advertising", "third_party_sharing")
#: ... except these (and below them).
GPC_EXEMPT = ("third_party_sharing.legal_obligation",)


def gpc_purposes(loaded: LoadedMap) -> list[str]:
    """The purposes of the map a GPC signal opts out of, by name."""
    return sorted(name for name, spec in loaded.model.purposes.items() if _covered(spec.use or ""))


def record_gpc(
    store: Store,
    loaded: LoadedMap,
    identities: IdentityInput,
    *,
    actor: str,
    key: bytes,
    at: datetime | None = None,
    detail: str = "Sec-GPC: 1",
) -> list[ConsentEvent]:
    """Record a GPC signal: one ``withdrawn`` event (source ``gpc``) per purpose of
    :func:`gpc_purposes`, in one transaction. None when the map declares no such purpose."""
    events = [
        EventInput(identities, "withdrawn", purpose=name, source="gpc", source_detail=detail, at=at)
        for name in gpc_purposes(loaded)
    ]
    if not events:
        return []
    return append_prepared(store, key, prepare_all(loaded, key, events), actor)


def _covered(use: str) -> bool:
    def under(prefix: str) -> bool:
        return use == prefix or use.startswith(prefix + ".")

    return any(under(prefix) for prefix in GPC_USES) and not any(under(prefix) for prefix in GPC_EXEMPT)
