"""datavow: make a privacy statement true and provable.

The public surface is re-exported here; the CLI is a thin layer over these functions.
:class:`Datavow`, the application object, is imported when first used: importing the package stays
cheap for a command that never needs it.
"""

from typing import TYPE_CHECKING, Any

from datavow.datamap import DataMap, LoadedMap, load_map
from datavow.errors import DatavowError, MapError, Problem

if TYPE_CHECKING:
    from datavow.app import Datavow

__version__ = "0.1.0"

__all__ = ["DataMap", "Datavow", "DatavowError", "LoadedMap", "MapError", "Problem", "__version__", "load_map"]


def __getattr__(name: str) -> Any:
    if name == "Datavow":
        from datavow.app import Datavow

        return Datavow
    raise AttributeError(f"module 'datavow' has no attribute {name!r}")
