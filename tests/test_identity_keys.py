"""The identity HMAC: the keyed hashes the state store indexes requests, restrictions and consent
events by. A stored hash must keep matching after any change to the code, so the values are
pinned as they were computed before the requests ledger and the consent ledger shared one
implementation."""

from __future__ import annotations

from datavow.consent.identity import Hasher
from datavow.datamap import LoadedMap
from datavow.plan.identity_keys import IdentityKeys, canonical_identities
from tests import test_requests_lifecycle as lifecycle

shop = lifecycle.shop

KEY = b"k" * 32
JANE = {"email": ["Jane.Doe@Example.com"], "phone": ["+32 470 12 34 56"]}
#: ``hmac-sha256(identity-index subkey of KEY, "kind:normal value")`` in hex, as stored today.
JANE_BY_MAIL = "9faddf16d64e42501c041257c7948e38de42f279cc75678416bc54f1730f7385"
JANE_BY_PHONE = "6e19eadce5b307d91e2180d368097edf9056ae71902a5ac92ff9684eff118e27"


def test_the_requests_ledger_hashes_identities_as_the_state_store_holds_them(shop: LoadedMap) -> None:
    keys = IdentityKeys.from_key(KEY)
    identities = canonical_identities(shop, JANE)
    assert identities == {"email": ("jane.doe@example.com",), "phone": ("+32470123456",)}
    assert keys.hashes(identities) == sorted([JANE_BY_MAIL, JANE_BY_PHONE])


def test_the_consent_ledger_hashes_each_written_form_to_the_same_stored_hash(shop: LoadedMap) -> None:
    hasher = Hasher(shop, KEY)
    assert hasher.hash("email", "Jane.Doe@Example.com") == JANE_BY_MAIL
    assert hasher.hash("phone", "+32 470 12 34 56") == hasher.hash("phone", "+32470123456") == JANE_BY_PHONE
    assert hasher.try_hash("email", "jane@") is None
    assert hasher.hash_all("email", ["jane@", "JANE.doe@example.com"]) == [("JANE.doe@example.com", JANE_BY_MAIL)]
