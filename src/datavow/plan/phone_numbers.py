"""Phone numbers: one normal form for a request (E.164), and every way a database may have written it.

People write the same number as ``+49 30 0074321``, ``0049 30 0074321``, ``030-0074321`` (at home)
or ``+49 (0)30 0074321``. A request value is read with the organisation's country as the default
region (``030…`` is German for a German organisation) into E.164; discovery then looks for the
forms the number can take in a column once separators are gone (see :func:`written_forms`). A
number the ``phonenumbers`` library cannot read is still compared by its digits, as written.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from phonenumbers import PhoneNumber

# What a phone number is compared without, on both sides: the separators people type, and the
# no-break spaces and tabs that word processors and spreadsheets leave behind.
PHONE_SEPARATORS = " ()./-\u00a0\u202f\t"


def digits_of(text: str) -> str:
    return "".join(char for char in text if "0" <= char <= "9")


def e164(text: str, region: str | None) -> str:
    """``text`` in E.164 (``+32472112234``) when it reads as a possible number of ``region`` (or
    of the country its ``+``/``00`` names); otherwise its digits, with the ``+`` it was given."""
    import phonenumbers

    number = _parsed(text, region)
    if number is None:
        return ("+" if text.startswith("+") else "") + digits_of(text)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=65_536)  # a link passes the same numbers to a step again and again
def written_forms(text: str, region: str | None) -> frozenset[str]:
    """The ways a column, without :data:`PHONE_SEPARATORS`, may hold the number ``text`` names.

    ``+CC NSN`` and ``00CC NSN``; the national form with its trunk prefix (``0NSN``) when the number
    is of the organisation's country (``region``): elsewhere ``0…`` means another number; and the
    "(0)" habit, ``+CC 0NSN`` and ``00CC 0NSN``. A number that cannot be read gives its digits.
    """
    import phonenumbers

    number = _parsed(text, region)
    if number is None:
        return _literal_forms(text)
    code = str(number.country_code)
    significant = phonenumbers.national_significant_number(number)
    national = digits_of(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL))
    forms = {f"+{code}{significant}", f"00{code}{significant}"}
    if national != significant:  # the country dials a trunk prefix at home
        forms.update({f"+{code}{national}", f"00{code}{national}"})
    if region is not None and phonenumbers.country_code_for_region(region) == number.country_code:
        forms.add(national)
    return frozenset(forms)


def _parsed(text: str, region: str | None) -> PhoneNumber | None:
    # imported where a number is read: a request by e-mail never pays for phonenumbers' metadata
    import phonenumbers

    try:
        number = phonenumbers.parse(text.strip(), region)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_possible_number(number) else None


def _literal_forms(text: str) -> frozenset[str]:
    """A number that cannot be read, as its digits: with ``+`` or ``00`` in front when it was given so."""
    text = text.strip()
    digits = digits_of(text)
    if not digits:
        return frozenset()
    if text.startswith("+"):
        return frozenset({"+" + digits, "00" + digits})
    if digits.startswith("00"):
        return frozenset({digits, "+" + digits[2:]})
    return frozenset({digits})
