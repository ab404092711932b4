"""Reading a person's systems in one consistent view.

An access request discovers the person's rows, then exports them. Both read in the same
transaction per system, REPEATABLE READ where the database offers it, so that the package holds
exactly the rows discovery counted (a row written in between is in neither) and a system costs
one transaction, not two.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager

from sqlalchemy.engine import Connection, Engine

from datavow.connectors.sql import translate_errors
from datavow.datamap import LoadedMap
from datavow.plan import discover
from datavow.plan.model import Discovery, Plan

# An engine to open a reading transaction with, or a connection already in the caller's one.
Source = Engine | Connection


@contextmanager
def snapshot(engine: Engine, system: str) -> Iterator[Connection]:
    """A connection in a reading transaction that sees one moment of ``system``. SQLite readers
    see committed data per statement (a WAL reader's view only holds within one statement)."""
    with translate_errors(engine.url, system), engine.connect() as connection:
        if connection.dialect.name in ("postgresql", "mysql", "mariadb"):
            connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            yield connection


@contextmanager
def snapshots(engines: Mapping[str, Engine]) -> Iterator[dict[str, Connection]]:
    """:func:`snapshot` of every system, open together."""
    with ExitStack() as stack:
        yield {name: stack.enter_context(snapshot(engine, name)) for name, engine in engines.items()}


@contextmanager
def reader(source: Source, system: str) -> Iterator[Connection]:
    """A connection to read ``system`` with: the caller's own, or a :func:`snapshot` of its engine."""
    if isinstance(source, Connection):
        yield source
    else:
        with snapshot(source, system) as connection:
            yield connection


def find_person(
    loaded: LoadedMap,
    plan: Plan,
    identities: Mapping[str, frozenset[object]],
    sources: Mapping[str, Source],
    *,
    refuse_strangers: bool = True,
    people: Sequence[Mapping[str, frozenset[object]]] | None = None,
    check_tenant: bool = True,
) -> Discovery:
    """Run ``plan`` read-only: which rows of which tables hold the person. Each system is read in
    one consistent view: the caller's connection where ``sources`` gives one, else a snapshot.
    Reaching anyone else raises :class:`PlanError` (the guard), unless ``refuse_strangers`` is
    false (a dry run shows the count instead). ``people`` lists a batch's people one by one, so the
    guard checks each of them. ``check_tenant=False`` skips looking the plan's tenant up (a
    request's tenant is looked up once, when it is received)."""
    with ExitStack() as stack:
        connections = {name: stack.enter_context(reader(source, name)) for name, source in sources.items()}
        return discover(
            loaded,
            plan,
            identities,
            connections,
            tenant=plan.tenant,
            refuse_strangers=refuse_strangers,
            people=people,
            check_tenant=check_tenant,
        )
