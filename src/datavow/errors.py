"""The exception tree. Every error datavow raises is a :class:`DatavowError`.

::

    DatavowError
    ├── MapError            the data map cannot be loaded (carries every problem at once)
    ├── ConnectionError_    a system or the state store cannot be reached
    ├── QueryError          a system's database refuses a statement (a missing table or column, a constraint)
    ├── StateError          datavow's own state store is missing, outdated or inconsistent
    ├── AuditError          the audit log cannot be written or read
    ├── ImportError_        a foreign format (a Fides dataset) cannot be converted
    ├── DemoError           the demo companies cannot be built
    ├── PlanError           a request cannot be planned against this map
    ├── RequestError        a data subject request is refused or cannot proceed
    └── SecretError         the secret key is missing, malformed, or does not open the data

Each message says what is wrong and what to do next. The CLI maps each class to an exit
code (see :data:`EXIT_CODES`); nothing else catches broad exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass


class DatavowError(Exception):
    """Root of every error datavow raises on purpose."""

    exit_code = 1


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
    """One problem found in a data map: where, what is wrong, how to fix it."""

    location: Location | None
    message: str
    hint: str = ""
    code: str = "map"

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


def _problem_order(problem: Problem) -> tuple[str, int, int]:
    loc = problem.location
    return (loc.file, loc.line, loc.column) if loc else ("", 0, 0)


class ConnectionError_(DatavowError):  # noqa: N801 - avoids shadowing the builtin
    """A system's database, or the state store, cannot be reached."""

    exit_code = 3


class QueryError(DatavowError):
    """A system's database was reached but refused a statement: a table or column the map names is
    missing, a value does not fit its column, a constraint refuses the change. The message names
    the system, the table and what to check."""

    exit_code = 13


class StateError(DatavowError):
    """datavow's own state store is missing, outdated or inconsistent."""

    exit_code = 4


class AuditError(DatavowError):
    """The audit log cannot be written or read."""

    exit_code = 5


class ImportError_(DatavowError):  # noqa: N801 - avoids shadowing the builtin
    """A foreign document (a Fides dataset) cannot be converted."""

    exit_code = 2


class DemoError(DatavowError):
    """The demo companies cannot be built."""

    exit_code = 6


class PlanError(DatavowError):
    """A request cannot be planned against this map (no table holds that identity, a tenant-scoped
    table cannot be isolated, ...)."""

    exit_code = 7


class RequestError(DatavowError):
    """A data subject request is refused (bad identity, wrong state, past a deadline) or cannot
    proceed; the message gives the reason."""

    exit_code = 8


class SecretError(DatavowError):
    """The secret key is missing or malformed, or encrypted data does not open with it."""

    exit_code = 9


class ConsentError(DatavowError):
    """A consent or preference event is refused (unknown purpose, channel or topic; an event in the
    future), an import file is malformed, or the ledger does not verify; the message says which."""

    exit_code = 10


class IncidentError(DatavowError):
    """An incident step is refused: a wrong stage, a missing required fact, a time without a zone,
    a late notice without its reasons (Art. 33(1)); the message names the fix."""

    exit_code = 11


class DocumentError(DatavowError):
    """A document cannot be written: a template is missing or broken, a format is unknown, or a map
    to compare cannot be read. The message says which, and what to do."""

    exit_code = 12
