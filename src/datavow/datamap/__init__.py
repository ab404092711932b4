"""The data map: load, validate and resolve ``datavow.yaml``."""

from datavow.datamap.load import LoadedMap, TableRef, interpolate, load_map, resolve_url
from datavow.datamap.model import DataMap, Duration

__all__ = ["DataMap", "Duration", "LoadedMap", "TableRef", "interpolate", "load_map", "resolve_url"]
