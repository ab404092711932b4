"""The lint rules. Importing this module registers every one: they live one module per noun
(``purposes``, ``parties``, ``tables``, ``identities``, ``ownership``), one small function each."""

from datavow.lint import identities, ownership, parties, tables  # noqa: F401 - importing registers their rules
from datavow.lint.purposes import purposes_of

__all__ = ["purposes_of"]
