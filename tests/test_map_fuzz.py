"""Hostile and sloppy maps: whatever the text, loading it gives a map or a MapError, quickly.

Real maps (the demo companies' and the sample databases') are mutated line by line and value by
value, and hostile YAML is generated outright (alias bombs, deep nesting, tags, impossible dates,
huge numbers, odd characters, broken syntax). The runs are derandomized, so CI sees the same cases
each time.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datavow import MapError, load_map
from datavow.datamap.composer import MAX_ALIAS_VALUES, MAX_DEPTH, MAX_VALUES
from datavow.datamap.source import MAX_BYTES

ROOT = Path(__file__).resolve().parent.parent
SEEDS = sorted((ROOT / "src" / "datavow" / "demo" / "maps").glob("*.yaml")) + sorted(
    (ROOT / "tests" / "data" / "samples").glob("*/datavow.yaml")
)
SEED_LINES = [path.read_text(encoding="utf-8").splitlines() for path in SEEDS]

# Values a careless or hostile hand writes where a value belongs.
HOSTILE_VALUES = [
    "2026-02-30",
    "2026-13-01",
    "0000-01-01",
    "2024-01-01T10:00:00+99:00",
    "!!int abc",
    "!!float abc",
    "!!bool maybe",
    "!!null value",
    "!!timestamp yesterday",
    "!!binary AAAA",
    "!!set {a, b}",
    "!!omap [a: 1]",
    "!!python/object:os.system ls",
    "!unknown x",
    "!!str 12",
    "9" * 5000,
    "-" + "9" * 30,
    "0x" + "f" * 90,
    "1" + ":1" * 60,
    ".inf",
    "-.inf",
    ".nan",
    "1e999",
    "~",
    "''",
    '""',
    "[]",
    "{}",
    "[[[[",
    "{a: [}",
    "&a x",
    "*a",
    "*missing",
    "&r [*r]",
    "<<",
    "=",
    "yes",
    "-1",
    "0",
    '"\\u0000"',
    '"\\ud800"',
    "\u202eevil",
    "\U0001f4af",
    "[/x]",
    "[red]jane",
    "${UNSET_VARIABLE_FOR_FUZZING}",
    "sqlite:///:memory:",
    "postgresql://u:p@h:99999999999/db",
    "'unterminated",
    "|\n  block\n text",
    "\t tab",
]
HOSTILE_LINES = [
    "<<: *a",
    "? [complex, key]",
    "? {a: 1}\n: 1",
    "---",
    "...",
    "%YAML 1.1",
    "%TAG ! tag:example.com,2000:",
    "organization: x",
    "include: [/dev/zero]",
    "include: [.]",
    "include: [missing.yaml]",
    "systems: {a: {url: 'x', tables: {t: {fields: {f: {erase: 12}}}}}}",
    "\x07",
    "\ufeff",
    "- item",
    "  : no key",
    "a: b: c",
]


@st.composite
def mutated_map(draw: st.DrawFn) -> str:
    """A real map with a few of its lines or values broken."""
    lines = list(draw(st.sampled_from(SEED_LINES)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(lines) - 1))
        line = lines[at]
        how = draw(st.sampled_from(["value", "value", "line", "delete", "duplicate", "indent", "text"]))
        if how == "value" and ":" in line:
            key = line.split(":", 1)[0]
            lines[at] = f"{key}: {draw(st.sampled_from(HOSTILE_VALUES))}"
        elif how == "line":
            lines.insert(at, " " * draw(st.integers(0, 8)) + draw(st.sampled_from(HOSTILE_LINES)))
        elif how == "delete":
            del lines[at]
        elif how == "duplicate":
            lines.insert(at, line)
        elif how == "indent":
            lines[at] = " " * draw(st.integers(0, 3)) + line.lstrip(" ")[draw(st.integers(0, 2)) :]
        else:
            cut = draw(st.integers(0, len(line)))
            lines[at] = line[:cut] + draw(st.text(max_size=8)) + line[cut:]
        if not lines:
            lines = [""]
    return "\n".join(lines) + "\n"


def _laughs(width: int, depth: int) -> str:
    rows = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    rows += [f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * width) + "]" for n in range(1, depth + 1)]
    return "\n".join(rows) + "\n"


@st.composite
def hostile_yaml(draw: st.DrawFn) -> str:
    """YAML written to hurt a loader: aliases, nesting, tags, numbers, odd characters, broken syntax."""
    kind = draw(st.sampled_from(["laughs", "nesting", "block", "values", "recursive", "text"]))
    if kind == "laughs":
        return _laughs(draw(st.integers(2, 12)), draw(st.integers(1, 9)))
    if kind == "nesting":
        depth = draw(st.integers(1, 3 * MAX_DEPTH))
        opener, closer = draw(st.sampled_from([("[", "]"), ("{a: ", "}"), ("[{b: ", "}]")]))
        close = draw(st.booleans())
        return "organization: " + opener * depth + "x" + (closer * depth if close else "") + "\n"
    if kind == "block":
        depth = draw(st.integers(1, 2 * MAX_DEPTH))
        return "".join(" " * n + f"k{n}:\n" for n in range(depth)) + " " * depth + "v\n"
    if kind == "values":
        entries = draw(st.lists(st.sampled_from(HOSTILE_VALUES), min_size=1, max_size=6))
        return "organization:\n" + "".join(f"  k{n}: {value}\n" for n, value in enumerate(entries))
    if kind == "recursive":
        return draw(st.sampled_from(["a: &x [*x]\n", "a: &x {b: *x}\n", "&x [*x]\n", "a: &x\n  b: [1, *x]\n"]))
    return draw(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))


@contextmanager
def _map_file() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="datavow-fuzz-") as folder:
        yield Path(folder) / "datavow.yaml"


def _load(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_map(path)
    except MapError as exc:
        assert exc.problems, "a MapError names at least one problem"
        for problem in exc.problems:
            assert problem.location is None or problem.location.line >= 1


FUZZ = settings(
    max_examples=1500,
    deadline=2000,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@FUZZ
@given(text=mutated_map())
def test_a_mutated_real_map_loads_or_is_a_map_error(text: str) -> None:
    with _map_file() as path:
        _load(path, text)


@settings(FUZZ, max_examples=1000)
@given(text=hostile_yaml())
def test_hostile_yaml_is_a_map_error_never_a_crash(text: str) -> None:
    with _map_file() as path:
        _load(path, text)


def _refused_quickly(tmp_path: Path, text: str) -> MapError:
    """The MapError loading ``text`` gives, which must come in under a second: the fastest of three
    tries counts, so that a machine busy with other work does not fail the test."""
    path = tmp_path / "datavow.yaml"
    path.write_text(text, encoding="utf-8")
    took = []
    for _ in range(3):
        started = time.monotonic()
        with pytest.raises(MapError) as caught:
            load_map(path)
        took.append(time.monotonic() - started)
    assert min(took) < 1.0, took
    return caught.value


def test_a_billion_laughs_is_refused_in_under_a_second(tmp_path: Path) -> None:
    bomb = _laughs(120, 12)  # 120**13 strings once expanded, in 8 KB
    assert 8_000 <= len(bomb.encode()) <= 9_000
    error = _refused_quickly(tmp_path, bomb)
    (problem,) = error.problems
    assert problem.location is not None and problem.location.line > 1
    assert f"more than {MAX_ALIAS_VALUES:,} values" in problem.message


def test_a_few_aliases_still_work(tmp_path: Path) -> None:
    path = tmp_path / "datavow.yaml"
    path.write_text(
        "organization: &org {name: Shop bv, country: BE, contact: {email: privacy@shop.example}}\nx-copy: *org\n",
        encoding="utf-8",
    )
    with pytest.raises(MapError) as caught:
        load_map(path)
    (problem,) = caught.value.problems
    assert problem.message == "unknown key 'x-copy'"  # the alias was read; only the key is wrong


def test_nesting_past_the_bound_is_refused_at_its_place(tmp_path: Path) -> None:
    text = "organization:\n  name: " + "[" * 100_000 + "\n"
    problem = _refused_quickly(tmp_path, text).problems[0]
    assert str(problem.location).endswith(f":2:{9 + MAX_DEPTH - 2}")  # under two mappings
    assert f"deeper than {MAX_DEPTH} levels" in problem.message


def test_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    (problem,) = _refused_quickly(tmp_path, "organization: &x\n  name: [1, *x]\n").problems
    assert str(problem.location).endswith(":2:13") and "*x is inside the value it names" in problem.message


def test_a_document_of_too_many_values_is_refused_when_it_passes_the_bound(tmp_path: Path) -> None:
    text = "organization: [" + "1, " * (2 * MAX_VALUES) + "]\n"  # 600 KB: far from the size bound
    (problem,) = _refused_quickly(tmp_path, text).problems
    assert str(problem.location).endswith(f":1:{16 + 3 * (MAX_VALUES - 3)}")  # the root, its key and the list count
    assert f"more than {MAX_VALUES:,} values" in problem.message


def test_a_file_past_the_size_bound_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    text = "# " + "x" * MAX_BYTES + "\n"
    (problem,) = _refused_quickly(tmp_path, text).problems
    assert str(problem.location).endswith(":1:1") and "larger than" in problem.message


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("2026-02-30", "'2026-02-30' is not a date: day is out of range for month"),
        ("2026-13-01", "'2026-13-01' is not a date: month must be in 1..12"),
        ("!!int abc", "'abc' is not a whole number"),
        ("!!bool maybe", "'maybe' is not true or false"),
        ("!unknown x", "the YAML tag '!unknown' is not supported in a data map"),
        ("!!binary AAAA", "the YAML tag '!!binary' is not supported in a data map"),
        ("9" * 5000, "is a number too long to be read"),
        ("99999999999999999999", "does not fit in 64 bits"),
    ],
)
def test_a_value_that_cannot_be_read_is_a_problem_at_its_place(tmp_path: Path, value: str, words: str) -> None:
    (problem,) = _refused_quickly(tmp_path, f"organization:\n  name: Shop\n  country: {value}\n").problems
    assert str(problem.location).endswith(":3:12")
    assert words in problem.message


def test_a_syntax_error_is_placed_by_line_and_column_never_by_offset(tmp_path: Path) -> None:
    (control,) = _refused_quickly(tmp_path, "organization:\n  name: Sh\x07op\n").problems
    assert str(control.location).endswith(":2:11") and "U+0007" in control.message
    assert "position" not in control.message
    (broken,) = _refused_quickly(tmp_path, "organization:\n  name: 'Shop\n").problems
    assert broken.location is not None and broken.location.line >= 2


def test_the_bounds_are_documented_as_they_are() -> None:
    text = (ROOT / "docs" / "datamap.md").read_text(encoding="utf-8")
    assert f"at most {MAX_BYTES // 2**20} MiB" in text
    assert f"at most {MAX_DEPTH}\n  levels" in text or f"at most {MAX_DEPTH} levels" in text
    assert f"at most {MAX_ALIAS_VALUES:,} values" in text
    assert f"holds at most {MAX_VALUES:,}\n  values" in text


def test_an_include_that_is_not_a_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.yaml")  # reading it would wait for a writer for ever
    text = "include: [pipe.yaml, ., /dev/zero]\n"
    problems = [p for p in _refused_quickly(tmp_path, text).problems if "is not a file" in p.message]
    assert [str(p.location).rsplit(":", 2)[1:] for p in problems] == [["1", "11"], ["1", "22"], ["1", "25"]]
