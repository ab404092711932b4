"""Consent and communication preferences: an append-only, hash-chained ledger with proof.

::

    from datavow.consent import consent_key, record_event, may_contact, ConsentCache

    key = consent_key(store, loaded)
    record_event(store, loaded, {"email": ["jane@example.com"]}, channel="email", event="withdrawn",
                 source="form", actor="web", key=key)
    assert not may_contact(store, loaded, ("email", "jane@example.com"), "email", None, key=key).allowed

See ``docs/consent.md`` for the rules the answers follow, Global Privacy Control, import and
export, and proof.
"""

from __future__ import annotations

from datavow.consent.answers import Answer, consent_allows, may_contact
from datavow.consent.cache import ConsentCache
from datavow.consent.errors import ConsentError
from datavow.consent.filtering import filter_contactable
from datavow.consent.gpc import GPC_EXEMPT, GPC_USES, gpc_purposes, record_gpc
from datavow.consent.imports import ImportResult, import_csv
from datavow.consent.ledger import ConsentEvent, EventInput, record_event, record_events
from datavow.consent.proof import LedgerCheck, Proof, prove, rebuild_state, verify_ledger
from datavow.consent.scope import ALL_CHANNELS, Scope
from datavow.consent.transfer import export_events, ledger_for_export
from datavow.datamap import LoadedMap
from datavow.secrets import state_directory
from datavow.store import Store
from datavow.store.key import store_key
from datavow.store.models.consent import CONSENT_CHANNELS, CONSENT_SOURCES


def consent_key(store: Store, loaded: LoadedMap) -> bytes:
    """The installation's key, as every other part of datavow reads it: ``$DATAVOW_SECRET_KEY``,
    else ``.datavow/secret.key`` beside the map; refused unless it is the key ``store`` was made with."""
    return store_key(store, state_directory(loaded.path))


__all__ = [
    "CONSENT_CHANNELS",
    "CONSENT_SOURCES",
    "ALL_CHANNELS",
    "GPC_EXEMPT",
    "GPC_USES",
    "Answer",
    "ConsentCache",
    "ConsentError",
    "ConsentEvent",
    "EventInput",
    "ImportResult",
    "LedgerCheck",
    "Proof",
    "Scope",
    "consent_key",
    "export_events",
    "filter_contactable",
    "gpc_purposes",
    "import_csv",
    "ledger_for_export",
    "may_contact",
    "consent_allows",
    "prove",
    "rebuild_state",
    "record_event",
    "record_events",
    "record_gpc",
    "verify_ledger",
]
