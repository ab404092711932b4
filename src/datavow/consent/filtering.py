"""Filtering a mailing list down to those who may be contacted: set-based, in the database.

The rules are those of :func:`~datavow.consent.may_contact`, evaluated for every identity at
once: one windowed query per gate finds the latest state among the gate's scopes per identity
hash, one join finds the active restrictions and objections. A short list is looked up by its
hashes (in chunks); a long one reads the gates' scopes whole, through the ``scope`` index, and
is matched in memory. Never one query per address.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session

from datavow.consent.identity import Hasher
from datavow.consent.scope import Scope, check_channel, contact_scopes, needs_consent, purpose_spec, topic_purpose
from datavow.datamap import LoadedMap
from datavow.store import Store
from datavow.store.models import ConsentStateRow, RestrictionIdentityRow, RestrictionRow

#: Up to this many distinct addresses, look them up by hash; above it, read the scopes whole.
LOOKUP_LIMIT = 50_000
_CHUNK = 5_000
#: PostgreSQL's memory for sorting a long list's gates, for that transaction only (the default is 4MB).
SORT_MEMORY = "64MB"


def filter_contactable(
    store: Store,
    loaded: LoadedMap,
    addresses: Iterable[str],
    channel: str = "email",
    topic: str | None = None,
    *,
    key: bytes,
    kind: str = "email",
) -> list[str]:
    """The ``addresses`` (identities of ``kind``) that may be contacted on ``channel`` about
    ``topic``, as given and in their order. Values that are not valid for ``kind`` (``jane@``)
    are left out: nobody can be contacted there."""
    check_channel(channel)
    purpose = topic_purpose(loaded, topic) if topic is not None else None
    hasher = Hasher(loaded, key)
    if kind not in hasher.formats:
        hasher.hash(kind, "")  # raises, naming the kinds the map knows
    given = [(address, h) for address in addresses if (h := hasher.try_hash(kind, address)) is not None]
    distinct = {h for _, h in given}
    wanted = sorted(distinct) if len(distinct) <= LOOKUP_LIMIT else None
    preference_pool = contact_scopes(channel, topic, purpose)
    with store.session(write=False) as session:
        if store.dialect == "postgresql" and wanted is None:
            # A whole list sorts every state of each gate: in memory, not in temporary files.
            session.execute(sa.text(f"SET LOCAL work_mem = '{SORT_MEMORY}'"))
        stopped = _blocked(session, purpose, wanted)
        stopped |= {h for h, granted in _latest(session, preference_pool, wanted) if not granted}
        needs_grant: set[str] | None = None
        if purpose is not None:
            pool = [Scope(purpose).key, *(s for s in preference_pool if not s.startswith("|"))]
            decided = _latest(session, pool, wanted)
            stopped |= {h for h, granted in decided if not granted}
            if needs_consent(purpose_spec(loaded, purpose)):
                needs_grant = {h for h, granted in decided if granted}
    return [address for address, h in given if h not in stopped and (needs_grant is None or h in needs_grant)]


def _latest(session: Session, scopes: list[str], wanted: Sequence[str] | None) -> list[tuple[str, bool]]:
    """``(identity hash, granted)`` of the latest state among ``scopes``, per identity hash.

    PostgreSQL takes ``DISTINCT ON``: one sort and the first row of each identity, about three
    times quicker than numbering every row with a window and keeping the first. SQLite has no
    ``DISTINCT ON`` and numbers the rows."""
    state = ConsentStateRow.__table__
    newest_first = (state.c.at.desc(), state.c.seq.desc())
    postgresql = session.get_bind().dialect.name == "postgresql"
    found: list[tuple[str, bool]] = []
    for chunk in _chunks(wanted):
        within = [state.c.scope.in_(scopes)]
        if chunk is not None:
            within.append(state.c.identity_hash.in_(chunk))
        if postgresql:
            query = (
                sa.select(state.c.identity_hash, state.c.granted)
                .where(*within)
                .ext(distinct_on(state.c.identity_hash))
                .order_by(state.c.identity_hash, *newest_first)
            )
        else:
            rank = sa.func.row_number().over(partition_by=state.c.identity_hash, order_by=newest_first).label("rank")
            ranked = sa.select(state.c.identity_hash, state.c.granted, rank).where(*within).subquery()
            query = sa.select(ranked.c.identity_hash, ranked.c.granted).where(ranked.c.rank == 1)
        found.extend((h, bool(granted)) for h, granted in session.execute(query))
    return found


def _blocked(session: Session, purpose: str | None, wanted: Sequence[str] | None) -> set[str]:
    """Identity hashes an active restriction or objection stops for ``purpose`` (the rule of ``blocking``)."""
    restriction = RestrictionRow.kind == "restriction"
    if purpose is None:
        applies = sa.and_(restriction, RestrictionRow.purpose.is_(None))
    else:
        applies = sa.or_(
            sa.and_(restriction, sa.or_(RestrictionRow.purpose.is_(None), RestrictionRow.purpose == purpose)),
            sa.and_(RestrictionRow.kind == "objection", RestrictionRow.purpose == purpose),
        )
    found: set[str] = set()
    for chunk in _chunks(wanted):
        query = (
            sa.select(RestrictionIdentityRow.identity_hash)
            .join(RestrictionRow, RestrictionRow.id == RestrictionIdentityRow.restriction_id)
            .where(RestrictionRow.active.is_(True), applies)
        )
        if chunk is not None:
            query = query.where(RestrictionIdentityRow.identity_hash.in_(chunk))
        found.update(session.scalars(query))
    return found


def _chunks(wanted: Sequence[str] | None) -> list[Sequence[str] | None]:
    if wanted is None:
        return [None]
    return [wanted[start : start + _CHUNK] for start in range(0, len(wanted), _CHUNK)] or []
