"""The exception tree. Every error datavow raises is a :class:`DatavowError`.

::

    DatavowError            anything else datavow refuses, with its reason
    ├── MapError            the data map cannot be loaded (carries every problem at once)
    ├── ImportError_        a foreign format (a Fides dataset) cannot be converted
    ├── ConnectionError_    a system or the state store cannot be reached, or refuses the user
    ├── QueryError          a system's database refuses a statement (a missing table or column, a constraint)
    ├── StateError          datavow's own state store is missing, outdated or inconsistent
    ├── AuditError          the audit log cannot be written or read
    ├── SecretError         the secret key is missing, malformed, not the store's, or does not open the data
    ├── DemoError           the demo companies cannot be built
    ├── PlanError           a request cannot be planned against this map
    ├── RequestError        a data subject request is refused or cannot proceed
    ├── ConsentError        a consent or preference event is refused, or the ledger does not verify
    ├── IncidentError       an incident step is refused
    └── DocumentError       a document cannot be written

The class says which part of datavow refused; the :class:`ErrorKind` says what kind of refusal it
is. Each class has a default kind and a raise site may give a more precise one, with the input
``field`` it concerns::

    raise RequestError("there is no request 12", kind=ErrorKind.NOT_FOUND)
    raise RequestError("'bob@' is not an e-mail address", kind=ErrorKind.INVALID, field="email")

:data:`OUTCOMES` is the one table from a kind to the CLI's exit code and the HTTP status;
:func:`outcome_of` reads it for an error. A refusal (invalid, not found, conflict, forbidden,
integrity) exits with the code of the part that refused it (:attr:`DatavowError.exit_code`), as
scripts rely on; trouble around datavow (unavailable, schema, refused by the database, internal)
exits with the kind's own code, whichever part met it.

Each message says what is wrong and what to do next, in words: a front end adds its own spelling
of ``field`` (the CLI its flag). Nothing else catches broad exceptions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class ErrorKind(StrEnum):
    """What kind of refusal an error is, whichever part of datavow raised it."""

    INVALID = "invalid"  # a value given is wrong; ``field`` names it
    NOT_FOUND = "not_found"  # what was asked for does not exist
    CONFLICT = "conflict"  # not allowed in this state, or already there
    FORBIDDEN = "forbidden"  # the caller may not: a wrong code, a wrong key, another tenant's
    INTEGRITY = "integrity"  # recorded data was changed: a broken chain, a package that does not open
    UNAVAILABLE = "unavailable"  # a database, the state store or a mail server cannot be reached
    SCHEMA = "schema"  # a database lacks a table or column the map names
    REFUSED = "refused"  # a database refused a statement: a constraint, a value that does not fit
    INTERNAL = "internal"  # datavow itself is broken or incomplete: reinstall, or report it


@dataclass(frozen=True)
class Outcome:
    """How a front end reports a kind: the CLI's exit code (``None``: the exit code of the part of
    datavow that refused, :attr:`DatavowError.exit_code`) and the HTTP status."""

    exit_code: int | None
    http_status: int


#: Each kind's exit code and HTTP status: the one table the CLI and the HTTP service read.
OUTCOMES: dict[ErrorKind, Outcome] = {
    ErrorKind.INVALID: Outcome(None, 422),
    ErrorKind.NOT_FOUND: Outcome(None, 404),
    ErrorKind.CONFLICT: Outcome(None, 409),
    ErrorKind.FORBIDDEN: Outcome(None, 403),
    ErrorKind.INTEGRITY: Outcome(None, 500),
    ErrorKind.UNAVAILABLE: Outcome(3, 503),
    ErrorKind.SCHEMA: Outcome(13, 500),
    ErrorKind.REFUSED: Outcome(13, 500),
    ErrorKind.INTERNAL: Outcome(1, 500),
}


class DatavowError(Exception):
    """Root of every error datavow raises on purpose.

    ``kind`` defaults to the class's; ``field`` names the input the error concerns (an identity
    kind such as ``email``, or a parameter such as ``state_url``), for a front end to point at.
    """

    exit_code = 1  # the exit code of this part of datavow, for the kinds that use it
    kind = ErrorKind.INVALID

    def __init__(self, *args: object, kind: ErrorKind | None = None, field: str | None = None) -> None:
        super().__init__(*args)
        if kind is not None:
            self.kind = kind
        self.field = field


@dataclass(frozen=True)
class Reported:
    """An error as a front end reports it."""

    kind: ErrorKind
    exit_code: int
    http_status: int


def outcome_of(error: DatavowError) -> Reported:
    """The kind, CLI exit code and HTTP status of ``error``, from :data:`OUTCOMES`."""
    outcome = OUTCOMES[error.kind]
    exit_code = error.exit_code if outcome.exit_code is None else outcome.exit_code
    return Reported(error.kind, exit_code, outcome.http_status)


@dataclass(frozen=True)
class Location:
    """Where in which file a problem is: 1-based line and column."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Problem:
    """One problem found in a data map (or a document to import): where, what is wrong, how to fix it,
    and ``fields``, the inputs the fix concerns, for a front end to add its own spelling of them."""

    location: Location | None
    message: str
    hint: str = ""
    code: str = "map"
    fields: tuple[str, ...] = ()

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        fix = f" — {self.hint}" if self.hint else ""
        return f"{where}{self.message}{fix}"


