"""Identity values a request names a person by: checked, then put in one normal form.

A value is checked against the format of its kind (``email`` and ``phone`` are built in; a map
declares others under ``identities:`` with a ``format``) and refused with the reason when it does
not fit. The normal form is one value per person and way of naming them (the requests ledger and
the consent ledger hash it): text in composed Unicode (NFC) without the whitespace around it,
e-mail addresses also in lower case, phone numbers in E.164 read with the organisation's country
(:mod:`datavow.plan.phone_numbers`), national ids compacted (:mod:`datavow.plan.national_ids`).
Discovery compares a column with every form a value may be written in (:func:`normal_forms`).
Values only ever travel as bound parameters, so a quote or ``'; DROP TABLE`` in one is just a
value that matches nobody.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Literal

from datavow.connectors.sqlite_functions import fold_text, tidy_text
from datavow.datamap.load import LoadedMap
from datavow.errors import ErrorKind, RequestError, shown
from datavow.plan import national_ids, phone_numbers

Format = Literal["email", "phone", "text", "integer", "national_id"]
# How a column is compared with request values, by the format of its identity (integer: as it is).
Form = Literal["email", "phone", "text", "national_id"]

# The identities every map may use undeclared (``datamap.resolve.BUILTIN_IDENTITIES``), by format.
BUILTIN_FORMATS: dict[str, Format] = {"email": "email", "phone": "phone"}

# RFC 5321 limits: 64 characters before the @, 254 in all. The domain needs a dot and a
# top-level part of two characters or more; anything stricter refuses real addresses.
_EMAIL = re.compile(r"[^@\s]{1,64}@(?:[^@\s.]+\.)+[^@\s.]{2,}")
_EMAIL_MAX = 254
_PHONE = re.compile(r"\+?[0-9 ()./-]+")
_SPACES = re.compile(r"\s")  # a no-break space or a tab inside a number is a space
_PHONE_MIN_DIGITS = 5
_INTEGER = re.compile(r"[+-]?[0-9]+")
_INTEGER_MAX = 2**63 - 1  # the widest integer column of the databases datavow talks to
_TEXT_MAX = 500


def identity_formats(loaded: LoadedMap) -> Mapping[str, Format]:
    """Every identity kind the map knows, with its format: the built-ins and its own. Worked out once
    per map (an import checks the identities of every event), so read-only."""

    def compute() -> Mapping[str, Format]:
        formats = dict(BUILTIN_FORMATS)
        formats.update({kind: declared.format for kind, declared in loaded.model.identities.items()})
        return MappingProxyType(formats)

    return loaded.derived("identity_formats", compute)


def home_region(loaded: LoadedMap) -> str:
    """The country a phone number or national id without a country is read in: the organisation's."""
    return loaded.model.organization.country


def parse_identities(loaded: LoadedMap, given: Mapping[str, Iterable[str]]) -> dict[str, frozenset[object]]:
    """Check each value against its kind's format and return the values in normal form, by kind.

    Raises :class:`RequestError` naming the problem: an unknown kind, a kind without values, or
    a value that is not what its kind says ("'jane@' is not an e-mail address").
    """
    formats = identity_formats(loaded)
    if not given:
        raise RequestError(
            f"name the person by at least one identity ({', '.join(formats)})", kind=ErrorKind.INVALID, field="identity"
        )
    region = home_region(loaded)
    parsed: dict[str, frozenset[object]] = {}
    for kind, values in given.items():
        format_ = format_of(formats, kind)
        listed = [values] if isinstance(values, str) else list(values)
        if not listed:
            raise RequestError(f"no value given for the identity '{kind}'", kind=ErrorKind.INVALID, field=kind)
        parsed[kind] = frozenset(parse_value(format_, value, region=region, field=kind) for value in listed)
    return parsed


