"""A partitioned table on PostgreSQL: its partitions belong to the parent the map declares, in drift
(each partition was reported as an undeclared table) and in requests (rows are found and erased
through the parent)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from datavow.check import check_map
from tests.faults import erase_person, open_map

TABLES = """\
      customers:
        subject: customer
        identity: {{email: email}}
        erase: delete
        fields:
          id: ~
          email: {{category: user.contact.email, erase: hash}}
      visits:
        subject: customer
        primary_key: [id, seen_at]
        references: {{customer_id: customers.id}}
        erase: delete
        fields: {{id: ~, customer_id: ~, seen_at: ~}}
"""

SCHEMA = [
    "CREATE TABLE customers (id integer PRIMARY KEY, email varchar(254) NOT NULL)",
    "CREATE TABLE visits (id integer NOT NULL, customer_id integer NOT NULL REFERENCES customers(id), "
    "seen_at timestamp NOT NULL, PRIMARY KEY (id, seen_at)) PARTITION BY RANGE (seen_at)",
    "CREATE TABLE visits_2025 PARTITION OF visits FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')",
    "CREATE TABLE visits_2026 PARTITION OF visits FOR VALUES FROM ('2026-01-01') TO ('2027-01-01') "
    "PARTITION BY RANGE (seen_at)",  # a partition that is partitioned again
    "CREATE TABLE visits_2026_h1 PARTITION OF visits_2026 FOR VALUES FROM ('2026-01-01') TO ('2026-07-01')",
    "CREATE TABLE visits_2026_h2 PARTITION OF visits_2026 FOR VALUES FROM ('2026-07-01') TO ('2027-01-01')",
    "CREATE TABLE stray (id integer PRIMARY KEY)",  # a real undeclared table is still reported
    "INSERT INTO customers VALUES (1, 'alice@example.com'), (2, 'bob@example.com')",
    "INSERT INTO visits VALUES (1, 1, '2025-03-01'), (2, 1, '2026-02-01'), (3, 2, '2025-03-01'), (4, 2, '2026-08-01')",
]


def test_partitions_belong_to_their_declared_parent(
    tmp_path: Path, postgres_url: str, request: pytest.FixtureRequest
) -> None:
    setup = sa.create_engine(postgres_url)
    with setup.begin() as conn:
        for statement in SCHEMA:
            conn.execute(sa.text(statement))
    setup.dispose()
    loaded, engine = open_map(tmp_path, TABLES, postgres_url, request)

    undeclared = [f.target for f in check_map(loaded).findings if f.rule == "drift-undeclared-table"]
    assert undeclared == ["shop.stray"]

    result = erase_person(loaded, engine, "alice@example.com")
    assert result.complete, result.systems
    assert result.step("shop.visits").deleted == 2
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT id FROM visits ORDER BY id")).scalars().all() == [3, 4]
        assert conn.execute(sa.text("SELECT id FROM customers")).scalars().all() == [2]
