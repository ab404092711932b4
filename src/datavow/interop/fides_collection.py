"""A Fides collection as the importer reads it, and what a Fides field says about itself: nested or
flat, a person's data or the system's own, and the database its dataset names."""

from __future__ import annotations

from dataclasses import dataclass, field

from fideslang.models import Dataset, DatasetCollection, DatasetField

from datavow.errors import Location
from datavow.interop.fides_dataset import DatasetFile


@dataclass
class Collection:
    """A collection of a dataset as the converter reads it: its columns, and its nested fields apart."""

    file: DatasetFile
    dataset: Dataset
    collection: DatasetCollection
    columns: dict[str, DatasetField] = field(default_factory=dict)
    nested: dict[str, DatasetField] = field(default_factory=dict)

    @property
    def primary_key(self) -> list[str]:
        return [n for n, f in self.columns.items() if f.fides_meta is not None and f.fides_meta.primary_key]

    def where(self, field_name: str | None = None, *rest: str | int) -> Location | None:
        return self.file.where(self.dataset.fides_key, self.collection.name, [field_name] if field_name else [], *rest)


def is_nested(data_field: DatasetField) -> bool:
    data_type = data_field.fides_meta.data_type if data_field.fides_meta else None
    return bool(data_field.fields) or (data_type or "").removesuffix("[]") == "object"


def is_system(category: str) -> bool:
    """fideslang's ``system.*`` categories describe the system's own data, not a person's."""
    return category == "system" or category.startswith("system.")


def words(text: str | None) -> str | None:
    return " ".join(text.split()) if text else None


def sub_paths(data_field: DatasetField, prefix: str = "") -> list[str]:
    path = f"{prefix}{data_field.name}"
    children = [p for child in data_field.fields or [] for p in sub_paths(child, path + ".")]
    return children or [path]


def nested_identities(data_field: DatasetField) -> set[str]:
    own = {data_field.fides_meta.identity} if data_field.fides_meta and data_field.fides_meta.identity else set()
    return own.union(*(nested_identities(child) for child in data_field.fields or []))


def database_of(dataset: Dataset) -> tuple[tuple[str, str], ...] | None:
    """The database a dataset's ``fides_meta.namespace`` names (every key but the schema), if any."""
    namespace = dataset.fides_meta.namespace if dataset.fides_meta else None
    if not isinstance(namespace, dict):
        return None
    named = tuple(sorted((str(k), str(v)) for k, v in namespace.items() if k != "schema" and v is not None))
    return named or None


def schema_of(dataset: Dataset) -> str | None:
    namespace = dataset.fides_meta.namespace if dataset.fides_meta else None
    schema = namespace.get("schema") if isinstance(namespace, dict) else None
    return schema if isinstance(schema, str) else None
