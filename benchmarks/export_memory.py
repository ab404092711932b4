"""Memory and time of an access export for one person with many rows, against a raw baseline.

Builds a table where one person holds ``--rows`` rows (and others a tenth as many), then, each in a
fresh process so that peak memory is its own:

- the baseline: a plain ``SELECT`` of the person's rows through the driver's cursor (server-side on
  PostgreSQL), streamed to a CSV file;
- datavow: plan, discovery and the encrypted export package (JSON + CSV + letter + manifest).

It prints each one's time and peak resident memory (``VmHWM``, see rss.py) and the ratios. Run::

    python benchmarks/export_memory.py                     # 1,000,000 rows in a temporary SQLite file
    python benchmarks/export_memory.py --rows 1000         # what CI runs, to keep it working
    python benchmarks/export_memory.py --url postgresql+psycopg://me@localhost/bench --rows 200000

With ``--url`` the table ``bench_export_events`` is created in that database and dropped afterwards.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from rss import peak_rss_bytes  # this folder's helper: benchmarks run as scripts

TABLE = "bench_export_events"
PERSON = "person@example.com"
URL_VARIABLE = "DATAVOW_BENCH_URL"  # the map reads the URL from here: no password in a file

MAP = f"""
organization: {{name: Benchmark, country: BE, contact: {{email: privacy@bench.example}},
               supervisory_authority: {{name: Data Protection Authority, country: BE}}}}
subjects: {{customer: Customers}}
purposes:
  service: {{name: Providing the service, basis: contract, subjects: [customer],
             categories: [user], retention: 1 year}}
systems:
  bench:
    url: ${{{URL_VARIABLE}}}
    tables:
      {TABLE}:
        subject: customer
        identity: {{email: email}}
        erase: delete
        fields: {{id: ~, email: user.contact.email, at: user.behavior, ip: user.device.ip_address,
                 note: user.content.private}}
