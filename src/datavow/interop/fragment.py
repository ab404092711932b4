"""A data map fragment built by an importer, and its YAML text.

An importer (Fides today) fills these plain objects; :func:`render_fragment` writes them as a
file that ``datavow.yaml`` can ``include:``. The text carries comments (where it came from, what a
person must review), which is why it is written line by line instead of by ``yaml.safe_dump``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

IdentityFormat = Literal["email", "phone", "text", "integer"]


@dataclass
class FieldErase:
    """How a personal field is erased when its row is kept."""

    strategy: Literal["nullify", "fixed", "keep", "hash"]
    reason: str | None = None
    value: str | int | float | None = None


@dataclass
class FragmentField:
    categories: list[str] = field(default_factory=list)
    erase: FieldErase | None = None
    comment: str | None = None


@dataclass
class FragmentReference:
    """``columns`` of the table hold the key ``to_columns`` of table ``to`` (``[system.]table``).
    ``owner``: the map's ``owner:`` (None leaves it to datavow's default reading)."""

    columns: list[str]
    to: str
    to_columns: list[str]
    comment: str | None = None
    owner: bool | None = None


@dataclass
class FragmentTable:
    description: str | None = None
    schema: str | None = None  # only when it differs from the system's
    subject: str | None = None
    identity: dict[str, list[str]] = field(default_factory=dict)
    primary_key: list[str] = field(default_factory=list)
    erase: Literal["anonymize", "delete"] | None = None
    references: dict[str, FragmentReference] = field(default_factory=dict)
    fields: dict[str, FragmentField] = field(default_factory=dict)
    comments: list[str] = field(default_factory=list)  # written above the table's fields


@dataclass
class FragmentSystem:
    url: str
    name: str | None = None
    description: str | None = None
    schema: str | None = None
    tables: dict[str, FragmentTable] = field(default_factory=dict)


@dataclass
class FragmentIdentity:
    name: str
    format: IdentityFormat = "text"
    category: str | None = None


@dataclass
class Fragment:
    """What an included file may add to a map: here identities and systems."""

    header: list[str] = field(default_factory=list)
    identities: dict[str, FragmentIdentity] = field(default_factory=dict)
    systems: dict[str, FragmentSystem] = field(default_factory=dict)


# --------------------------------------------------------------------------- rendering


def _flow(value: Any) -> str:
    """One YAML value on one line, quoted only where YAML needs it."""
    if value is None:
        return "~"
    text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=1_000_000, allow_unicode=True)
    return text.removesuffix("\n...\n").removesuffix("\n")


def _comment(text: str | None) -> str:
    return f"  # {text}" if text else ""


def _field_value(data_field: FragmentField) -> Any:
    if not data_field.categories:
        return None
    category: Any = data_field.categories[0] if len(data_field.categories) == 1 else data_field.categories
    if data_field.erase is None:
        return category
    erase: Any = data_field.erase.strategy
    if data_field.erase.reason is not None or data_field.erase.value is not None:
        erase = {"strategy": data_field.erase.strategy}
        if data_field.erase.value is not None:
            erase["value"] = data_field.erase.value
        if data_field.erase.reason is not None:
            erase["reason"] = data_field.erase.reason
    return {"category": category, "erase": erase}


def _reference_value(reference: FragmentReference, key: str) -> Any:
    if reference.owner is None and reference.columns == [key] and len(reference.to_columns) == 1:
        return f"{reference.to}.{reference.to_columns[0]}"
    value: dict[str, Any] = {} if reference.columns == [key] else {"columns": reference.columns}
    value.update(to=reference.to, to_columns=reference.to_columns)
    if reference.owner is not None:
        value["owner"] = reference.owner
    return value


def _table_lines(name: str, table: FragmentTable) -> list[str]:
    lines = [f"      {_flow(name)}:"]
    pad = " " * 8
    for key, value in (("description", table.description), ("schema", table.schema), ("subject", table.subject)):
        if value is not None:
            lines.append(f"{pad}{key}: {_flow(value)}")
    if table.identity:
        # one column is written plainly (email: email); several as a list
        compact = {kind: cols[0] if len(cols) == 1 else cols for kind, cols in table.identity.items()}
        lines.append(f"{pad}identity: {_flow(compact)}")
    if table.primary_key:
        lines.append(f"{pad}primary_key: {_flow(table.primary_key)}")
    if table.erase is not None:
        lines.append(f"{pad}erase: {table.erase}")
    if table.references:
        lines.append(f"{pad}references:")
        for key, reference in table.references.items():
            lines.append(
                f"{pad}  {_flow(key)}: {_flow(_reference_value(reference, key))}" + _comment(reference.comment)
            )
    lines.extend(f"{pad}# {text}" for text in table.comments)
    lines.append(f"{pad}fields:" + ("" if table.fields else " {}"))
    for key, data_field in table.fields.items():
        lines.append(f"{pad}  {_flow(key)}: {_flow(_field_value(data_field))}" + _comment(data_field.comment))
    return lines


def render_fragment(fragment: Fragment) -> str:
    """The fragment as YAML text: the header comment, then ``identities:`` and ``systems:``."""
    lines = [f"# {text}" if text else "#" for text in fragment.header]
    if fragment.identities:
        lines += ["", "identities:"]
        for key, identity in fragment.identities.items():
            entry: dict[str, Any] = {"name": identity.name, "format": identity.format}
            if identity.category is not None:
                entry["category"] = identity.category
            lines.append(f"  {_flow(key)}: {_flow(entry)}")
    lines += ["", "systems:"]
    for key, system in fragment.systems.items():
        lines.append(f"  {_flow(key)}:")
        for attribute in ("name", "description", "url", "schema"):
            value = getattr(system, attribute)
            if value is not None:
                lines.append(f"    {attribute}: {_flow(value)}")
        lines.append("    tables:" + ("" if system.tables else " {}"))
        for table_name, table in system.tables.items():
            lines.extend(_table_lines(table_name, table))
    return "\n".join(lines) + "\n"
