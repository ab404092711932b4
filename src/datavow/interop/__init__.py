"""Other tools' descriptions of personal data, converted into data map fragments."""

from datavow.interop.fides import import_fides

__all__ = ["import_fides"]
