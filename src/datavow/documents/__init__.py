"""Documents written from the data map: the privacy statement and the record of processing (Art. 30).

The map decides what is said (:mod:`datavow.documents.facts`, :mod:`datavow.documents.ropa`); the
templates, one set per language and overridable by a company, decide how it is worded
(:mod:`datavow.documents.wording`). Nothing is stated that the map does not support.
"""

from datavow.documents.diff import compare_statements
from datavow.documents.errors import DocumentError
from datavow.documents.ropa_formats import FORMATS, WrittenRecord, write_record
from datavow.documents.statement import Statement, write_statement, write_statements

__all__ = [
    "FORMATS",
    "DocumentError",
    "Statement",
    "WrittenRecord",
    "compare_statements",
    "write_record",
    "write_statement",
    "write_statements",
]
