"""The hand-written SQL that ``consent.py`` measures datavow's consent answers against.

It reads the same tables datavow's ledger keeps (``consent_state``: the latest event per identity
hash and scope; ``restrictions`` and ``restriction_identities``: Art. 18 and 21), and applies the
rules of ``docs/consent.md`` written out by hand:

- no active restriction of every purpose or of the topic's purpose, no objection to that purpose;
- gate A (a topic's purpose): the latest of the purpose's own scope and its channel and topic
  scopes must be a grant, or, when there is none, the purpose must not need consent;
- gate B (the channel): the latest of ``all`` and the channel, alone, for the purpose and for the
  topic, must not be a withdrawal.

Identities are looked up by their keyed hash, ``hmac-sha256(identity-index subkey, "email:<lower-cased
address>")``, computed here as datavow computes it. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import hmac
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg


@dataclass(frozen=True)
class Question:
    """What is asked: contact on ``channel`` about ``topic``, which serves ``purpose``."""

    channel: str
    topic: str | None
    purpose: str | None
    consent: bool  # the purpose's basis is consent: without a grant, no

    @property
    def gate_a(self) -> list[str]:
        if self.purpose is None:
            return []
        p, t = self.purpose, self.topic
        return [f"{p}||", f"{p}|all|", f"{p}|{self.channel}|"] + (
            [f"{p}|all|{t}", f"{p}|{self.channel}|{t}"] if t else []
        )

    @property
    def gate_b(self) -> list[str]:
        scopes = ["|all|", f"|{self.channel}|"]
        if self.purpose is not None:
            scopes += [f"{self.purpose}|all|", f"{self.purpose}|{self.channel}|"]
            if self.topic is not None:
                scopes += [f"{self.purpose}|all|{self.topic}", f"{self.purpose}|{self.channel}|{self.topic}"]
        return scopes


def email_hash(index_key: bytes, address: str) -> str:
    return hmac.digest(index_key, f"email:{address.strip().lower()}".encode(), "sha256").hex()


def _in(name: str, count: int, style: str) -> str:
    """``IN (…)`` with one parameter per scope: the scopes are fixed for a question."""
    return "(" + ", ".join(_param(f"{name}{i}", style) for i in range(count)) + ")"


def _param(name: str, style: str) -> str:
    return f"%({name})s" if style == "psycopg" else f":{name}"


def _scope_params(question: Question) -> dict[str, Any]:
    params: dict[str, Any] = {f"a{i}": s for i, s in enumerate(question.gate_a)}
    params.update({f"b{i}": s for i, s in enumerate(question.gate_b)})
    params["purpose"] = question.purpose
    params["no_grant"] = not question.consent  # what gate A says when nothing is recorded
    return params


def _blocks(question: Question, hash_sql: str, style: str) -> str:
    objection = (
        f"OR (r.kind = 'objection' AND r.purpose = {_param('purpose', style)})" if question.purpose is not None else ""
    )
    purpose = f"OR r.purpose = {_param('purpose', style)}" if question.purpose is not None else ""
    return (
        "SELECT 1 FROM restriction_identities ri JOIN restrictions r ON r.id = ri.restriction_id "
        f"WHERE ri.identity_hash = {hash_sql} AND r.active "
        f"AND ((r.kind = 'restriction' AND (r.purpose IS NULL {purpose})) {objection})"
    )


def single_sql(question: Question, style: str) -> str:
    """One statement: may the identity whose hash is ``:h`` be contacted? (one row, 1 or 0)."""
    h = _param("h", style)

    def latest(gate: str, scopes: int) -> str:
        return (
            f"(SELECT granted FROM consent_state WHERE identity_hash = {h} AND scope IN {_in(gate, scopes, style)} "
            "ORDER BY at DESC, seq DESC LIMIT 1)"
        )

    gate_a = (
        f"AND coalesce({latest('a', len(question.gate_a))}, {_param('no_grant', style)})" if question.gate_a else ""
    )
    return (
        f"SELECT CASE WHEN NOT EXISTS ({_blocks(question, h, style)}) {gate_a} "
        f"AND coalesce({latest('b', len(question.gate_b))}, {_param('b_default', style)}) THEN 1 ELSE 0 END"
    )


def filter_sql(question: Question, style: str) -> list[str]:
    """Set-based: the positions in ``mailing_list (pos, h)`` that may be contacted, in order (the
    last statement's rows; those before it prepare).

    Each gate is the latest state per identity among its scopes (read through the scope-first
    index), joined to the list; the blocked identities are one more anti-join. PostgreSQL
    hash-joins the gates as CTEs; SQLite, which would scan a CTE once per address, gets them as
    temporary tables keyed by identity hash."""

    def latest(gate: str, scopes: int) -> str:
        return (
            f"SELECT identity_hash, granted FROM (SELECT identity_hash, granted, row_number() OVER "
            "(PARTITION BY identity_hash ORDER BY at DESC, seq DESC) AS n FROM consent_state "
            f"WHERE scope IN {_in(gate, scopes, style)}) AS ranked WHERE n = 1"
        )

    gates = {"gate_b": latest("b", len(question.gate_b))}
    if question.gate_a:
        gates["gate_a"] = latest("a", len(question.gate_a))
    join_a = "LEFT JOIN gate_a a ON a.identity_hash = l.h " if question.gate_a else ""
    where_a = f"AND coalesce(a.granted, {_param('no_grant', style)}) " if question.gate_a else ""
    blocked = _blocks(question, "l.h", style)
    select = (
        f"SELECT l.pos FROM mailing_list l LEFT JOIN gate_b b ON b.identity_hash = l.h {join_a}"
        f"WHERE coalesce(b.granted, {_param('b_default', style)}) {where_a}AND NOT EXISTS ({blocked}) ORDER BY l.pos"
    )
    if style == "psycopg":
        return ["WITH " + ", ".join(f"{name} AS ({sql})" for name, sql in gates.items()) + " " + select]
    prepare = [
        f"CREATE TEMPORARY TABLE {name} (identity_hash text PRIMARY KEY, granted) WITHOUT ROWID" for name in gates
    ]
    prepare += [f"INSERT INTO temp.{name} {sql}" for name, sql in gates.items()]
    return [*prepare, select]


class RawConsent:
    """The hand-written side on one connection: psycopg (autocommit) or sqlite3."""

    def __init__(self, db: psycopg.Connection[Any] | sqlite3.Connection, index_key: bytes, question: Question):
        self.db, self.index_key, self.question = db, index_key, question
        self.style = "psycopg" if isinstance(db, psycopg.Connection) else "sqlite"
        self.params = {**_scope_params(question), "b_default": True}
        self.single = single_sql(question, self.style)
        self.filter = filter_sql(question, self.style)

    def may_contact(self, address: str) -> bool:
        row = self.db.execute(self.single, {**self.params, "h": email_hash(self.index_key, address)}).fetchone()
        return bool(row and row[0])

    def filter_contactable(self, addresses: Sequence[str]) -> list[str]:
        hashes = [(pos, email_hash(self.index_key, a)) for pos, a in enumerate(addresses)]
        if isinstance(self.db, psycopg.Connection):
            with self.db.transaction():
                self.db.execute("CREATE TEMPORARY TABLE mailing_list (pos integer, h text) ON COMMIT DROP")
                with self.db.cursor().copy("COPY mailing_list (pos, h) FROM STDIN") as copy:
                    for row in hashes:
                        copy.write_row(row)
                self.db.execute("ANALYZE mailing_list")
                positions = self.db.execute(self.filter[-1], self.params).fetchall()
        else:
            db = self.db
            db.execute("BEGIN")  # one transaction: in autocommit every INSERT would be its own
            try:
                db.execute("CREATE TEMPORARY TABLE mailing_list (pos integer PRIMARY KEY, h text)")
                db.executemany("INSERT INTO mailing_list VALUES (?, ?)", hashes)
                for statement in self.filter[:-1]:
                    db.execute(statement, self.params)
                positions = db.execute(self.filter[-1], self.params).fetchall()
                for table in ("mailing_list", "gate_a", "gate_b"):
                    db.execute(f"DROP TABLE IF EXISTS temp.{table}")
            finally:
                db.execute("COMMIT")
        return [addresses[pos] for (pos,) in positions]