class MapError(DatavowError):
    """The data map is invalid. ``problems`` holds every problem found, in file order."""

    exit_code = 2

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=_problem_order)
        count = len(self.problems)
        head = f"the data map has {count} problem{'s' if count != 1 else ''}"
        super().__init__(head + ":\n" + "\n".join(f"  {p}" for p in self.problems))


def shown(value: object, limit: int = 60) -> str:
    """``value`` as a message quotes it: in quotes, control characters escaped, cut to ``limit``
    characters (an identity or a map's value may be any text, of any length)."""
    safe = "".join(char if char.isprintable() else f"\\x{ord(char):02x}" for char in str(value))
    if len(safe) > limit:
        safe = safe[: limit - 3] + "..."
    return f"'{safe}'"


def _problem_order(problem: Problem) -> tuple[str, int, int]:
    loc = problem.location
    return (loc.file, loc.line, loc.column) if loc else ("", 0, 0)


class ConnectionError_(DatavowError):  # noqa: N801 - avoids shadowing the builtin
    """A system's database, or the state store, cannot be reached."""

    exit_code = 3
    kind = ErrorKind.UNAVAILABLE


class QueryError(DatavowError):
    """A system's database was reached but refused a statement: a table or column the map names is
    missing, a value does not fit its column, a constraint refuses the change. The message names
    the system, the table and what to check."""

    exit_code = 13
    kind = ErrorKind.SCHEMA


class StateError(DatavowError):
    """datavow's own state store is missing, outdated or inconsistent."""

    exit_code = 4
    kind = ErrorKind.CONFLICT


class AuditError(DatavowError):
    """The audit log cannot be written or read."""

    exit_code = 5
    kind = ErrorKind.INTEGRITY


class ImportError_(DatavowError):  # noqa: N801 - avoids shadowing the builtin
    """A foreign document (a Fides dataset) cannot be converted; ``problems`` holds every problem found,
    in file order, when the message lists them."""

    exit_code = 2

    def __init__(
        self, *args: object, kind: ErrorKind | None = None, field: str | None = None, problems: Sequence[Problem] = ()
    ) -> None:
        super().__init__(*args, kind=kind, field=field)
        self.problems = list(problems)


class DemoError(DatavowError):
    """The demo companies cannot be built."""

    exit_code = 6
    kind = ErrorKind.CONFLICT


class PlanError(DatavowError):
    """A request cannot be planned against this map (no table holds that identity, a tenant-scoped
    table cannot be isolated, ...)."""

    exit_code = 7
    kind = ErrorKind.INVALID


class RequestError(DatavowError):
    """A data subject request is refused (bad identity, wrong state, past a deadline) or cannot
    proceed; the message gives the reason."""

    exit_code = 8
    kind = ErrorKind.CONFLICT


class SecretError(DatavowError):
    """The secret key is missing or malformed, is not the state store's, its file may be read by
    others, or encrypted data does not open with it."""

    exit_code = 9
    kind = ErrorKind.INTEGRITY


class ConsentError(DatavowError):
    """A consent or preference event is refused (unknown purpose, channel or topic; an event in the
    future), an import file is malformed, or the ledger does not verify; the message says which."""

    exit_code = 10
    kind = ErrorKind.INVALID


class IncidentError(DatavowError):
    """An incident step is refused: a wrong stage, a missing required fact, a time without a zone,
    a late notice without its reasons (Art. 33(1)); the message names the fix."""

    exit_code = 11
    kind = ErrorKind.CONFLICT


class DocumentError(DatavowError):
    """A document cannot be written: a template is missing or broken, a format is unknown, or a map
    to compare cannot be read. The message says which, and what to do."""

    exit_code = 12
    kind = ErrorKind.INVALID


__all__ = [
    "OUTCOMES",
    "AuditError",
    "ConnectionError_",
    "ConsentError",
    "DatavowError",
    "DemoError",
    "DocumentError",
    "ErrorKind",
    "ImportError_",
    "IncidentError",
    "Location",
    "MapError",
    "Outcome",
    "PlanError",
    "Problem",
    "QueryError",
    "Reported",
    "RequestError",
    "SecretError",
    "StateError",
    "outcome_of",
    "shown",
]