"""


def peak_rss_mib() -> float:
    return peak_rss_bytes() / (1024 * 1024)


# --------------------------------------------------------------------------- the data


def build(url: str, rows: int) -> None:
    """The table, with ``rows`` rows for the person and a tenth as many for other people."""
    engine = sa.create_engine(url)
    others = max(rows // 10, 1)
    total = rows + others
    # Row i belongs to the person for i <= rows; the data is generated inside the database.
    email = f"CASE WHEN x <= {rows} THEN '{PERSON}' ELSE 'other' || (x % 1000) || '@example.com' END"
    ip = "'10.' || (x % 250) || '.' || (x % 7) || '.1'"
    note = "'Call about order ' || x || ': <b>delivered</b>, thanks & bye'"
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {TABLE}")
        conn.exec_driver_sql(
            f"CREATE TABLE {TABLE} (id INTEGER PRIMARY KEY, email VARCHAR(200), at TIMESTAMP, "
            "ip VARCHAR(45), note VARCHAR(200))"
        )
        # sa.text, not the driver's SQL: it escapes the modulo operator for drivers that use %s.
        if engine.dialect.name == "postgresql":
            conn.execute(
                sa.text(
                    f"INSERT INTO {TABLE} SELECT x, {email}, timestamp '2024-01-01' + x * interval '1 second', "
                    f"{ip}, {note} FROM generate_series(1, {total}) AS x"
                )
            )
        elif engine.dialect.name == "sqlite":
            conn.execute(
                sa.text(
                    f"WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < {total}) "
                    f"INSERT INTO {TABLE} SELECT x, {email}, datetime('2024-01-01', '+' || x || ' seconds'), "
                    f"{ip}, {note} FROM n"
                )
            )
        else:
            raise SystemExit(f"building the data on {engine.dialect.name} is not supported: use SQLite or PostgreSQL")
        conn.exec_driver_sql(f"CREATE INDEX {TABLE}_email ON {TABLE} (email)")
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f"VACUUM ANALYZE {TABLE}")
    engine.dispose()


def drop(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {TABLE}")
    engine.dispose()


# --------------------------------------------------------------------------- the two runs


def run_baseline(url: str, folder: Path) -> dict[str, Any]:
    """A plain SELECT of the person's rows through the driver's own cursor (server-side on
    PostgreSQL), streamed into a CSV file: the least any export does."""
    engine = sa.create_engine(url)
    start_rss = peak_rss_mib()
    started = time.perf_counter()
    rows = 0
    raw = engine.raw_connection()
    try:
        postgres = engine.dialect.name == "postgresql"
        driver = raw.driver_connection
        assert driver is not None  # a connection checked out of the pool is open
        cursor = driver.cursor(name="baseline") if postgres else raw.cursor()
        cursor.execute(f"SELECT * FROM {TABLE} WHERE email = {'%s' if postgres else '?'}", (PERSON,))
        with (folder / "baseline.csv").open("w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow([column[0] for column in cursor.description])
            while batch := cursor.fetchmany(2000):
                writer.writerows(batch)
                rows += len(batch)
        cursor.close()
    finally:
        raw.close()
    return {"rows": rows, "seconds": time.perf_counter() - started, "start_mib": start_rss, "peak_mib": peak_rss_mib()}


def run_export(url: str, folder: Path) -> dict[str, Any]:
    """Plan, discovery and the encrypted export package, as a request runs them."""
    from datavow.datamap import load_map
    from datavow.plan import compile_plan, discover, parse_identities
    from datavow.requests.export import ExportInfo, export_access

    os.environ[URL_VARIABLE] = url
    (folder / "datavow.yaml").write_text(MAP)
    loaded = load_map(folder / "datavow.yaml")
    engine = sa.create_engine(url)
    identities = {"email": [PERSON]}
    start_rss = peak_rss_mib()
    started = time.perf_counter()
    plan = compile_plan(loaded, identities)
    with ExitStack() as stack:
        connections = {"bench": stack.enter_context(engine.connect())}
        found = discover(loaded, plan, parse_identities(loaded, identities), connections)
    discovered = time.perf_counter()
    package = export_access(
        loaded,
        found,
        {"bench": engine},
        folder / "export.zip.dvs",
        key=os.urandom(32),
        request=ExportInfo("BENCH-1", datetime.now(UTC), identities),
        expires_at=datetime.now(UTC) + timedelta(days=30),
    )
    finished = time.perf_counter()
    data = {f.name: f.size for f in package.files if f.name.startswith("data/")}
    return {
        "rows": package.rows,
        "seconds": finished - started,
        "discovery_seconds": discovered - started,
        "start_mib": start_rss,
        "peak_mib": peak_rss_mib(),
        "package_mib": package.size / 2**20,
        "json_mib": sum(size for name, size in data.items() if name.endswith(".json")) / 2**20,
        "csv_mib": sum(size for name, size in data.items() if name.endswith(".csv")) / 2**20,
    }


def in_fresh_process(phase: str, url: str, folder: Path) -> dict[str, Any]:
    """Run one phase in its own interpreter, so that its peak memory is its own."""
    env = {**os.environ, URL_VARIABLE: url}
    done = subprocess.run(
        [sys.executable, __file__, "--phase", phase, "--folder", str(folder)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"the {phase} run failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows the person holds (default 1,000,000)")
    parser.add_argument("--url", help="a PostgreSQL URL (default: a temporary SQLite file)")
    parser.add_argument("--phase", choices=["baseline", "export"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase:  # a child: one run, its result as a JSON line
        run = run_baseline if args.phase == "baseline" else run_export
        print(json.dumps(run(os.environ[URL_VARIABLE], args.folder)))
        return

    with tempfile.TemporaryDirectory(prefix="datavow-bench-") as temp:
        folder = Path(temp)
        url = args.url or f"sqlite:///{folder / 'bench.db'}"
        started = time.perf_counter()
        build(url, args.rows)
        print(
            f"built {args.rows:,} rows for one person on {sa.make_url(url).get_backend_name()} "
            f"in {time.perf_counter() - started:.1f} s"
        )
        try:
            baseline = in_fresh_process("baseline", url, folder)
            export = in_fresh_process("export", url, folder)
        finally:
            if args.url:
                drop(url)
    assert baseline["rows"] == export["rows"] == args.rows, (baseline["rows"], export["rows"])
    print(f"{'':28}{'time':>10}{'RSS at start':>15}{'peak RSS':>12}{'growth':>10}")
    for name, result in (("raw SELECT -> CSV file", baseline), ("datavow export package", export)):
        growth = result["peak_mib"] - result["start_mib"]
        print(
            f"{name:28}{result['seconds']:>8.2f} s{result['start_mib']:>11.0f} MiB{result['peak_mib']:>8.0f} MiB"
            f"{growth:>6.0f} MiB"
        )
    print(
        f"{'ratio (datavow / raw)':28}{export['seconds'] / baseline['seconds']:>9.1f}x"
        f"{'':15}{export['peak_mib'] / baseline['peak_mib']:>11.1f}x"
    )
    print(
        f"export: discovery {export['discovery_seconds']:.2f} s; package {export['package_mib']:.1f} MiB encrypted, "
        f"holding {export['json_mib']:.1f} MiB JSON and {export['csv_mib']:.1f} MiB CSV (uncompressed); "
        f"{args.rows / export['seconds']:,.0f} rows/s"
    )


if __name__ == "__main__":
    main()
