"""Fake people, fast and deterministic, with the mess real databases have.

Faker is slow per call (tens of microseconds), and a demo of a million people calls it tens of
millions of times. So each locale's names, streets, places and company names are drawn from Faker
once into pools, and rows are then combined from the pools with a seeded ``random.Random``:
the same seed gives the same people, and a row costs a few list look-ups.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import TypeVar

from faker import Faker

# Free-mail domains people use when they write from home, by country.
MAIL_DOMAINS: dict[str, tuple[str, ...]] = {
    "BE": ("gmail.com", "telenet.be", "skynet.be", "hotmail.com", "outlook.com", "proximus.be"),
    "SE": ("gmail.com", "hotmail.com", "telia.com", "outlook.com", "yahoo.se", "icloud.com"),
    "DK": ("gmail.com", "hotmail.com", "outlook.dk", "yahoo.dk", "mail.dk", "live.dk"),
}

_POOL_SIZE = 400
T = TypeVar("T")


@dataclass(frozen=True)
class Pools:
    """What one locale's people are made of, drawn from Faker once."""

    female: tuple[str, ...]
    male: tuple[str, ...]
    last: tuple[str, ...]
    streets: tuple[str, ...]
    places: tuple[tuple[str, str], ...]  # (postal code, city)
    companies: tuple[str, ...]
    country: str  # where the addresses are

    @classmethod
    def draw(cls, locale: str, seed: int, address_locale: str | None = None) -> Pools:
        fake = Faker(locale)
        fake.seed_instance(seed)
        where = Faker(address_locale or locale)
        where.seed_instance(seed)

        def unique(make: Callable[[], str]) -> tuple[str, ...]:
            # Faker draws by frequency: keep the repeats, they make common names common.
            return tuple(make() for _ in range(_POOL_SIZE))

        return cls(
            female=unique(fake.first_name_female),
            male=unique(fake.first_name_male),
            last=unique(fake.last_name),
            streets=unique(where.street_name),
            places=tuple((where.postcode(), where.city()) for _ in range(_POOL_SIZE)),
            companies=unique(fake.company),
            country=(address_locale or locale)[-2:],
        )


@dataclass(frozen=True)
class Address:
    street: str
    postal_code: str
    city: str
    country: str


@dataclass
class Crowd:
    """People as columns (index ``i`` is one person), so a million of them stay cheap."""

    first: list[str] = field(default_factory=list)
    last: list[str] = field(default_factory=list)
    female: list[bool] = field(default_factory=list)
    phone: list[str] = field(default_factory=list)
    birth: list[date] = field(default_factory=list)
    home: list[int] = field(default_factory=list)  # index into ``addresses``
    addresses: list[Address] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.first)

    def name(self, i: int) -> str:
        return f"{self.first[i]} {self.last[i]}"


@dataclass(frozen=True)
class Population:
    """Who lives in a country: locales with weights, and a phone plan."""

    locales: Sequence[tuple[Pools, float]]
    phone: Callable[[random.Random], str]

    def crowd(self, rng: random.Random, size: int, today: date, sharing: float = 0.25) -> Crowd:
        """``size`` people; about ``sharing`` of them live at an address someone else has too."""
        crowd = Crowd()
        pools = [p for p, _ in self.locales]
        weights = [w for _, w in self.locales]
        phones: set[str] = set()
        for i in range(size):
            pool = rng.choices(pools, weights)[0] if len(pools) > 1 else pools[0]
            is_female = rng.random() < 0.5
            crowd.first.append(pick(rng, pool.female if is_female else pool.male))
            crowd.female.append(is_female)
            if i and rng.random() < sharing:
                # A partner, a child or a flatmate: the same address, often the same surname.
                other = below(rng, i)
                crowd.home.append(crowd.home[other])
                crowd.last.append(crowd.last[other] if rng.random() < 0.6 else pick(rng, pool.last))
            else:
                crowd.home.append(len(crowd.addresses))
                crowd.addresses.append(self.address(rng, pool))
                crowd.last.append(pick(rng, pool.last))
            phone = self.phone(rng)
            while phone in phones:
                phone = self.phone(rng)
            phones.add(phone)
            crowd.phone.append(phone)
            crowd.birth.append(today - timedelta(days=19 * 365 + below(rng, 48 * 365)))
        return crowd

    def address(self, rng: random.Random, pool: Pools | None = None) -> Address:
        pool = pool or self.locales[0][0]
        postal_code, city = pick(rng, pool.places)
        return Address(f"{pick(rng, pool.streets)} {1 + below(rng, 180)}", postal_code, city, pool.country)


# Hot loops draw millions of values: random() is several times cheaper than randrange()/choice().
def below(rng: random.Random, n: int) -> int:
    """A whole number from 0 to ``n - 1``."""
    return int(rng.random() * n)


def pick(rng: random.Random, items: Sequence[T]) -> T:
    return items[int(rng.random() * len(items))]


# --------------------------------------------------------------------------- e-mail


@lru_cache(maxsize=65536)  # names come from small pools: the same few hundred, over and over
def ascii_slug(text: str, sep: str = ".") -> str:
    """``Zoë Van den Broeck`` -> ``zoe.vandenbroeck``-style parts, as mail systems write them."""
    plain = unicodedata.normalize("NFKD", text.replace("ø", "o").replace("Ø", "O").replace("æ", "ae"))
    plain = plain.encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", sep, plain).strip(sep)


