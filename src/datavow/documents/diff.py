"""What changes in the privacy statement when the map changes: for review before publishing.

Both maps are written out as statements in the same language, split into sentences (each with
its section and the map paths of its block), and compared in order: a sentence that changed shows
as one removed and one added. A map is a file, or ``REV:path`` read from git.
"""

from __future__ import annotations

import difflib
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from datavow.datamap import LoadedMap, load_map
from datavow.datamap.source import read_yaml
from datavow.documents.errors import DocumentError
from datavow.documents.statement import Sentence, Statement, write_statement
from datavow.errors import ErrorKind
from datavow.language import language


@dataclass(frozen=True)
class Change:
    """A sentence that is only in the old statement (``removed``) or only in the new (``added``)."""

    change: str
    topic: str
    text: str
    sources: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {"change": self.change, "topic": self.topic, "text": self.text, "sources": list(self.sources)}


def statement_diff(old: Statement, new: Statement) -> list[Change]:
    """The sentences removed from ``old`` and added in ``new``, in reading order."""
    before, after = old.sentences(), new.sentences()
    matcher = difflib.SequenceMatcher(
        a=[(s.topic, s.text) for s in before], b=[(s.topic, s.text) for s in after], autojunk=False
    )
    changes: list[Change] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        changes += [_change("removed", s) for s in before[i1:i2]]
        changes += [_change("added", s) for s in after[j1:j2]]
    return changes


def _change(kind: str, sentence: Sentence) -> Change:
    return Change(kind, sentence.topic, sentence.text, sentence.sources)


def load_revision(spec: str, workdir: Path) -> LoadedMap:
    """A map from a file path, or from ``REV:path`` in the git repository around the current folder
    (copied, with the files it includes, into ``workdir``)."""
    if Path(spec).is_file() or ":" not in spec:
        return load_map(spec)
    revision, _, path = spec.partition(":")
    # The repository's layout is kept under workdir, so that includes find each other as they do in
    # the repository; nothing is ever written outside workdir.
    root = workdir.resolve()
    target = (root / path).resolve()
    if not target.is_relative_to(root) or target == root:
        target = root / Path(path).name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(_git_show(revision, target.relative_to(root).as_posix()), encoding="utf-8")
    raw = read_yaml(target)[0]  # within the loader's bounds; load_map reports what is wrong with it
    includes = raw.get("include") if isinstance(raw, dict) else None
    for include in includes if isinstance(includes, list) else []:
        copy = (target.parent / str(include)).resolve()
        if not copy.is_relative_to(root):
            continue  # outside the repository: load_map reports the include as missing
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_text(_git_show(revision, copy.relative_to(root).as_posix()), encoding="utf-8")
    return load_map(target)


def _git_show(revision: str, path: str) -> str:
    try:
        result = subprocess.run(
            ["git", "show", f"{revision}:{path}"], capture_output=True, text=True, check=False, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DocumentError(f"cannot run git to read {revision}:{path}: {exc}") from exc
    if result.returncode != 0:
        raise DocumentError(
            f"git cannot show {revision}:{path} — {result.stderr.strip() or 'unknown revision or path'}; "
            "give a path relative to the repository root, e.g. HEAD~1:datavow.yaml",
            kind=ErrorKind.NOT_FOUND,
            field="revision",
        )
    return result.stdout


def temporary_folder() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="datavow-diff-")


def compare_statements(old: str, new: str, language_code: str = "en", templates: Path | None = None) -> list[Change]:
    """The sentences of the statement that change from the map ``old`` to the map ``new`` (each a
    file, or ``REV:path`` read from git), both written in ``language_code`` with ``templates``."""
    code = language(language_code)
    with temporary_folder() as before, temporary_folder() as after:
        first = write_statement(load_revision(old, Path(before)), code, templates=templates)
        second = write_statement(load_revision(new, Path(after)), code, templates=templates)
    return statement_diff(first, second)


__all__ = ["Change", "compare_statements", "load_revision", "statement_diff"]