def format_of(formats: Mapping[str, Format], kind: str) -> Format:
    """The format of the identity ``kind``, or :class:`RequestError` naming the kinds the map knows."""
    if kind not in formats:
        raise RequestError(
            f"'{kind}' is not a kind of identity this map knows — use one of: {', '.join(formats)}",
            kind=ErrorKind.INVALID,
            field="identity",
        )
    return formats[kind]


def parse_value(format_: Format, value: str, *, region: str | None = None, field: str | None = None) -> object:
    """One value in normal form, or :class:`RequestError` saying why it is not one.

    ``region`` is the country a phone number or national id is read in when it names none (the
    organisation's, :func:`home_region`); without it a phone number is kept as its digits. ``field``
    is the kind of identity the value was given as, for the error to name.
    """
    if not isinstance(value, str):
        raise RequestError(
            f"{shown(str(value))} is not text — give identity values as strings", kind=ErrorKind.INVALID, field=field
        )
    text = tidy_text(value)
    if not text:
        raise RequestError("an identity value is empty", kind=ErrorKind.INVALID, field=field)
    if not _SPACES.sub(" ", text).isprintable():  # every character printable (text is not empty here)
        raise RequestError(f"{shown(text)} contains a control character", kind=ErrorKind.INVALID, field=field)
    if format_ == "email":
        if len(text) > _EMAIL_MAX or not _EMAIL.fullmatch(text):
            raise RequestError(f"{shown(text)} is not an e-mail address", kind=ErrorKind.INVALID, field=field)
        return fold_text(text)
    if format_ == "phone":
        spaced = _SPACES.sub(" ", text)
        if not _PHONE.fullmatch(spaced) or len(phone_numbers.digits_of(spaced)) < _PHONE_MIN_DIGITS:
            raise RequestError(
                f"{shown(text)} is not a phone number — write its digits, with a leading + for the country code",
                kind=ErrorKind.INVALID,
                field=field,
            )
        return phone_numbers.e164(spaced, region)
    if format_ == "national_id":
        return national_ids.normal_national_id(text, region, shown(text), field=field)
    if format_ == "integer":
        if not _INTEGER.fullmatch(text):
            raise RequestError(f"{shown(text)} is not a whole number", kind=ErrorKind.INVALID, field=field)
        # Past 19 digits no 64-bit column holds it; a number of thousands of digits is not even read.
        number = int(text) if len(text.lstrip("+-").lstrip("0")) <= 19 else _INTEGER_MAX + 1
        if abs(number) > _INTEGER_MAX:
            raise RequestError(f"{shown(text)} is too large to be an identifier", kind=ErrorKind.INVALID, field=field)
        return number
    if len(text) > _TEXT_MAX:
        raise RequestError(f"{shown(text)} is longer than {_TEXT_MAX} characters", kind=ErrorKind.INVALID, field=field)
    return text


def normal_forms(form: str | None, value: object, region: str | None = None) -> set[object]:
    """The values a column compared in ``form`` (see :func:`datavow.plan.sql.compared`) must hold to
    match ``value``; ``region`` is the organisation's country (:func:`home_region`).

    Text and e-mail addresses in composed (NFC) and in decomposed (NFD) form: the column side is
    composed where the database can do it (SQLite, PostgreSQL) and only the decomposed form finds
    a decomposed value where it cannot (MariaDB). E-mail addresses in lower case. A phone number
    in every way it may be written (:func:`datavow.plan.phone_numbers.written_forms`), a national
    id likewise. Values already in normal form (from :func:`parse_identities`) and raw values read
    from a database (a link landing on an identity column) both come out right; any other value
    is itself.
    """
    if not isinstance(value, str):
        return {value}
    if form == "email" or form == "text":
        composed = fold_text(value) if form == "email" else tidy_text(value)
        return {composed, unicodedata.normalize("NFD", composed)}
    if form == "phone":
        return set(phone_numbers.written_forms(value, region))
    if form == "national_id":
        return set(national_ids.written_forms(value, region))
    return {value}