def domain_for(company: str, tld: str) -> str:
    """A plausible mail domain: ``Ooms, Vermeylen en Willems VOF`` -> ``ooms-vermeylen.be``."""
    words = [w for w in re.split(r"[\s,&]+", company) if w and ascii_slug(w, "") not in _LEGAL_FORMS]
    names: list[str] = []
    particle = ""
    for word in words:
        if word.lower() in _PARTICLES:  # "De Graeve", "van den Berg": one name
            particle += word
            continue
        names.append(ascii_slug(particle + word, "-"))
        particle = ""
    return "-".join(names[:2] or ["mail"]) + "." + tld


_PARTICLES = {"de", "van", "den", "der", "le", "la", "du", "von"}
_LEGAL_FORMS = {
    "bv",
    "bvba",
    "nv",
    "cv",
    "vof",
    "commv",
    "vzw",
    "sa",
    "sprl",
    "srl",
    "scrl",
    "snc",
    "scs",
    "ab",
    "hb",
    "kb",
    "aps",
    "as",
    "is",
    "en",
    "et",
    "och",
    "og",
    "and",
    "co",
    "son",
    "sons",
    "zonen",
    "fils",
    "oy",
    "oyj",
    "ky",
    "tmi",
    "ay",
    "a",
    "s",
    "i",
    "group",
    "gruppen",
    "holding",
}


class Mailboxes:
    """Hands out e-mail addresses, unique within one company's data."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def work(self, crowd: Crowd, i: int, domain: str, rng: random.Random) -> str:
        first, last = ascii_slug(crowd.first[i]), ascii_slug(crowd.last[i], "")
        style = rng.random()
        local = f"{first}.{last}" if style < 0.7 else (f"{first[:1]}{last}" if style < 0.9 else first)
        return self._claim(local, domain)

    def private(self, crowd: Crowd, i: int, domains: Sequence[str], rng: random.Random) -> str:
        first, last = ascii_slug(crowd.first[i], ""), ascii_slug(crowd.last[i], "")
        local = rng.choice((f"{first}.{last}", f"{first}{last}", f"{first}_{last}", f"{first}{rng.randrange(60, 99)}"))
        return self._claim(local, rng.choice(domains))

    def _claim(self, local: str, domain: str) -> str:
        address, n = f"{local}@{domain}", 1
        while address in self.taken:
            n += 1
            address = f"{local}{n}@{domain}"
        self.taken.add(address)
        return address


def as_typed(email: str, rng: random.Random) -> str:
    """The same address as a person or a colleague typed it elsewhere: case and stray spaces."""
    roll = rng.random()
    if roll < 0.45:
        return email
    if roll < 0.7:
        local, _, domain = email.partition("@")
        return ".".join(part.capitalize() for part in local.split(".")) + "@" + domain
    if roll < 0.8:
        return email.upper()
    if roll < 0.9:
        return " " + email
    return email + " "


# --------------------------------------------------------------------------- phones


def phone_plan(code: str, formats: Sequence[str]) -> Callable[[random.Random], str]:
    """A phone number maker: ``#`` is a digit; ``formats`` are how the country writes them."""

    parts = [(template.split("#"), template.count("#")) for template in formats]

    def make(rng: random.Random) -> str:
        pieces, width = pick(rng, parts)
        digits = f"{below(rng, 10**width):0{width}d}"
        # one digit after each piece but the last
        return code + "".join(piece + digit for piece, digit in zip(pieces, digits, strict=False)) + pieces[-1]

    return make


def as_dialled(number: str, rng: random.Random) -> str:
    """The same number written differently: without spaces, with ``00`` instead of ``+``."""
    roll = rng.random()
    if roll < 0.6:
        return number
    compact = number.replace(" ", "").replace("-", "")
    if roll < 0.8:
        return compact
    return "00" + compact[1:] if compact.startswith("+") else compact


# --------------------------------------------------------------------------- devices

_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Edg/124.0",
)
_HASH_ALPHABET = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def user_agent(rng: random.Random) -> str:
    return pick(rng, _AGENTS)


_NETWORKS = (31, 46, 62, 77, 78, 81, 84, 91, 109, 178, 188, 193, 212, 213)


def ipv4(rng: random.Random) -> str:
    """A public-looking IPv4 address."""
    bits = rng.getrandbits(24)
    return f"{pick(rng, _NETWORKS)}.{bits >> 16}.{(bits >> 8) & 255}.{1 + (bits & 255) % 254}"


def password_hash(rng: random.Random) -> str:
    """Something that looks like a bcrypt hash (and is not one of anything)."""
    return "$2b$12$" + "".join(rng.choices(_HASH_ALPHABET, k=53))


# --------------------------------------------------------------------------- time


class Clock:
    """Dates relative to a fixed day, so the same seed and day give the same rows."""

    def __init__(self, today: date) -> None:
        self.today = today
        self.now = datetime.combine(today, time(18, 0))

    def ago(self, rng: random.Random, most_days: float, least_days: float = 0) -> datetime:
        """A moment between ``least_days`` and ``most_days`` before now, in whole seconds."""
        seconds = int((least_days + rng.random() * max(most_days - least_days, 0)) * 86400)
        return self.now - timedelta(seconds=seconds)

    def day_ago(self, rng: random.Random, most_days: float, least_days: float = 0) -> date:
        return self.ago(rng, most_days, least_days).date()

    def later(
        self, rng: random.Random, start: datetime, most_days: float | None = None, least_days: float = 0
    ) -> datetime:
        """A moment after ``start`` (at most ``most_days`` after, by default any time until now)."""
        span = (self.now - start).total_seconds() / 86400 if most_days is None else most_days
        seconds = int((least_days + rng.random() * max(span - least_days, 0)) * 86400)
        return min(start + timedelta(seconds=seconds), self.now)
