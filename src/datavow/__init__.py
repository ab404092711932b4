"""datavow: make a privacy statement true and provable.

The public surface is re-exported here; the CLI is a thin layer over these functions.
"""

from datavow.datamap import DataMap, LoadedMap, load_map
from datavow.errors import DatavowError, MapError, Problem

__version__ = "0.1.0"

__all__ = ["DataMap", "DatavowError", "LoadedMap", "MapError", "Problem", "__version__", "load_map"]
