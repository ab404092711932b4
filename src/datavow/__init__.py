"""datavow: make a privacy statement true and provable.

The public surface is re-exported here; the CLI is a thin layer over these functions. The names
are imported when first used (:class:`Datavow`, the application object, among them), so that
``import datavow`` and ``datavow --help`` stay cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datavow.app import Datavow
    from datavow.datamap import DataMap, LoadedMap, load_map
    from datavow.errors import DatavowError, MapError, Problem

#: This release of datavow.
__version__ = "0.1.0"

#: Each public name and the module it lives in.
_SOURCES = {
    "DataMap": "datavow.datamap",
    "Datavow": "datavow.app",
    "DatavowError": "datavow.errors",
    "LoadedMap": "datavow.datamap",
    "MapError": "datavow.errors",
    "Problem": "datavow.errors",
    "load_map": "datavow.datamap",
}

__all__ = ["DataMap", "Datavow", "DatavowError", "LoadedMap", "MapError", "Problem", "__version__", "load_map"]


# The same as datavow.lazy.lazy_names, written out: ``datavow --help`` imports this package and,
# of datavow, only the command group and the errors (tests/test_cli_startup.py).
def __getattr__(name: str) -> Any:
    if name not in _SOURCES:
        raise AttributeError(f"module 'datavow' has no attribute {name!r}")
    value = getattr(importlib.import_module(_SOURCES[name]), name)
    globals()[name] = value
    return value
