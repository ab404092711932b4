"""The consent benchmark's data: its data map, the people and their events, the samples asked about.

Everything is drawn from ``random.Random(seed)``, so two runs with the same sizes and seed record
the same events. Person ``i`` is ``person<i>@bench.example``; the mailing list and the samples mix
known people with addresses the ledger has never seen (``stranger<i>@bench.example``). See
``benchmarks/README.md``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from datavow.consent import EventInput

MAP = """\
# Written by benchmarks/consent.py: the purposes and topics its consent events are about.
version: 1
organization:
  name: Consent Benchmark bv
  country: BE
  contact: {email: privacy@bench.example}
  supervisory_authority: {name: Data Protection Authority, country: BE}
subjects:
  contact: People on the mailing lists
purposes:
  marketing:
    name: Newsletters and offers
    basis: consent
    use: marketing.communications.email
    subjects: [contact]
    categories: [user.contact.email, user.privacy_preferences]
    retention: Until consent is withdrawn.
  events:
    name: Invitations to events
    basis: legitimate_interest
    interest: Inviting the people we work with to our events.
    use: marketing.communications.email
    subjects: [contact]
    categories: [user.contact.email, user.privacy_preferences]
    retention: Until the person objects.
communication:
  topics:
    newsletter: {name: The monthly newsletter, purpose: marketing}
    offers: {name: Offers, purpose: marketing}
    invitations: {name: Event invitations, purpose: events}
"""

# What people do after signing up, with weights: (event, purpose, channel, topic).
LATER: list[tuple[tuple[str, str | None, str | None, str | None], int]] = [
    (("granted", None, "email", "newsletter"), 20),
    (("withdrawn", None, "email", "newsletter"), 12),
    (("granted", None, "email", "offers"), 10),
    (("withdrawn", None, "email", "offers"), 10),
    (("withdrawn", None, "email", "invitations"), 8),
    (("granted", None, "email", "invitations"), 6),
    (("withdrawn", "marketing", None, None), 6),
    (("granted", "marketing", None, None), 8),
    (("withdrawn", None, "email", None), 5),
    (("granted", None, "email", None), 3),
    (("withdrawn", None, "sms", None), 6),
    (("withdrawn", None, "all", None), 2),
    (("granted", None, "all", None), 1),
    (("withdrawn", "events", "email", None), 3),
]
SIGNUP = 0.6  # the share of people whose first event is consent to marketing
SPAN = timedelta(days=730)  # events happen over the two years before the run
STRANGERS = 0.1  # the share of the mailing list and of the samples the ledger has never seen


def write_map(folder: Path) -> Path:
    path = folder / "datavow.yaml"
    path.write_text(MAP)
    return path


def person(i: int) -> str:
    return f"person{i}@bench.example"


def stranger(i: int) -> str:
    return f"stranger{i}@bench.example"


def events(people: int, total: int, now: datetime, seed: int) -> Iterator[EventInput]:
    """``total`` events for ``people`` people (each at least one), person by person. Person ``i``'s
    ``k``-th event happens at slot ``k * people + i`` of the span: everyone's events interleave in
    time, and the order of the ledger (by person) is not the order of ``at``."""
    chance = random.Random(seed)
    each, extra = divmod(max(total, people), people)
    kinds, weights = zip(*LATER, strict=True)
    step = SPAN / (each + 2) / people
    start = now - SPAN
    for i in range(people):
        address = person(i)
        count = each + (i < extra)
        later = chance.choices(kinds, weights, k=count)
        if chance.random() < SIGNUP:
            later[0] = ("granted", "marketing", None, None)
        for k, (event, purpose, channel, topic) in enumerate(later):
            yield EventInput(
                {"email": address},
                event,
                purpose=purpose,
                channel=channel,
                topic=topic,
                source="import",
                at=start + step * (k * people + i),
            )


@dataclass(frozen=True)
class Samples:
    """Who is asked about: single answers (warm and uncached) and the mailing list."""

    warm: list[str]
    uncached: list[str]
    mailing_list: list[str]


def _address(chance: random.Random, people: int) -> str:
    if chance.random() < STRANGERS:
        return stranger(chance.randrange(people))
    address = person(chance.randrange(people))
    # Some lists hold addresses as people typed them: the same person, other letters.
    return address.capitalize() if chance.random() < 0.05 else address


def samples(people: int, warm: int, uncached: int, list_size: int, seed: int) -> Samples:
    chance = random.Random(seed + 1)
    return Samples(
        [_address(chance, people) for _ in range(warm)],
        [_address(chance, people) for _ in range(uncached)],
        [_address(chance, people) for _ in range(list_size)],
    )
