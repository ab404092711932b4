"""National identity numbers (format ``national_id``): checked and compacted with python-stdnum for
the organisation's country, and compared without the separators people write them with.

A Swedish personnummer is written ``19811218-9876``, ``198112189876``, ``811218-9876`` or
``8112189876``: one person. The request value is validated (check digit, date) by the country's
stdnum module and kept in one normal form, its separators gone (for Sweden the 12-digit form, as
the century is not in the short one); a column is compared with :data:`NATIONAL_ID_SEPARATORS`
stripped and in upper case, against every form the number is written in (:func:`written_forms`).
For a country stdnum has no personal id for, the value is only compacted.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stdnum.util import NumberValidationModule

from datavow.errors import ErrorKind, RequestError

# Stripped from a national id on both sides: '+' is a Swedish personnummer's "100 or older" mark.
NATIONAL_ID_SEPARATORS = " -+\u00a0\t"


def normal_national_id(text: str, region: str | None, shown: str, *, field: str | None = None) -> str:
    """The number in normal form, or :class:`RequestError` saying why it is not one of ``region``'s
    national ids (``shown`` is the value as the message may show it)."""
    module = _module(region)
    if module is None:
        return _bare(text)
    from stdnum.exceptions import ValidationError
    from stdnum.se import personnummer

    try:
        valid = str(module.validate(text))
    except ValidationError as exc:
        raise RequestError(
            f"{shown} is not a valid national identity number of {region}: {exc} — check the number",
            kind=ErrorKind.INVALID,
            field=field,
        ) from exc
    if region == "SE":
        return str(personnummer.get_birth_date(valid).year)[:2] + _bare(valid)[-10:]
    return _bare(valid)


@lru_cache(maxsize=65_536)
def written_forms(text: str, region: str | None) -> frozenset[str]:
    """The ways a column without separators (upper case) may hold the number ``text`` names: its
    compact form, and for Sweden both the 10- and the 12-digit forms. A value that is not a valid
    number of ``region`` (one read from a database) is compared as it stands, compacted."""
    bare = _bare(text)
    module = _module(region)
    if module is None or not module.is_valid(text):
        return frozenset({bare}) if bare else frozenset()
    if region != "SE":
        return frozenset({_bare(str(module.compact(text)))})
    from stdnum.se import personnummer

    short = bare[-10:]
    # the birth date's century comes from the 12-digit form, or from the '+' of the 10-digit one
    century = str(personnummer.get_birth_date(text).year)[:2]
    return frozenset({short, century + short})


def _bare(text: str) -> str:
    return "".join(char for char in text.strip() if char not in NATIONAL_ID_SEPARATORS).upper()


@lru_cache(maxsize=64)
def _module(region: str | None) -> NumberValidationModule | None:
    """python-stdnum's personal id module of the country (``stdnum.se.personnummer`` for SE).
    python-stdnum is imported here, when a map first names a national id: a request by e-mail or
    phone never needs it."""
    from stdnum.util import get_cc_module

    return None if region is None else get_cc_module(region.lower(), "personalid")
