"""The benchmarks keep working: each runs at a tiny size against the suite's own PostgreSQL.

Benchmarks are programs, not tests (docs/contributing.md): nothing here judges a time. What fails is a
benchmark that no longer runs, no longer reports one of its measurements, or finds datavow and its
hand-written SQL baseline no longer doing the same work (it then exits non-zero).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"

# What benchmarks/requests.py must report, in this order (issue 3, "Performance").
REQUEST_MEASUREMENTS = (
    "access, one person: median",
    "access, one person: p95",
    "erasure, one person: median",
    "erasure, one person: p95",
    "erasure, one person: erase step median",
    "access, library call, one tenant: median",
    "access via state store, one tenant: median",
    "erasure, library call, one tenant: median",
    "erasure via state store, one tenant: median",
    "batch erasure as one plan: time",
    "batch erasure as one plan: people/s",
    "access export, heavy person: peak RSS",
    "access export, heavy person: RSS growth",
    "access export, heavy person: time",
)

# What benchmarks/requests.py reports below the table: the state store's time over the library call.
STATE_STORE_ADDED = (
    "access via state store, over the library call",
    "erasure via state store, over the library call",
)

# What benchmarks/retention.py must report, in this order (issue 4, "Performance").
RETENTION_MEASUREMENTS = (
    "sweep throughput",
    "longest transaction",
    "longest transaction seen by the server",
    "sweep time",
)

# What benchmarks/consent.py must report for each backend, in this order (issue 5, "Performance").
CONSENT_MEASUREMENTS = (
    "may contact, warm cache: median",
    "may contact, warm cache: p99",
    "may contact, uncached: median",
    "may contact, uncached: p99",
    "mailing list filter: time",
)


def run_benchmark(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def printed_row(output: str, label: str) -> str | None:
    """The table row for ``label``, when it shows a number for datavow and for the raw SQL."""
    number = r"[0-9][0-9,.]*(?: [a-zA-Z]+|/s)"
    for line in output.splitlines():
        if re.fullmatch(rf"{re.escape(label)}\s+{number}\s+{number}\s+.*", line):
            return line
    return None


def test_requests_benchmark_runs_at_tiny_size(postgres_url: str, tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    done = run_benchmark("requests.py", "--tiny", "--url", postgres_url, "--json", str(results))

    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    missing = [label for label in REQUEST_MEASUREMENTS if printed_row(done.stdout, label) is None]
    assert not missing, f"rows not printed: {missing}\n{done.stdout}"
    reported = json.loads(results.read_text())
    assert [m["name"] for m in reported["measurements"]] == list(REQUEST_MEASUREMENTS)
    assert all(m["datavow"] is not None and m["raw"] is not None for m in reported["measurements"])
    assert reported["problems"] == []
    added = {a["name"]: a for a in reported["added_by_state_store"]}
    assert list(added) == list(STATE_STORE_ADDED)
    for name, a in added.items():
        assert a["through_store"] > 0 and a["library"] > 0
        assert any(line.startswith(name) for line in done.stdout.splitlines()), (name, done.stdout)
    assert reported["people"] > 0 and reported["rows"] > 0
    assert reported["details"]["memory"]["exported_rows"] > reported["memory_rows"]


def test_export_memory_benchmark_runs_at_tiny_size(postgres_url: str) -> None:
    done = run_benchmark("export_memory.py", "--rows", "1000", "--url", postgres_url)

    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert "built 1,000 rows for one person on postgresql" in done.stdout
    for label in ("raw SELECT -> CSV file", "datavow export package", "ratio (datavow / raw)"):
        assert any(line.startswith(label) for line in done.stdout.splitlines()), (label, done.stdout)


def test_retention_benchmark_runs_at_tiny_size(postgres_url: str, tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    done = run_benchmark("retention.py", "--tiny", "--url", postgres_url, "--json", str(results))

    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    missing = [label for label in RETENTION_MEASUREMENTS if printed_row(done.stdout, label) is None]
    assert not missing, f"rows not printed: {missing}\n{done.stdout}"
    reported = json.loads(results.read_text())
    assert [m["name"] for m in reported["measurements"]] == list(RETENTION_MEASUREMENTS)
    assert reported["problems"] == []
    assert (reported["rows"], reported["due"]) == (20_000, 10_000)
    sides = {side["name"]: side for side in reported["sides"]}
    assert set(sides) == {"datavow", "raw SQL (id-range)"}
    # Both swept everything that was due, each in more than one transaction.
    assert all(side["complete"] and side["deleted"] == 10_000 and side["chunks"] > 1 for side in sides.values())


def test_consent_benchmark_runs_at_tiny_size(postgres_url: str, tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    done = run_benchmark("consent.py", "--tiny", "--url", postgres_url, "--json", str(results))

    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    for label in CONSENT_MEASUREMENTS:  # once per backend
        rows = [line for line in done.stdout.splitlines() if line.startswith(label)]
        assert len(rows) == 2 and all(printed_row(row, label) for row in rows), (label, done.stdout)
    reported = json.loads(results.read_text())
    assert reported["problems"] == []
    assert [b["backend"] for b in reported["backends"]] == ["postgresql", "sqlite"]
    for backend in reported["backends"]:
        assert [m["name"] for m in backend["measurements"]] == list(CONSENT_MEASUREMENTS)
        # Every event went through record_events; the list holds people who may and who may not be e-mailed.
        assert backend["events"] == 20_000 and backend["details"]["state_rows"] > 2_000
        assert 0 < backend["contactable"] < backend["list_size"] == 2_000


def test_startup_benchmark_measures_help_and_a_dry_run(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    done = run_benchmark("startup.py", "--runs", "1", "--json", str(results))

    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    reported = json.loads(results.read_text())
    assert [result["command"] for result in reported] == ["datavow --help", "dry run"]
    help_run, dry_run = reported
    assert 0 < help_run["fastest_s"] and 0 < help_run["modules"] < dry_run["modules"]
    assert "sqlalchemy" in dry_run["by_package_ms"]
