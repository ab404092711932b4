"""Engines for the application databases, kept for the life of the process.

A service runs many requests: making an engine (and proving its connection) for each one costs
more than the request's own statements. One engine per database URL is made the first time a
system is needed and kept; its pool hands the next request a connection already open.
"""

from __future__ import annotations

import atexit
import threading

from sqlalchemy.engine import Engine

from datavow.connectors.sql import connect
from datavow.datamap import LoadedMap

_kept_engines: dict[str, Engine] = {}
_kept_lock = threading.Lock()


def kept_engines(loaded: LoadedMap, systems: list[str]) -> dict[str, Engine]:
    """One engine per system of ``systems``, each kept for the life of the process.

    The connection is proved once, when the engine is made; a database that goes away later fails
    the request that uses it (which stays in progress, to be run again), and its engine's pool
    reconnects afterwards. :func:`close_engines` disposes of them, as happens at exit.
    """
    engines: dict[str, Engine] = {}
    for name in systems:
        url = loaded.system_url(name)
        with _kept_lock:
            engine = _kept_engines.get(url)
        if engine is None:
            made = connect(url, system=name)  # not under the lock: proving it may take seconds
            with _kept_lock:
                engine = _kept_engines.setdefault(url, made)
            if engine is not made:
                made.dispose()
        engines[name] = engine
    return engines


def close_engines() -> None:
    """Dispose of the engines :func:`kept_engines` keeps (their pooled connections close)."""
    with _kept_lock:
        engines = list(_kept_engines.values())
        _kept_engines.clear()
    for engine in engines:
        engine.dispose()


atexit.register(close_engines)
