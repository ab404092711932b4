"""What a Fides reference means in a datavow map: which side holds the key, and whose rows it makes whose.

Fides' ``direction`` says which way its privacy request walks a link, in its own words: ``from``
means "the referenced field must be processed before the current record" (the rows here are found
from the rows there), ``to`` means "the current record must be processed before the referenced
field" (the rows there are found from the rows here); no direction, both ways. It does not say
which column is the foreign key: Fides' own sample declares ``orders.customer_id`` with ``from``
``customer.id`` and ``customer.address_id`` with ``to`` ``address.id``, both foreign keys.

datavow writes the reference on the table holding the key, and carries Fides' walk over as
``owner:`` (see ``docs/requests.md``, "Whose row is whose"):

- Fides finds the key holder's rows from the key's row (``orders`` from ``customer``): the rows are
  that person's, ``owner: true``, unless the holder identifies people of its own (a service
  request with its own requester e-mail, found from the employee who handled it): then the
  reference only names someone, ``owner: false``, and the review notes say so.
- Fides finds the key's row from the holder's row (``customer`` → ``address``): the row pointed at
  is a parent row of the holder (exported with it, leading nowhere further), never the owner of
  the holder. ``owner:`` is left out: datavow's default reading of such a reference is not to own,
  and only an undeclared reference leads up to a parent row (``owner: false`` says the row merely
  names someone, and is never followed). When the row pointed at identifies people of its own (a
  customer's support rep), it is another person: ``owner: false``.
- No direction: datavow's own default reading decides (``owner:`` left out).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Direction = Literal["from", "to"] | None
# owns: the holder's rows are the key row's person's; parent: the key row is a parent row of the
# holder's (datavow's default reading, which leads up to it); link: one side names another
# person; default: Fides walks both ways, datavow's default reading decides.
Kind = Literal["owns", "parent", "link", "default"]
_OWNER: dict[Kind, bool | None] = {"owns": True, "parent": None, "link": False, "default": None}


@dataclass(frozen=True)
class End:
    """One end of a reference. ``sole_key``: the column alone is its table's primary key (None
    when its dataset is not being imported, so nothing is known about it); ``identifies``: its
    table has identity columns of its own."""

    dataset: str
    system: str
    collection: str
    column: str
    sole_key: bool | None
    identifies: bool = False

    def same_table(self, other: End) -> bool:
        return (self.dataset, self.collection) == (other.dataset, other.collection)


@dataclass(frozen=True)
class Reading:
    """A Fides reference as datavow writes it: the key holder, the key, ``owner:`` and why."""

    holder: End
    key: End
    guessed: bool  # the key side was not read from primary keys
    kind: Kind
    walk: str  # Fides' walk, in words
    because: str  # why ``owner`` is what it is

    @property
    def owner(self) -> bool | None:
        return _OWNER[self.kind]

    @property
    def comment(self) -> str:
        guess = f"; review: key side guessed ({self.key.collection}.{self.key.column} taken as the key)"
        return f"{self.walk}{self.because}" + (guess if self.guessed else "")


def key_side(source: End, target: End) -> tuple[End, End, bool]:
    """(the end holding the key, the key, whether this was guessed) for a Fides reference
    declared on ``source`` and pointing at ``target``."""
    if target.sole_key and not source.sole_key:
        return source, target, False
    if source.sole_key and not target.sole_key:
        return target, source, False
    if target.column == "id" and source.column != "id":
        return source, target, True
    if source.column == "id" and target.column != "id":
        return target, source, True
    return source, target, True


def read_reference(source: End, target: End, direction: Direction) -> Reading:
    """What the Fides reference declared on ``source`` (pointing at ``target``) means in the map."""
    holder, key, guessed = key_side(source, target)
    if direction is None:
        both = "Fides walks it both ways (no direction)"
        return Reading(holder, key, guessed, "default", both, "; datavow's default reading decides")
    start, stop = (target, source) if direction == "from" else (source, target)
    walk = f"Fides walks {start.collection} → {stop.collection}"
    if start.same_table(holder):
        if key.identifies:
            because = f": a link, {key.collection} identifies people of its own"
            return Reading(holder, key, guessed, "link", walk, because)
        return Reading(holder, key, guessed, "parent", walk, f": {key.collection} is a parent row, not the owner")
    if holder.identifies:
        because = f": a link, {holder.collection} identifies people of its own"
        return Reading(holder, key, guessed, "link", walk, because)
    return Reading(
        holder, key, guessed, "owns", walk, f": owned, a row belongs to the person of its {key.collection} row"
    )
