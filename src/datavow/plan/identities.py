"""Identity values a request names a person by: checked, then put in one normal form.

A value is checked against the format of its kind (``email`` and ``phone`` are built in; a map
declares others under ``identities:`` with a ``format``) and refused with the reason when it does
not fit. The normal form is what discovery compares with: e-mail addresses lower-cased and
trimmed, phone numbers as their digits with a leading ``+``. Values only ever travel as bound
parameters, so a quote or ``'; DROP TABLE`` in one is just a value that matches nobody.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Literal

from datavow.datamap.load import LoadedMap
from datavow.errors import RequestError

Format = Literal["email", "phone", "text", "integer"]

# The identities every map may use undeclared (``datamap.resolve.BUILTIN_IDENTITIES``), by format.
BUILTIN_FORMATS: dict[str, Format] = {"email": "email", "phone": "phone"}
# What a phone number is compared without, on both sides.
PHONE_SEPARATORS = " ()./-"

# RFC 5321 limits: 64 characters before the @, 254 in all. The domain needs a dot and a
# top-level part of two characters or more; anything stricter refuses real addresses.
_EMAIL = re.compile(r"[^@\s]{1,64}@(?:[^@\s.]+\.)+[^@\s.]{2,}")
_EMAIL_MAX = 254
_PHONE = re.compile(r"\+?[0-9 ()./-]+")
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


def parse_identities(loaded: LoadedMap, given: Mapping[str, Iterable[str]]) -> dict[str, frozenset[object]]:
    """Check each value against its kind's format and return the values in normal form, by kind.

    Raises :class:`RequestError` naming the problem: an unknown kind, a kind without values, or
    a value that is not what its kind says ("'jane@' is not an e-mail address").
    """
    formats = identity_formats(loaded)
    if not given:
        raise RequestError(f"name the person by at least one identity ({', '.join(formats)})")
    parsed: dict[str, frozenset[object]] = {}
    for kind, values in given.items():
        if kind not in formats:
            raise RequestError(f"'{kind}' is not a kind of identity this map knows — use one of: {', '.join(formats)}")
        listed = [values] if isinstance(values, str) else list(values)
        if not listed:
            raise RequestError(f"no value given for the identity '{kind}'")
        parsed[kind] = frozenset(parse_value(formats[kind], value) for value in listed)
    return parsed


def parse_value(format_: Format, value: str) -> object:
    """One value in normal form, or :class:`RequestError` saying why it is not one."""
    if not isinstance(value, str):
        raise RequestError(f"{_shown(str(value))} is not text — give identity values as strings")
    text = value.strip()
    if not text:
        raise RequestError("an identity value is empty")
    if not text.isprintable():  # every character printable (text is not empty here)
        raise RequestError(f"{_shown(text)} contains a control character")
    if format_ == "email":
        if len(text) > _EMAIL_MAX or not _EMAIL.fullmatch(text):
            raise RequestError(f"{_shown(text)} is not an e-mail address")
        return text.lower()
    if format_ == "phone":
        digits = "".join(char for char in text if char.isdigit())
        if not _PHONE.fullmatch(text) or len(digits) < _PHONE_MIN_DIGITS:
            raise RequestError(
                f"{_shown(text)} is not a phone number — write its digits, with a leading + for the country code"
            )
        return ("+" if text.startswith("+") else "") + digits
    if format_ == "integer":
        if not _INTEGER.fullmatch(text):
            raise RequestError(f"{_shown(text)} is not a whole number")
        number = int(text)
        if abs(number) > _INTEGER_MAX:
            raise RequestError(f"{_shown(text)} is too large to be an identifier")
        return number
    if len(text) > _TEXT_MAX:
        raise RequestError(f"{_shown(text)} is longer than {_TEXT_MAX} characters")
    return text


def normal_forms(form: str | None, value: object) -> set[object]:
    """The values a column compared in ``form`` must hold to match ``value``.

    A phone number matches written with ``+`` or ``00`` in front of the country code; any other
    value is itself, e-mail addresses lower-cased and trimmed. Values already in normal form (from
    :func:`parse_identities`) and raw values read from a database (a link landing on an identity
    column) both come out right.
    """
    if form == "email" and isinstance(value, str):
        return {value.strip().lower()}
    if form == "phone" and isinstance(value, str):
        text = value.strip()
        digits = "".join(char for char in text if char.isdigit())
        if not digits:
            return set()
        if text.startswith("+"):
            return {"+" + digits, "00" + digits}
        if digits.startswith("00"):
            return {digits, "+" + digits[2:]}
        return {digits}
    return {value}


def _shown(text: str) -> str:
    """A value as an error message may show it: quoted, control characters escaped, shortened."""
    safe = "".join(char if char.isprintable() else f"\\x{ord(char):02x}" for char in text)
    if len(safe) > 60:
        safe = safe[:57] + "..."
    return f"'{safe}'"
