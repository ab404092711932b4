"""Which systems a sweep needs open: those with a retention rule, and those whose former
controllers the worker offboards."""

from __future__ import annotations

from collections.abc import Iterable

from datavow.changes.retention_rules import rules_of
from datavow.datamap import LoadedMap
from datavow.retention.own import OWN_SYSTEM


def swept_systems(loaded: LoadedMap, systems: Iterable[str] = (), *, tenants: bool = False) -> list[str]:
    """The systems with a retention rule (of ``systems``, when given; datavow's own records need
    no database of the map), and with ``tenants`` the tenant-scoped systems too."""
    chosen = list(systems)
    names = [rule.system for rule in rules_of(loaded, [s for s in chosen if s != OWN_SYSTEM] or None)]
    if chosen and all(name == OWN_SYSTEM for name in chosen):
        names = []
    if tenants:
        names += [name for name, system in loaded.model.systems.items() if system.tenant is not None]
    return list(dict.fromkeys(names))


__all__ = ["swept_systems"]
