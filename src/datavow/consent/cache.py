"""Answers from memory, for a mail-sending loop, that still see every withdrawal at once.

The cache keeps what the store says about each identity it was asked about. Before every answer
it reads one number, the audit log's head ``seq``: every consent append, restriction, objection
and lift writes an audit entry in the same transaction, so an unchanged head means nothing the
answers rest on has changed, in this process or any other. A moved head empties the cache.

That read is one statement on a connection the cache holds (no pool checkout, no transaction on
PostgreSQL): a person read after the head is at least as new as it, so what the cache keeps is
never older than the head it is filed under.
"""

from __future__ import annotations

from typing import Self

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from datavow.consent.answers import Answer, Person, contact_answer, person_in, process_answer, reader
from datavow.consent.identity import Hasher
from datavow.consent.scope import check_channel, purpose_spec, topic_purpose
from datavow.datamap import LoadedMap
from datavow.store import Store
from datavow.store.key import check_key
from datavow.store.models import HEAD_ID, AuditHeadRow

_HEAD = sa.select(AuditHeadRow.seq).where(AuditHeadRow.id == HEAD_ID)


class ConsentCache:
    """``may_contact`` and ``consent_allows`` with the people asked about kept in memory (at most
    ``max_people``; the cache starts over beyond that)."""

    def __init__(self, store: Store, loaded: LoadedMap, *, key: bytes, max_people: int = 100_000) -> None:
        check_key(store, key)
        self.store, self.loaded, self.max_people = store, loaded, max_people
        self._hasher = Hasher(loaded, key)
        self._people: dict[tuple[str, str], Person] = {}
        # Answers already given for the people kept, emptied with them: the rules are pure.
        self._answers: dict[tuple[object, ...], Answer] = {}
        self._version: int | None = None
        self._connection: Connection | None = None
        self.hits = self.misses = 0

    def may_contact(self, identity: tuple[str, str], channel: str, topic: str | None = None) -> Answer:
        person = self._person(identity)
        asked = (identity, "contact", channel, topic)
        answer = self._answers.get(asked)
        if answer is None:
            check_channel(channel)
            if topic is not None:
                topic_purpose(self.loaded, topic)
            answer = self._answers[asked] = contact_answer(self.loaded, person, channel, topic)
        return answer

    def consent_allows(self, identity: tuple[str, str], purpose: str) -> Answer:
        person = self._person(identity)
        asked = (identity, "process", purpose)
        answer = self._answers.get(asked)
        if answer is None:
            purpose_spec(self.loaded, purpose)
            answer = self._answers[asked] = process_answer(self.loaded, person, purpose)
        return answer

    def clear(self) -> None:
        self._people.clear()
        self._answers.clear()
        self._version = None

    def close(self) -> None:
        """Give back the connection the cache holds (it opens another when asked again)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _person(self, identity: tuple[str, str]) -> Person:
        try:
            return self._read(identity)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            # The server dropped the held connection (a restart, a failover): once more on a new one.
            self.close()
            return self._read(identity)

    def _read(self, identity: tuple[str, str]) -> Person:
        if self._connection is None:
            self._connection = reader(self.store)
        connection = self._connection
        with connection.begin():
            version = connection.scalar(_HEAD) or 0
            if version != self._version:
                self.clear()
                self._version = version
            person = self._people.get(identity)
            if person is not None:
                self.hits += 1
                return person
            self.misses += 1
            person = person_in(connection, self._hasher.hash(*identity))
        if len(self._people) >= self.max_people:
            self._people.clear()
            self._answers.clear()
        self._people[identity] = person
        return person
