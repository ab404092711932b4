"""MIRA Software's data subject requests as SQL written by hand: the baseline of ``requests.py``.

The same tables, the same rows and the same values afterwards as datavow (the benchmark checks
it in every run): first the person's ids (users, contacts, invoices, suppliers), then one
statement per table, for one person or many alike, over one psycopg connection. The keyed hash
and the pseudonym are computed the way datavow computes them, so both sides leave equal values.
"""

from __future__ import annotations

import csv
import itertools
import os
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from dateutil.relativedelta import relativedelta

from datavow.secrets import derive

P, B = "mira_software_platform", "mira_software_business"  # the schemas, as the demo names them
SCHEMAS = {"platform": P, "business": B}
BENCH_SCHEMA = "datavow_bench"  # the benchmark's own tables: what was built, snapshots


def _sha256(text: str) -> str:
    return f"encode(sha256(convert_to({text}, 'UTF8')), 'hex')"


def _stand_in(column: str, prefix: str, key: str, digits: int, tag: int) -> tuple[str, str]:
    """SET expression and "not erased yet" condition of a keyed hash or pseudonym: the digest
    and its tag exactly as datavow computes them, so both sides leave the same values."""
    start = len(prefix) + 1
    digest = f"substr({_sha256(f'{key} || {column}')}, 1, {digits})"
    tail = f"substr({column}, {start}, {digits})"
    ours = f"substr({column}, {start + digits}) = substr({_sha256(f'%(tk)s || {tail}')}, 1, {tag})"
    if prefix:
        ours = f"({column} LIKE %(anon)s AND {ours})"
    value = f"{f'{prefix!r} || ' if prefix else ''}{digest} || substr({_sha256(f'%(tk)s || {digest}')}, 1, {tag})"
    return (
        f"CASE WHEN {column} IS NULL THEN NULL WHEN {ours} THEN {column} ELSE {value} END",
        f"({column} IS NOT NULL AND NOT {ours})",
    )


def _hashed(column: str) -> tuple[str, str]:
    return _stand_in(column, "", "%(hk)s", 48, 16)  # a 254-character column: 48 hex digits and a 16-digit tag


def _pseudonym(column: str) -> tuple[str, str]:
    return _stand_in(column, "anon-", "%(pk)s", 12, 12)  # an 80-character column: anon- and 24 hex digits


@dataclass(frozen=True)
class RawTable:
    label: str  # system.table, as datavow names the step
    key: str
    where: str  # the person's rows, over the e-mails and the ids resolve() found
    erased: str | None = None  # "delete" or "anonymize": how an erasure leaves its rows
    columns: str = "*"  # what an access request shows

    @property
    def name(self) -> str:
        system, table = self.label.split(".")
        return f"{SCHEMAS[system]}.{table}"


# Credentials are withheld from an access request, as datavow does: users.password_hash, user_sessions.token.
USER_COLUMNS = (
    "id, customer_id, email, first_name, last_name, role, active, processing_restricted, created_at, last_login_at"
)
SESSION_COLUMNS = "user_id, created_at, expires_at, ip_address, user_agent"


