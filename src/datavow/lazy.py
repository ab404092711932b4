"""A package's public names, imported the first time one is used (PEP 562).

A package's ``__init__`` re-exports its API; importing every module behind it would make each
import of the package as expensive as all of it (the state store's ORM and migrations, a request's
executors), whichever name the caller needed. A package lists where each name lives instead::

    __getattr__ = lazy_names(__name__, {"datavow.store.engine": ("Store", "open_store")})

and imports the same names under ``TYPE_CHECKING``, so type checkers see them as usual.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any


def lazy_names(package: str, sources: Mapping[str, Sequence[str]]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: each name in ``sources`` (module -> names) is
    imported from its module when first asked for, then kept on the package like any attribute."""
    module_of = {name: module for module, names in sources.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = module_of.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__


__all__ = ["lazy_names"]
