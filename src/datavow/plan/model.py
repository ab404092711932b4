"""The execution plan of a request: which tables hold a person, in which order, by which keys.

A plan is compiled from the data map and the kinds of identity a request names (no database is
touched). Discovery then runs it against the databases and records, for every step, the *values*
that select the person's rows there. A step's rows are never a list of primary keys held in
Python; they are a condition, ``identity column IN (values)`` or ``link columns IN (values found
upstream)``, that erasure, rectification and export apply set-based inside the database. Only the
values that feed a later link are read back, so memory does not grow with a person's data.

How the planner walks references (see ``docs/requests.md``):

- from a step to every table that **references** it (``child``): rows pointing at the person's
  rows belong to the person (their logins, their tickets); a table's reference to itself (a
  manager, an inviter) is not followed: those rows are other people's;
- from a step to a table it references (``parent``) only when both tables hold the **same
  subject**: a user's row points at their company, which is not the user's data, but a contact's
  second table about the same contact is. A parent link needs the reference to be the table's
  only one to a table of its subject (a ticket's requester and assignee are two people), and it
  carries only the values of rows that are the person's *own*: matched by an identity or by a
  parent link, not merely pointing at the person (a meeting note an employee wrote is about
  someone else, whose other rows must not follow).
- In processor mode, every step on a table with a ``tenant_column`` (or a reference to the
  system's tenant table) is scoped to the request's tenant; a tenant-scoped system's table that
  has an identity but no such column cannot be planned (it would reach other tenants' rows).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from datavow.plan.guard import Reach

TableKey = tuple[str, str]  # (system name, table name) as the map names them
# child: this table's rows belong to the source's (they point at them through an owning reference);
# owner: the source's rows belong to this table's, of the same subject (the row they point at is the person too);
# parent: the source's rows point at this table's, which hold personal data but lead nowhere further
Direction = Literal["child", "owner", "parent"]


@dataclass(frozen=True)
class Link:
    """A step's rows are those whose ``columns`` hold values the ``source`` step's rows have in
    ``source_columns``."""

    source: TableKey
    columns: tuple[str, ...]
    source_columns: tuple[str, ...]
    reference: str  # the name of the reference entry in the map (for explain)
    direction: Direction


@dataclass(frozen=True)
class Step:
    """One table of the plan."""

    table: TableKey
    schema: str | None
    key: tuple[str, ...]  # primary key columns (declared, else the database's)
    identities: Mapping[str, tuple[str, ...]]  # identity kind -> columns matched against request values
    links: tuple[Link, ...]
    tenant_column: str | None  # set only when the plan is scoped to a tenant
    reads: tuple[str, ...]  # columns whose values later links need (empty for a leaf)
    subject: str | None = None  # whose data a row is (the table's ``subject``)
    # identity column -> how both sides are normalised before comparing (datavow.plan.matching):
    # "email" and "text" in NFC and trimmed (e-mail lower-cased), "phone" and "national_id" without separators
    normalise: Mapping[str, Literal["email", "phone", "text", "national_id"]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.table[0]}.{self.table[1]}"


@dataclass(frozen=True)
class Plan:
    """Steps in discovery order: every link's source comes before the step that uses it, except
    where references form a cycle (discovery then repeats steps until nothing new is found)."""

    steps: tuple[Step, ...]
    identity_kinds: frozenset[str]
    tenant: str | None = None
    all_tenants: bool = False  # a controller-wide request that crosses tenants on purpose

    def step(self, table: TableKey) -> Step:
        for step in self.steps:
            if step.table == table:
                return step
        raise KeyError(table)

    def systems(self) -> list[str]:
        return list(dict.fromkeys(step.table[0] for step in self.steps))


Values = frozenset[tuple[object, ...]]  # a set of column-value tuples (one element per column)


@dataclass
class Selection:
    """What selects the person's rows in one step: any of the conditions, within the tenant.

    ``conditions`` maps a tuple of this table's columns to the value tuples they must match;
    identity columns and link columns both appear here, so a row matching either is selected.
    """

    step: Step
    conditions: dict[tuple[str, ...], set[tuple[object, ...]]] = field(default_factory=dict)
    rows: int = 0  # how many rows the conditions select (counted during discovery)
    tenant: object | None = None  # the tenant value, typed for ``step.tenant_column``, when scoped
    # Parent rows that rows of other people point at too (a shared address): columns -> the value
    # tuples of those rows -> how many other rows point at each. Exported, never changed.
    shared: dict[tuple[str, ...], dict[tuple[object, ...], int]] = field(default_factory=dict)
    # The primary keys of the selected rows, where discovery read them (a table whose key later
    # steps need): the same rows as the conditions select, found again by key (see :meth:`by_key`).
    keys: set[tuple[object, ...]] | None = None

    def is_empty(self) -> bool:
        return not any(self.conditions.values())

    @property
    def shared_rows(self) -> int:
        """How many of the selected rows are shared with other people."""
        return sum(len(values) for values in self.shared.values())

    @property
    def shared_with(self) -> int:
        """How many rows of other people point at the shared rows."""
        return sum(sum(values.values()) for values in self.shared.values())

    def changeable(self) -> Selection:
        """The rows an erasure, a rectification or a restriction flag may change: all but the shared."""
        if not self.shared:
            return self
        conditions = {
            columns: {value for value in values if value not in self.shared.get(columns, {})}
            for columns, values in self.conditions.items()
        }
        keys = self.keys
        if keys is not None:  # shared rows named by their key leave the keys too; by other columns, the keys go
            shared = self.shared.get(self.step.key, {}) if set(self.shared) == {self.step.key} else None
            keys = None if shared is None else {key for key in keys if key not in shared}
        return Selection(self.step, conditions, max(self.rows - self.shared_rows, 0), self.tenant, keys=keys)

    def by_key(self) -> Selection:
        """The same rows selected by their primary keys, as discovery read them, where it did:
        a change then finds each row by its key instead of matching every identity again (a batch
        matches tens of thousands of addresses, in every statement that would repeat the match).
        The rows are the ones discovery found and the guard counted, never one added since."""
        if self.keys is None or not self.step.key:
            return self
        return Selection(self.step, {self.step.key: set(self.keys)}, self.rows, self.tenant, keys=self.keys)


@dataclass
class Discovery:
    """The result of running a plan: per step, the selection of the person's rows."""

    plan: Plan
    selections: dict[TableKey, Selection]
    reach: Reach | None = None  # how many people it reached (None: rows selected by seeds, not people)

    def counts(self) -> dict[str, int]:
        return {sel.step.label: sel.rows for sel in self.selections.values()}

    @property
    def found_anything(self) -> bool:
        return any(sel.rows for sel in self.selections.values())
