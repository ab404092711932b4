"""The review notes a Fides import opens its fragment with: what a person must look at before relying on it."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path


def review_header(
    sources: Sequence[Path], datasets: Sequence[str], subject: str | None, notes: Mapping[str, list[str]]
) -> list[str]:
    """The fragment's opening comment, line by line: where it came from, then one item per topic of
    ``notes`` (topic -> the items the import noted) that has any."""
    keys = ", ".join(datasets)
    lines = [
        f"datavow data map fragment, imported from the Fides dataset file(s) {', '.join(map(str, sources))}",
        f"(dataset{'s' if len(datasets) > 1 else ''}: {keys}) by datavow's Fides import.",
        "Add this file to datavow.yaml's `include:` list. Review before relying on it:",
    ]
    if subject is None:
        subjects = "no subject was given to the import; set `subject:` on each table holding personal data"
    else:
        subjects = (
            f"every table holding personal data got `subject: {subject}`; change it where a table is about other people"
        )
    urls = notes.get("url", [])
    items = [
        f"connection: set {', '.join(urls)} in the environment when datavow connects (the URL stays out of this file)"
        if urls
        else "",
        "erasure: Fides' default masking (null_rewrite) became `erase: nullify` on personal fields and "
        "`erase: anonymize` on their tables; choose delete, hash or pseudonymize where that is wrong, "
        "and give each table its `purposes:`",
        f"subjects: {subjects}",
    ]
    items += [
        f"{what}: {', '.join(notes[topic])}" + (f" — {todo}" if todo else "")
        for topic, what, todo in _REVIEW
        if notes.get(topic)
    ]
    return lines + [
        line
        for item in items
        if item
        for line in textwrap.wrap(item, 96, initial_indent="  - ", subsequent_indent="    ", break_on_hyphens=False)
    ]


# What the review notes say about each topic: (topic, what its items are, what to do about them).
_REVIEW = [
    (
        "kept",
        "kept as keys, so still personal after anonymize",
        "delete those rows instead where nothing else needs them",
    ),
    ("subjects", "Fides data subjects", "declare them under `subjects:` with `taxonomy:`"),
    ("uses", "Fides data uses", "declare purposes with their legal basis and `use:`"),
    (
        "categories",
        "categories outside fideslang's default taxonomy",
        "declare them under `taxonomy.categories:` in datavow.yaml",
    ),
    ("broad", "categories given to a whole dataset or collection, not carried over", "give them to its fields"),
    ("identities", "identity types declared here", "remove them here if datavow.yaml declares them already"),
    (
        "guessed",
        "references whose key side was guessed (Fides does not say it)",
        "check them against the database's foreign keys",
    ),
    (
        "elsewhere",
        "references to datasets not imported here",
        "import their files together with this one, or load_map reports the missing system",
    ),
    ("by_hand", "keys held by tables of datasets not imported here", "add these references to those systems"),
    (
        "linked",
        "references written as links (owner: false): Fides finds these rows from the other table, but they "
        "identify people of their own",
        "make one owner: true only where the row really is the other table's person's",
    ),
    (
        "owners",
        "tables Fides reaches from several tables, whose owner datavow's default reading decides",
        "set owner: true on the reference to the table whose person the rows belong to",
    ),
    (
        "identity_category",
        "identity columns Fides gave no personal category, given one here so that erasure clears them",
        "check the category",
    ),
    (
        "hashed",
        "identity columns of tables whose primary key Fides does not give, erased with a keyed hash (it fits a key "
        "column)",
        "declare the table's primary_key and choose nullify where the column may be NULL",
    ),
    ("merged", "datasets imported as one system (one database)", ""),
    ("nested", "nested fields left out (not columns)", ""),
    (
        "masking",
        "Fides masking strategies not carried over (nullified instead)",
        "choose hash, pseudonymize or fixed where the data must stay linkable",
    ),
    ("ignored", "ignored (keys of older fideslang versions, other Fides resources)", ""),
]