class HandWritten:
    """MIRA Software's access and erasure as SQL written by hand: the same tables, the same rows,
    the same values afterwards (checked in every run). First the person's ids (users, contacts,
    invoices, suppliers), then one statement per table, for one person or many alike."""

    def __init__(self, db: psycopg.Connection[Any], key: bytes) -> None:
        self.db = db
        self.keys = {"hk": derive(key, "erasure-hash").hex(), "tk": derive(key, "erasure-tag").hex(), "anon": "anon-%"}

    def tables(self, tenant: bool) -> list[RawTable]:
        scope = " AND customer_id = %(t)s" if tenant else ""
        e = "ANY(%(e)s::text[])"
        u, c, i, s = (f"ANY(%({name})s::int[])" for name in "ucis")
        logins = f"(lower(trim(email_entered)) = {e} OR user_id = {u}){scope}"
        # a ticket is its requester's; assignee_id merely names the IZIT user on it (owner: false)
        tickets = f"(lower(trim(requester_email)) = {e} OR requester_id = {u}){scope}"
        platform = [
            RawTable("platform.users", "id", f"id = {u}", "anonymize", USER_COLUMNS),
            RawTable("platform.login_events", "id", logins, "delete"),
            RawTable("platform.support_tickets", "id", tickets, "anonymize"),
            RawTable("platform.user_sessions", "token", f"user_id = {u}", "delete", SESSION_COLUMNS),
            RawTable("platform.material_usage", "id", f"user_id = {u}{scope}", "anonymize"),
        ]
        if tenant:  # a tenant's request stays in the tenant's system
            return platform
        return platform + [
            RawTable("business.contact_submissions", "id", f"lower(trim(email)) = {e} OR contact_id = {c}", "delete"),
            RawTable("business.contacts", "id", f"id = {c}", "delete"),
            RawTable("business.invoices", "id", f"id = {i}", "anonymize"),
            RawTable("business.invoice_lines", "invoice_id, line_no", f"invoice_id = {i}"),
            # a supplier's other contacts are other people (siblings), never the person's
            RawTable("business.supplier_contacts", "id", f"lower(trim(email)) = {e}", "delete"),
            RawTable("business.suppliers", "id", f"id = {s}", "anonymize"),
        ]

    def resolve(self, cur: psycopg.Cursor[Any], emails: Sequence[str], tenant: int | None) -> dict[str, Any]:
        """The ids that lead from the e-mails to the person's other rows. A login with the
        person's address names their account; so does an invoice billed to it their contact."""
        found: dict[str, Any] = {"e": list(emails), "t": tenant}
        scope = " AND customer_id = %(t)s" if tenant is not None else ""

        def ids(sql: str) -> list[Any]:
            return [row[0] for row in cur.execute(sql, found)]

        # UNION, not OR: "id IN (subquery) OR ..." cannot become a join, and PostgreSQL runs the
        # subquery again for every row once its result outgrows work_mem (a person with many logins).
        found["u"] = ids(
            f"SELECT id FROM {P}.users WHERE lower(trim(email)) = ANY(%(e)s::text[]){scope} UNION "
            f"SELECT id FROM {P}.users WHERE id IN (SELECT user_id FROM {P}.login_events "
            f"WHERE lower(trim(email_entered)) = ANY(%(e)s::text[]){scope}){scope}"
        )
        if tenant is None:
            found["c"] = ids(
                f"SELECT id FROM {B}.contacts WHERE lower(trim(email)) = ANY(%(e)s::text[]) UNION "
                f"SELECT id FROM {B}.contacts WHERE id IN "
                f"(SELECT contact_id FROM {B}.invoices WHERE lower(trim(billing_email)) = ANY(%(e)s::text[]))"
            )
            found["i"] = ids(
                f"SELECT id FROM {B}.invoices "
                "WHERE lower(trim(billing_email)) = ANY(%(e)s::text[]) OR contact_id = ANY(%(c)s::int[])"
            )
            found["s"] = ids(
                f"SELECT DISTINCT supplier_id FROM {B}.supplier_contacts WHERE lower(trim(email)) = ANY(%(e)s::text[])"
            )
        return found

    def access(self, emails: Sequence[str], folder: Path, tenant: int | None = None) -> dict[str, int]:
        """Every table's rows of the person (within the tenant), streamed into a CSV file per table."""
        counts = {}
        with self.db.transaction():
            found = self.resolve(self.db.cursor(), emails, tenant)
            for table in self.tables(tenant is not None):
                query = f"SELECT {table.columns} FROM {table.name} WHERE {table.where} ORDER BY {table.key}"
                written = _write_csv(self.db.cursor(), query, found, folder / f"{table.label}.csv")
                if written:
                    counts[table.label] = written
        return counts

    def erasures(self, tenant: bool) -> list[tuple[str, str]]:
        """(table, statement) in the order datavow runs them: a table before those it references."""
        where = {table.label: table.where for table in self.tables(tenant)}
        ticket_email, ticket_email_pending = _hashed("requester_email")
        email, email_pending = _hashed("email")
        first, first_pending = _pseudonym("first_name")
        last, last_pending = _pseudonym("last_name")
        statements = [
            ("platform.login_events", f"DELETE FROM {P}.login_events WHERE {where['platform.login_events']}"),
            (
                "platform.support_tickets",
                f"UPDATE {P}.support_tickets SET requester_name = NULL, requester_email = {ticket_email}, "
                "body = CASE WHEN body IS NULL THEN NULL ELSE '[erased]' END "
                f"WHERE ({where['platform.support_tickets']}) "
                f"AND (requester_name IS NOT NULL OR {ticket_email_pending} OR body <> '[erased]')",
            ),
            ("platform.user_sessions", f"DELETE FROM {P}.user_sessions WHERE {where['platform.user_sessions']}"),
            (
                "platform.material_usage",
                f"UPDATE {P}.material_usage SET note = NULL "
                f"WHERE {where['platform.material_usage']} AND note IS NOT NULL",
            ),
            (
                "platform.users",
                f"UPDATE {P}.users SET email = {email}, first_name = {first}, last_name = {last}, "
                "role = 'former user', password_hash = NULL, last_login_at = NULL "
                f"WHERE {where['platform.users']} AND ({email_pending} OR {first_pending} OR {last_pending} "
                "OR role <> 'former user' OR password_hash IS NOT NULL OR last_login_at IS NOT NULL)",
            ),
        ]
        if tenant:
            return statements
        invoices = where["business.invoices"]
        held_contacts = f"(SELECT contact_id FROM {B}.invoices WHERE issued_on > %(cutoff)s AND contact_id IS NOT NULL)"
        return statements + [
            (
                "business.contact_submissions",
                f"DELETE FROM {B}.contact_submissions WHERE {where['business.contact_submissions']}",
            ),
            # Invoices are kept 7 years (a legal hold): until then only the e-mail address goes.
            (
                "business.invoices",
                f"UPDATE {B}.invoices SET billing_email = NULL WHERE {invoices} AND issued_on > %(cutoff)s "
                "AND billing_email IS NOT NULL",
            ),
            (
                "business.invoices",
                f"UPDATE {B}.invoices SET billing_name = '[erased]', billing_email = NULL WHERE {invoices} "
                "AND issued_on <= %(cutoff)s AND (billing_name <> '[erased]' OR billing_email IS NOT NULL)",
            ),
            # A contact that invoices under the hold still name stays, its personal fields erased.
            (
                "business.contacts",
                f"UPDATE {B}.contacts SET first_name = {first}, last_name = {last}, email = {email}, phone = NULL, "
                f"job_title = NULL WHERE ({where['business.contacts']}) AND id IN {held_contacts} "
                f"AND ({first_pending} OR {last_pending} OR {email_pending} OR phone IS NOT NULL "
                "OR job_title IS NOT NULL)",
            ),
            (
                "business.contacts",
                f"DELETE FROM {B}.contacts WHERE ({where['business.contacts']}) AND id NOT IN {held_contacts}",
            ),
            (
                "business.supplier_contacts",
                f"DELETE FROM {B}.supplier_contacts WHERE {where['business.supplier_contacts']}",
            ),
            (
                "business.suppliers",
                f"UPDATE {B}.suppliers SET iban = NULL, billing_email = NULL WHERE {where['business.suppliers']} "
                "AND (iban IS NOT NULL OR billing_email IS NOT NULL) "
                # a supplier that other people's contact rows still point at is shared: kept as it is
                f"AND NOT EXISTS (SELECT 1 FROM {B}.supplier_contacts o WHERE o.supplier_id = suppliers.id)",
            ),
        ]

    def erase(self, emails: Sequence[str], tenant: int | None = None) -> dict[str, int]:
        """The erasure in one transaction; rows changed per table."""
        now = datetime.now(UTC)
        counts: dict[str, int] = {}
        with self.db.transaction():
            cur = self.db.cursor()
            found = self.resolve(cur, emails, tenant)
            found.update(self.keys, pk=os.urandom(32).hex(), cutoff=(now - relativedelta(years=7)).date())
            for label, statement in self.erasures(tenant is not None):
                counts[label] = counts.get(label, 0) + cur.execute(statement, found).rowcount
        return {label: count for label, count in counts.items() if count}

    # -- keeping both sides honest: each erasure runs on the same rows, and must leave the same values

    def snapshot(self, emails: Sequence[str], tenant: int | None) -> list[RawTable]:
        """Copy the rows an erasure of these people changes, so they can be put back."""
        tables = [table for table in self.tables(tenant is not None) if table.erased]
        with self.db.transaction():
            cur = self.db.cursor()
            found = self.resolve(cur, emails, tenant)
            for table in tables:
                cur.execute(f"DROP TABLE IF EXISTS {_saved(table)}")
                cur.execute(
                    f"CREATE UNLOGGED TABLE {_saved(table)} AS SELECT * FROM {table.name} WHERE {table.where}", found
                )
        return tables

    def restore(self, tables: list[RawTable]) -> None:
        """Put the copied rows back: deleted rows again, anonymised ones to their values."""
        with self.db.transaction():
            cur = self.db.cursor()
            for table in tables:
                if table.erased == "delete":  # and a row an erasure kept (one a held row names) as it was
                    cur.execute(f"INSERT INTO {table.name} SELECT * FROM {_saved(table)} ON CONFLICT DO NOTHING")
                columns = [c.name for c in cur.execute(f"SELECT * FROM {_saved(table)} LIMIT 0").description or []]
                assignments = ", ".join(f"{c} = s.{c}" for c in columns if c != table.key)
                joined = f"t.{table.key} = s.{table.key}"
                cur.execute(f"UPDATE {table.name} t SET {assignments} FROM {_saved(table)} s WHERE {joined}")

    def state(self, tables: list[RawTable]) -> dict[str, list[tuple[Any, ...]]]:
        """The snapshotted rows as they are now (pseudonyms masked: each run draws its own key)."""
        state = {}
        with self.db.transaction():
            cur = self.db.cursor()
            for table in tables:
                rows = cur.execute(
                    f"SELECT t.* FROM {table.name} t JOIN {_saved(table)} s ON t.{table.key} = s.{table.key} "
                    f"ORDER BY t.{table.key}"
                ).fetchall()
                state[table.label] = [tuple(_masked(value) for value in row) for row in rows]
        return state

    def drop(self, tables: list[RawTable]) -> None:
        with self.db.transaction():
            for table in tables:
                self.db.execute(f"DROP TABLE IF EXISTS {_saved(table)}")


def _saved(table: RawTable) -> str:
    return f"{BENCH_SCHEMA}.saved_{table.label.replace('.', '_')}"


def _masked(value: object) -> object:
    return "anon-…" if isinstance(value, str) and value.startswith("anon-") else value


def _write_csv(cursor: psycopg.Cursor[Any], query: str, values: dict[str, Any], path: Path) -> int:
    """Stream the rows into a CSV file (psycopg's chunked mode: one round trip, 2,000 rows at a time)."""
    rows = 0
    with ExitStack() as stack:
        writer = None
        stream = cursor.stream(query, values, size=2000)
        while batch := list(itertools.islice(stream, 2000)):
            if writer is None:
                writer = csv.writer(stack.enter_context(path.open("w", newline="")))
                writer.writerow([column.name for column in cursor.description or []])
            writer.writerows(batch)
            rows += len(batch)
    return rows
