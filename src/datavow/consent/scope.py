"""What an event is about: a purpose, a channel, a topic, and the scope string they make.

A scope is ``purpose|channel|topic`` with empty parts for what is not given:

- ``marketing||``: consent to (or an opt-out of) the purpose ``marketing`` itself;
- ``|email|``: a preference for the channel, whatever the message is about ("no e-mail");
- ``|all|``: every channel ("no communications at all");
- ``marketing|email|newsletter``: a topic on a channel; a topic always carries its purpose.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from datavow.consent.errors import ConsentError
from datavow.datamap import LoadedMap
from datavow.datamap.model import LegalBasis, Purpose
from datavow.errors import ErrorKind
from datavow.store.models.consent import CONSENT_CHANNELS, CONSENT_EVENTS, CONSENT_SOURCES

#: ``all``: every channel at once ("no communications at all").
ALL_CHANNELS = "all"


@dataclass(frozen=True)
class Scope:
    """The purpose, channel and topic one event or question concerns."""

    purpose: str | None = None
    channel: str | None = None
    topic: str | None = None

    @cached_property
    def key(self) -> str:
        # Cached: an import asks each event's scope for its key, and scopes are shared per map.
        return f"{self.purpose or ''}|{self.channel or ''}|{self.topic or ''}"

    @classmethod
    def parse(cls, key: str) -> Scope:
        purpose, channel, topic = key.split("|")
        return cls(purpose or None, channel or None, topic or None)

    def describe(self) -> str:
        """``marketing``, ``e-mail``, ``newsletter (marketing) by e-mail``, ``every channel``."""
        if self.channel is None:
            return f"purpose {self.purpose}"
        channel = "every channel" if self.channel == ALL_CHANNELS else f"channel {self.channel}"
        if self.topic is not None:
            return f"topic {self.topic} ({self.purpose}) on {channel}"
        return f"{self.purpose} on {channel}" if self.purpose else channel


def purpose_spec(loaded: LoadedMap, name: str) -> Purpose:
    """The declared purpose ``name``, or :class:`ConsentError` with a guess."""
    purposes = loaded.model.purposes
    if name in purposes:
        return purposes[name]
    raise ConsentError(f"unknown purpose {name!r}: {_hint(name, purposes)}", kind=ErrorKind.INVALID, field="purpose")


def topic_purpose(loaded: LoadedMap, topic: str) -> str:
    """The purpose a topic serves: declared under ``communication.topics``, or a purpose's own name."""
    declared = loaded.model.communication.topics
    if topic in declared:
        return declared[topic].purpose
    if topic in loaded.model.purposes:
        return topic
    known = sorted({*declared, *loaded.model.purposes})
    raise ConsentError(
        f"unknown topic {topic!r}: declare it under communication.topics with its purpose, or use a purpose's "
        f"name ({_hint(topic, known)})",
        kind=ErrorKind.INVALID,
        field="topic",
    )


def event_scope(loaded: LoadedMap, purpose: str | None, channel: str | None, topic: str | None) -> Scope:
    """The scope of an event, checked: a purpose or a channel; a topic needs a channel and brings its purpose."""
    channel = check_channel(channel) if channel is not None else None
    if topic is not None:
        if channel is None:
            raise ConsentError(
                f"a topic is about communication: give the channel for topic {topic!r} (or 'all')",
                kind=ErrorKind.INVALID,
                field="channel",
            )
        served = topic_purpose(loaded, topic)
        if purpose is not None and purpose != served:
            raise ConsentError(
                f"topic {topic!r} serves purpose {served!r}, not {purpose!r}: leave purpose out",
                kind=ErrorKind.INVALID,
                field="purpose",
            )
        purpose = served
    if purpose is None and channel is None:
        raise ConsentError(
            "an event concerns a purpose, a channel, or both: give purpose or channel",
            kind=ErrorKind.INVALID,
            field="purpose",
        )
    if purpose is not None:
        purpose_spec(loaded, purpose)
    return Scope(purpose, channel, topic)


def check_channel(channel: str) -> str:
    if channel not in CONSENT_CHANNELS:
        raise ConsentError(
            f"unknown channel {channel!r}: use one of {', '.join(CONSENT_CHANNELS)}",
            kind=ErrorKind.INVALID,
            field="channel",
        )
    return channel


def check_event(event: str) -> str:
    if event not in CONSENT_EVENTS:
        raise ConsentError(
            f"unknown event {event!r}: use one of {', '.join(CONSENT_EVENTS)}", kind=ErrorKind.INVALID, field="event"
        )
    return event


def check_source(source: str) -> str:
    if source not in CONSENT_SOURCES:
        raise ConsentError(
            f"unknown source {source!r}: use one of {', '.join(CONSENT_SOURCES)}",
            kind=ErrorKind.INVALID,
            field="source",
        )
    return source


def contact_scopes(channel: str, topic: str | None, purpose: str | None) -> list[str]:
    """The preference scopes that bear on contacting someone on ``channel`` about ``topic``:
    the channel and ``all``, each alone, for the topic's purpose, and for the topic."""
    channels = (ALL_CHANNELS, channel) if channel != ALL_CHANNELS else (ALL_CHANNELS,)
    scopes = []
    for on in channels:
        scopes.append(Scope(None, on).key)
        if purpose is not None:
            scopes.append(Scope(purpose, on).key)
            if topic is not None:
                scopes.append(Scope(purpose, on, topic).key)
    return scopes


def purpose_scopes(purpose: str, preference: Iterable[str]) -> list[str]:
    """Gate A's scopes for a contact: the purpose's own, and those of ``preference`` (the
    :func:`contact_scopes` for ``purpose``) that name it."""
    return [Scope(purpose).key, *(s for s in preference if not s.startswith("|"))]


def needs_consent(spec: Purpose) -> bool:
    return spec.basis is LegalBasis.consent


def is_direct_marketing(spec: Purpose) -> bool:
    """A purpose whose fideslang ``use`` is ``marketing.*``: an objection to it is absolute (Art. 21(3))."""
    use = spec.use or ""
    return use == "marketing" or use.startswith("marketing.")


def _hint(name: str, known: object) -> str:
    names = sorted(known)  # type: ignore[call-overload]
    guess = difflib.get_close_matches(name, names, n=1)
    return f"did you mean {guess[0]!r}?" if guess else f"the map declares: {', '.join(names) or 'none'}"
