"""The column side of matching: an identity column as each database can put it in normal form.

Request values come in every form they may be written in (:func:`datavow.plan.identities.normal_forms`);
the column is tidied in SQL so that one set-based statement finds them, never row by row in Python:

- ``text``: composed Unicode (NFC) without surrounding whitespace (a no-break space, a tab), case kept;
- ``email``: the same in lower case;
- ``phone``: without :data:`~datavow.plan.phone_numbers.PHONE_SEPARATORS`;
- ``national_id``: without :data:`~datavow.plan.national_ids.NATIONAL_ID_SEPARATORS`, in upper case.

SQLite calls datavow's own functions (:mod:`datavow.connectors.sqlite_functions`: its ``lower()`` folds
ASCII only); PostgreSQL composes with ``normalize`` and lowers under the ICU root collation, so that
a database created with the C locale lowers ``Æ`` too; MariaDB cannot compose, so the request side
brings the decomposed form as well, and its collation decides case (a ``_ci`` one ignores it).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.visitors import InternalTraversal

from datavow.connectors.sqlite_functions import FOLD, TIDY
from datavow.plan.identities import Form
from datavow.plan.national_ids import NATIONAL_ID_SEPARATORS
from datavow.plan.phone_numbers import PHONE_SEPARATORS

# What Python's str.strip() removes, so that both sides trim the same characters: written out, as
# finding them among every code point took a noticeable part of start-up (tests/test_matching.py
# checks the list against str.isspace()). PostgreSQL's expression indexes are built on this text.
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000"
)
ASCII_WHITESPACE = "".join(char for char in WHITESPACE if ord(char) < 128)
# MariaDB's regular expressions (PCRE): whitespace and Unicode separators at either end.
_MARIADB_ENDS = r"^[\s\p{Z}]+|[\s\p{Z}]+$"


def column_form(expression: ColumnElement[Any], form: Form) -> ColumnElement[Any]:
    """``expression`` (a column) as it is compared in ``form``.

    Constants are written into the SQL, never bound: PostgreSQL uses an expression index only for
    the very expression it was built on (:func:`postgresql_index_expression`).
    """
    if form == "email":
        return _Folded(expression)
    if form == "text":
        return _Tidied(expression)
    separators = PHONE_SEPARATORS if form == "phone" else NATIONAL_ID_SEPARATORS
    for separator in separators:
        expression = sa.func.replace(expression, _Constant(separator), _Constant(""), type_=sa.String)
    return sa.func.upper(expression, type_=sa.String) if form == "national_id" else expression


def postgresql_index_expression(column: str, form: Form) -> str:
    """The SQL of the expression index that lets PostgreSQL find ``column`` (a quoted name) compared
    in ``form`` without reading the whole table: ``CREATE INDEX … ON users (<this>)``."""
    from sqlalchemy.dialects.postgresql.base import PGDialect  # only for this: see plan.sql.array_of

    dialect = PGDialect()  # type: ignore[no-untyped-call]  # SQLAlchemy leaves its dialects' __init__ untyped
    return str(column_form(sa.literal_column(column, sa.String), form).compile(dialect=dialect))


class _Constant(ColumnElement[str]):
    """A string constant written into the SQL (see :func:`column_form`)."""

    type = sa.String()
    inherit_cache = True

    def __init__(self, text: str) -> None:
        self.text = text

    _traverse_internals = [("text", InternalTraversal.dp_string)]


@compiles(_Constant)
def _constant(element: _Constant, compiler: SQLCompiler, **kw: Any) -> str:
    return _literal(compiler, element.text)


class _Tidied(FunctionElement[str]):
    """Text in NFC without surrounding whitespace, compiled per database."""

    type = sa.String()
    inherit_cache = True
    name = TIDY


class _Folded(FunctionElement[str]):
    """:class:`_Tidied`, in lower case."""

    type = sa.String()
    inherit_cache = True
    name = FOLD


def _argument(element: FunctionElement[str], compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


def _literal(compiler: SQLCompiler, text: str) -> str:
    """``text`` as a string constant; on PostgreSQL in its Unicode escape form (``U&'\\00A0'``), so
    that no tab or no-break space hides in the SQL of a statement or of an index."""
    plain = all(" " <= char <= "~" for char in text)
    if compiler.dialect.name != "postgresql" or plain:
        return compiler.render_literal_value(text, sa.String())
    escaped = "".join(char if " " <= char <= "~" and char not in "'\\%" else _escaped(char) for char in text)
    return f"U&'{escaped}'"


def _escaped(char: str) -> str:
    code = ord(char)
    return f"\\{code:04X}" if code <= 0xFFFF else f"\\+{code:06X}"


@compiles(_Tidied)
def _tidied_default(element: _Tidied, compiler: SQLCompiler, **kw: Any) -> str:
    return f"trim({_argument(element, compiler, **kw)})"


@compiles(_Folded)
def _folded_default(element: _Folded, compiler: SQLCompiler, **kw: Any) -> str:
    return f"lower(trim({_argument(element, compiler, **kw)}))"


@compiles(_Tidied, "sqlite")
@compiles(_Folded, "sqlite")
def _sqlite(element: _Tidied | _Folded, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{element.name}({_argument(element, compiler, **kw)})"


@compiles(_Tidied, "postgresql")
def _tidied_postgresql(element: _Tidied | _Folded, compiler: SQLCompiler, **kw: Any) -> str:
    return _postgresql(element, compiler, lower=False, **kw)


@compiles(_Folded, "postgresql")
def _folded_postgresql(element: _Folded, compiler: SQLCompiler, **kw: Any) -> str:
    return _postgresql(element, compiler, lower=True, **kw)


def _postgresql(element: _Tidied | _Folded, compiler: SQLCompiler, *, lower: bool, **kw: Any) -> str:
    """NFC, trimmed, lowered under the ICU root collation. ASCII text (every character one byte in
    UTF-8) is its own NFC form, has only ASCII whitespace to trim, and lowers under ICU's root
    collation exactly as under ``C`` (A-Z to a-z, nothing else), so it skips ``normalize`` and
    lowers under ``C``: ``normalize`` costs about six times the rest, and ICU's ``lower`` twice what
    the C one does, on every row of a statement that reads a whole table (a batch of thousands)."""
    value = _argument(element, compiler, **kw)
    is_ascii = f"octet_length({value}) = char_length({value})"
    ascii_ = f"btrim({value}, {_literal(compiler, ASCII_WHITESPACE)})"
    unicode_ = f"btrim(normalize({value}, NFC), {_literal(compiler, WHITESPACE)})"
    if lower:
        ascii_ = f'lower({ascii_} COLLATE "C") COLLATE "und-x-icu"'
        unicode_ = f'lower({unicode_} COLLATE "und-x-icu")'
    # in parentheses, as CREATE INDEX takes an expression that is not a function call
    return f"(CASE WHEN {is_ascii} THEN {ascii_} ELSE {unicode_} END)"


@compiles(_Tidied, "mysql")
@compiles(_Tidied, "mariadb")
def _tidied_mariadb(element: _Tidied | _Folded, compiler: SQLCompiler, **kw: Any) -> str:
    return f"regexp_replace({_argument(element, compiler, **kw)}, {_literal(compiler, _MARIADB_ENDS)}, '')"


@compiles(_Folded, "mysql")
@compiles(_Folded, "mariadb")
def _folded_mariadb(element: _Folded, compiler: SQLCompiler, **kw: Any) -> str:
    return f"lower({_tidied_mariadb(element, compiler, **kw)})"
