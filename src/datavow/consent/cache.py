"""Answers from memory, for a mail-sending loop, that still see every withdrawal at once.

The cache keeps what the store says about each identity it was asked about. Before every answer
it reads one number, the audit log's head ``seq``: every consent append, restriction, objection
and lift writes an audit entry in the same transaction, so an unchanged head means nothing the
answers rest on has changed, in this process or any other. A moved head empties the cache.
"""

from __future__ import annotations

import sqlalchemy as sa

from datavow.consent.answers import Answer, Person, contact_answer, person_in, process_answer, reader
from datavow.consent.identity import Hasher
from datavow.consent.scope import check_channel, purpose_spec, topic_purpose
from datavow.datamap import LoadedMap
from datavow.store import Store
from datavow.store.models import HEAD_ID, AuditHeadRow

_HEAD = sa.select(AuditHeadRow.seq).where(AuditHeadRow.id == HEAD_ID)


class ConsentCache:
    """``may_contact`` and ``may_process`` with the people asked about kept in memory (at most
    ``max_people``; the cache starts over beyond that)."""

    def __init__(self, store: Store, loaded: LoadedMap, *, key: bytes, max_people: int = 100_000) -> None:
        self.store, self.loaded, self.max_people = store, loaded, max_people
        self._hasher = Hasher(loaded, key)
        self._people: dict[tuple[str, str], Person] = {}
        self._version: int | None = None
        self.hits = self.misses = 0

    def may_contact(self, identity: tuple[str, str], channel: str, topic: str | None = None) -> Answer:
        check_channel(channel)
        if topic is not None:
            topic_purpose(self.loaded, topic)
        return contact_answer(self.loaded, self._person(identity), channel, topic)

    def may_process(self, identity: tuple[str, str], purpose: str) -> Answer:
        purpose_spec(self.loaded, purpose)
        return process_answer(self.loaded, self._person(identity), purpose)

    def clear(self) -> None:
        self._people.clear()
        self._version = None

    def _person(self, identity: tuple[str, str]) -> Person:
        with reader(self.store) as connection:
            version = connection.scalar(_HEAD) or 0
            if version != self._version:
                self._people.clear()
                self._version = version
            person = self._people.get(identity)
            if person is not None:
                self.hits += 1
                return person
            self.misses += 1
            # Read in the same snapshot as the version, so the cached person belongs to it.
            person = person_in(connection, self._hasher.hash(*identity))
        if len(self._people) >= self.max_people:
            self._people.clear()
        self._people[identity] = person
        return person
