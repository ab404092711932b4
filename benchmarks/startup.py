"""How long the ``datavow`` command takes to start: Python's start-up and imports, by ``python -X importtime``.

    python benchmarks/startup.py                  # builds the Mira Network demo in a temporary folder
    python benchmarks/startup.py --runs 3 --json results.json

Each command runs ``--runs`` times in a fresh process; the import time of a run is the sum of the
top-level cumulative column (site and every module, as the issue counts it). It prints the fastest
and the median run of each command, how many modules it imported, and where the fastest run of the
dry run spent its time, by package. On a loaded machine the fastest run is the closest to an idle
one; timings of processes sharing a CPU vary by two to three times.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

#: The issue's target: Python start-up and imports of ``--help`` and of a dry run, in seconds.
TARGET = 0.3

#: This checkout's datavow, whichever one is installed.
_ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent / "src")}

_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)$", re.MULTILINE)


def imports(args: list[str]) -> tuple[float, int, Counter[str]]:
    """One run of ``datavow ARGS``: its import time in seconds, the modules, and self time by package."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "datavow", *args],
        capture_output=True,
        text=True,
        check=True,
        env=_ENV,
    )
    total, modules, by_package = 0, 0, Counter[str]()
    for own, cumulative, indent, name in _LINE.findall(done.stderr):
        modules += 1
        if len(indent) == 1:
            total += int(cumulative)
        parts = name.split(".")
        by_package[".".join(parts[:2]) if parts[0] == "datavow" else parts[0]] += int(own)
    return total / 1e6, modules, by_package


@dataclass(frozen=True)
class Startup:
    command: str
    fastest_s: float
    median_s: float
    modules: int
    by_package_ms: dict[str, float]


def measure(name: str, args: list[str], runs: int) -> Startup:
    results = [imports(args) for _ in range(runs)]
    fastest = min(results, key=lambda result: result[0])
    return Startup(
        command=name,
        fastest_s=round(fastest[0], 4),
        median_s=round(statistics.median(result[0] for result in results), 4),
        modules=fastest[1],
        by_package_ms={package: round(us / 1000, 1) for package, us in fastest[2].most_common(12)},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="runs of each command (default 9)")
    parser.add_argument("--dir", type=Path, help="a folder holding the demo already (default: build one)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = options.dir or Path(scratch) / "demo"
        map_path = folder / "mira-network" / "datavow.yaml"
        if not map_path.exists():
            subprocess.run(
                [sys.executable, "-m", "datavow", "demo", str(folder), "--company", "mira-network", "--scale", "0.2"],
                check=True,
                capture_output=True,
                env=_ENV,
            )
        dry_run = ["request", "access", "--dry-run", "--map", str(map_path), "--email", "x@example.com"]
        results = [measure("datavow --help", ["--help"], options.runs), measure("dry run", dry_run, options.runs)]
    print(f"{'command':<16} {'fastest':>9} {'median':>9} {'modules':>8}   target  met?")
    for result in results:
        met = "yes" if result.fastest_s < TARGET else "NO"
        print(
            f"{result.command:<16} {result.fastest_s:>8.3f}s {result.median_s:>8.3f}s "
            f"{result.modules:>8}   < {TARGET}s {met}"
        )
    print("the dry run's fastest run, own import time by package (ms):")
    print("  " + ", ".join(f"{package} {ms}" for package, ms in results[1].by_package_ms.items()))
    if options.json:
        options.json.write_text(json.dumps([asdict(result) for result in results], indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
