"""How the importer erases each personal column of a Fides collection: kept where a key or a
reference needs it, hashed where an identity sits in a table without a key, else Fides' masking
where datavow has the same strategy."""

from __future__ import annotations

from collections.abc import Callable

from fideslang.models import DatasetField

from datavow.interop.fides_collection import Collection
from datavow.interop.fragment import FieldErase, FragmentField, FragmentIdentity

#: Adds an item under a topic of the fragment's review notes.
Note = Callable[[str, str], None]

# The category an identity column gets when Fides gave it none of a person's (e.g. only
# system.operations): the column finds the person, so it is their data and must be erased.
IDENTITY_CATEGORIES = {"email": "user.contact.email", "phone": "user.contact.phone_number"}


def identity_category(kind: str, declared: FragmentIdentity | None, result: FragmentField) -> str:
    """An identity column Fides gave no personal category: the person is found by it, so it is
    their data and erasure must clear it. It takes its identity type's category, which is returned."""
    category = IDENTITY_CATEGORIES.get(kind) or (declared.category if declared else None) or "user.unique_id"
    result.categories = [category]
    fides = f"Fides: {result.comment.removeprefix('Fides: ')}" if result.comment else "no category in Fides"
    result.comment = f"{fides}; an identity ({kind}), so personal here"
    return category


def field_erasure(
    info: Collection,
    name: str,
    data_field: DatasetField,
    result: FragmentField,
    *,
    identity: bool,
    holders: list[str],
    note: Note,
) -> FieldErase:
    """How a personal column is erased: kept when it is a key or other rows refer to it, else by Fides'
    masking where datavow has the same strategy. ``note`` collects what the reviewer must look at."""
    label = f"{info.collection.name}.{name}"
    primary_key = info.primary_key
    if name in primary_key:
        note("kept", label)
        return FieldErase(
            "keep",
            ("primary key" if len(primary_key) == 1 else "part of the primary key")
            + " of a row that anonymize keeps; a key cannot be NULL"
            + (f"; referred to by {', '.join(holders)}" if holders else ""),
        )
    if holders:
        note("kept", label)
        return FieldErase("keep", f"referred to by {', '.join(holders)}: clearing it would cut those rows off")
    meta = data_field.fides_meta
    if meta is not None and meta.read_only:
        return FieldErase("keep", "read-only in Fides")
    override = meta.masking_strategy_override if meta is not None else None
    if identity and not primary_key and (override is None or override.strategy == "null_rewrite"):
        # Fides erases nothing in a collection without a primary key; datavow must, but cannot
        # tell whether the column is part of the database's key (NOT NULL): a keyed hash fits
        # either way, and no longer matches the person.
        note("hashed", label)
        return FieldErase("hash", "an identity in a table whose key Fides does not give")
    if override is None or override.strategy == "null_rewrite":
        return FieldErase("nullify")
    value = (override.configuration or {}).get("rewrite_value")
    if override.strategy == "string_rewrite" and isinstance(value, (str, int, float)):
        return FieldErase("fixed", value=value)
    result.comment = "; ".join(filter(None, [result.comment, f"Fides masks it with {override.strategy}"]))
    note("masking", f"{label} ({override.strategy})")
    return FieldErase("nullify")
