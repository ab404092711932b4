"""``datavow import fides``: Fides datasets become a data map fragment to review and include.

Each Fides dataset becomes a system, each collection a table, each field a column. What Fides
says about a person's data carries over (categories, identities, primary keys, the links between
collections, its default masking); what a SQL data map cannot hold (nested fields) is refused or,
when asked, skipped and listed. The fragment opens with the list of things a person must review.

Which side of a reference holds the key, and what Fides' ``direction`` makes of whose rows are
whose, is :mod:`datavow.interop.fides_links`; how each column is erased,
:mod:`datavow.interop.fides_erasure`. Identity columns are always personal and erasable,
whatever category Fides gave them: a person found by a column must be erasable from it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from fideslang.models import Dataset, DatasetField, FidesDatasetReference

from datavow.datamap.model import CATEGORY_PATTERN, NAME_PATTERN  # the map's own rules, so import and load agree
from datavow.datamap.resolve import BUILTIN_IDENTITIES
from datavow.errors import Location, Problem
from datavow.interop.fides_collection import (
    Collection,
    database_of,
    is_nested,
    is_system,
    nested_identities,
    schema_of,
    sub_paths,
    words,
)
from datavow.interop.fides_dataset import DatasetFile, fail, read_dataset_files
from datavow.interop.fides_erasure import field_erasure, identity_category
from datavow.interop.fides_links import End, read_reference
from datavow.interop.fides_review import review_header
from datavow.interop.fragment import (
    Fragment,
    FragmentField,
    FragmentIdentity,
    FragmentReference,
    FragmentSystem,
    FragmentTable,
    IdentityFormat,
    render_fragment,
)
from datavow.taxonomy import default_taxonomy

# Fides' own identity names that datavow knows under another name.
_IDENTITY_ALIASES = {"phone_number": "phone"}
_IDENTITY_FORMATS: dict[str, IdentityFormat] = {"integer": "integer"}  # by Fides data_type
DatasetPaths = Path | str | Sequence[Path | str]


def import_fides(
    path: DatasetPaths,
    *,
    url: str | None = None,
    subject: str | None = None,
    system: str | None = None,
    skip_nested: bool = False,
) -> str:
    """Convert the Fides dataset file(s) at ``path`` into a data map fragment (YAML text).

    The fragment holds one system per database: ``system`` names the one system every dataset
    describes; without it, datasets whose ``fides_meta.namespace`` names the same database share
    one, and every other dataset is a system of its own (keyed by its ``fides_key``). It also
    declares the identity types its tables use beyond ``email`` and ``phone``. ``url`` is the
    database's connection URL (default ``${<KEY>_URL}``, read from the environment when datavow
    connects); ``subject`` names the map's subject category for every table holding personal
    data; ``skip_nested`` leaves nested fields out, with a comment, instead of failing.

    Give several files to import datasets that reference each other in one fragment.
    Raises :class:`~datavow.errors.ImportError_` listing every problem found.
    """
    paths = [Path(path)] if isinstance(path, (str, Path)) else [Path(p) for p in path]
    problems: list[Problem] = []
    files = read_dataset_files(paths, problems)
    converter = _Converter(files, url=url, subject=subject, system=system, skip_nested=skip_nested)
    fragment = converter.convert()
    problems += converter.problems
    if problems:
        raise fail(problems, ", ".join(str(p) for p in paths))
    return render_fragment(fragment)


class _Converter:
    def __init__(
        self,
        files: list[DatasetFile],
        *,
        url: str | None,
        subject: str | None,
        system: str | None,
        skip_nested: bool,
    ) -> None:
        self.files = files
        self.url = url
        self.subject = subject
        self.system_key = system
        self.skip_nested = skip_nested
        self.system_of = self.systems_of_datasets()
        self.problems: list[Problem] = []
        self.notes: dict[str, list[str]] = defaultdict(list)  # review topic -> items
        self.fragment = Fragment()
        self.collections: dict[tuple[str, str], Collection] = {}
        # (dataset, collection, column) of a key -> the columns that hold it
        self.referenced: dict[tuple[str, str, str], list[str]] = defaultdict(list)
        self.taxonomy = default_taxonomy()

    def problem(self, where: Location | None, message: str, hint: str = "", fields: tuple[str, ...] = ()) -> None:
        self.problems.append(Problem(where, message, hint, fields=fields))

    def note(self, topic: str, item: str) -> None:
        if item not in self.notes[topic]:
            self.notes[topic].append(item)

    def systems_of_datasets(self) -> dict[str, str]:
        """Each dataset's system: the one ``system`` given, else one per database the namespaces name
        (keyed by the first dataset describing it), else the dataset's own."""
        datasets = [d for f in self.files for d in f.datasets]
        if self.system_key is not None:
            return {d.fides_key: self.system_key for d in datasets}
        first: dict[tuple[tuple[str, str], ...], str] = {}
        result: dict[str, str] = {}
        for dataset in datasets:
            database = database_of(dataset)
            result[dataset.fides_key] = (
                dataset.fides_key if database is None else first.setdefault(database, dataset.fides_key)
            )
        return result

    # -- the steps

    def convert(self) -> Fragment:
        self.check_options()
        for dataset_file in self.files:
            for dataset in dataset_file.datasets:
                self.system(dataset_file, dataset)
        for info in self.collections.values():
            for name, data_field in info.columns.items():
                for reference in (data_field.fides_meta.references or []) if data_field.fides_meta else []:
                    self.reference(info, name, reference)
        self.settle_owners()
        for (dataset_key, collection), info in self.collections.items():
            self.erasure(info, self.fragment.systems[self.system_of[dataset_key]].tables[collection])
        self.fragment.header = self.header()
        return self.fragment

    def check_options(self) -> None:
        count = sum(len(f.datasets) for f in self.files)
        if self.url is not None and len(set(self.system_of.values())) > 1:
            self.problem(
                None,
                f"the URL given names one database, but the files hold {count} datasets",
                "name the one system when they all describe that database, import them one at a time each with "
                "its URL, or give no URL and set each ${KEY_URL}",
                ("system", "url"),
            )
        if self.system_key is not None and not NAME_PATTERN.match(self.system_key):
            self.problem(
                None,
                f"'{self.system_key}' cannot name a datavow system",
                "system keys use letters, digits, '_' and '-' (no '.')",
                ("system",),
            )
        if self.subject is not None and not NAME_PATTERN.match(self.subject):
            self.problem(
                None,
                f"'{self.subject}' is not a subject key",
                "use the key of an entry under 'subjects:' in datavow.yaml (letters, digits, '_', '-')",
                ("subject",),
            )

    def system(self, dataset_file: DatasetFile, dataset: Dataset) -> None:
        key, system_key = dataset.fides_key, self.system_of[dataset.fides_key]
        if system_key == key and not NAME_PATTERN.match(key):
            self.problem(
                dataset_file.where(key, None, (), "fides_key"),
                f"the dataset key '{key}' cannot name a datavow system",
                "system keys use letters, digits, '_' and '-' (no '.'); rename the fides_key, or name the system",
                ("system",),
            )
        schema = schema_of(dataset)
        system = self.fragment.systems.get(system_key)
        if system is None:
            env = re.sub(r"[^A-Za-z0-9_]", "_", system_key).upper() + "_URL"
            if self.url is None:
                self.note("url", env)
            system = FragmentSystem(
                url=self.url or f"${{{env}}}",
                name=words(dataset.name),
                description=words(dataset.description),
                schema=schema,
            )
            self.fragment.systems[system_key] = system
        else:
            # A second dataset of the same database: its tables join the system it describes.
            shared = [k for k, s in self.system_of.items() if s == system_key]
            system.name = None
            system.description = "The database the Fides datasets " + ", ".join(shared) + " describe"
            self.note("merged", f"{system_key}: " + ", ".join(shared))
        if dataset.data_categories:
            self.note("broad", f"dataset {key}: " + ", ".join(dataset.data_categories))
        self.labels(dataset.data_uses, dataset.data_subjects)
        for collection, fields in dataset_file.file_order(dataset):
            info = Collection(dataset_file, dataset, collection)
            if collection.name in system.tables:
                self.problem(
                    info.where(),
                    f"{key}.{collection.name}: system {system_key} already has a table '{collection.name}' "
                    "from another dataset",
                    "import the datasets as separate systems (name no system), or rename one collection",
                    ("system",),
                )
                continue
            self.collections[(key, collection.name)] = info
            table = self.table(info, fields)
            if schema != system.schema:
                table.schema = schema
            system.tables[collection.name] = table

    def labels(self, uses: list[str] | None, subjects: list[str] | None) -> None:
        for use in uses or []:
            self.note("uses", use)
        for data_subject in subjects or []:
            self.note("subjects", data_subject)

    def table(self, info: Collection, fields: list[DatasetField]) -> FragmentTable:
        collection = info.collection
        table = FragmentTable(description=words(collection.description))
        self.labels(collection.data_uses, collection.data_subjects)
        if collection.data_categories:
            table.comments.append(
                "Fides gives the whole collection: "
                + ", ".join(collection.data_categories)
                + " (datavow reads categories per field)"
            )
            self.note("broad", f"{info.dataset.fides_key}.{collection.name}")
        meta = collection.fides_meta
        if meta is not None and meta.skip_processing:
            table.comments.append("Fides skips this collection in privacy requests (skip_processing)")
        for data_field in fields:
            self.labels(data_field.data_uses, data_field.data_subjects)
            if is_nested(data_field):
                self.nested(info, table, data_field)
                continue
            info.columns[data_field.name] = data_field
            table.fields[data_field.name] = self.column(info, table, data_field)
        table.primary_key = info.primary_key
        return table

    def nested(self, info: Collection, table: FragmentTable, data_field: DatasetField) -> None:
        info.nested[data_field.name] = data_field
        label = f"{info.dataset.fides_key}.{info.collection.name}.{data_field.name}"
        paths = ", ".join(sub_paths(data_field))
        if not self.skip_nested:
            self.problem(
                info.where(data_field.name),
                f"{label} is a nested field ({paths}): datavow maps SQL tables, whose columns hold one value each",
                "keep such data in columns, or skip nested fields to leave it out "
                "(it is then listed in the fragment for review)",
                ("skip_nested",),
            )
            return
        identities = sorted(nested_identities(data_field))
        held = f", with the identity {', '.join(identities)}: rows cannot be found by it" if identities else ""
        table.comments.append(f"skipped nested field {data_field.name} ({paths}){held}")
        self.note("nested", label)

    def column(self, info: Collection, table: FragmentTable, data_field: DatasetField) -> FragmentField:
        label = f"{info.dataset.fides_key}.{info.collection.name}.{data_field.name}"
        categories = data_field.data_categories or []
        personal = [c for c in categories if not is_system(c)]
        for category in personal:
            if not CATEGORY_PATTERN.match(category):
                self.problem(
                    info.where(data_field.name, "data_categories", categories.index(category)),
                    f"{label}: '{category}' cannot be a datavow data category",
                    "datavow category keys are dotted lower-case names such as 'user.contact.email'",
                )
            elif not self.taxonomy.has_category(category):
                self.note("categories", category)
        result = FragmentField(categories=personal)
        system_only = [c for c in categories if is_system(c)]
        meta = data_field.fides_meta
        notes = [f"Fides: {', '.join(system_only)}"] if system_only and not personal else []
        if meta is not None and meta.data_type and meta.data_type.endswith("[]"):
            notes.append(f"an array ({meta.data_type}) in Fides")
        result.comment = "; ".join(notes) or None
        if meta is not None and meta.identity:
            self.identity(info, table, data_field, meta.identity, personal)
        return result

    def identity(
        self, info: Collection, table: FragmentTable, data_field: DatasetField, identity: str, categories: list[str]
    ) -> None:
        kind = _IDENTITY_ALIASES.get(identity, identity)
        if not NAME_PATTERN.match(kind):
            self.problem(
                info.where(data_field.name, "fides_meta", "identity"),
                f"the identity '{identity}' cannot name a datavow identity type",
                "identity types use letters, digits, '_' and '-'",
            )
            return
        known = kind in table.identity
        table.identity.setdefault(kind, []).append(data_field.name)
        if known:
            return
        if kind not in BUILTIN_IDENTITIES and kind not in self.fragment.identities:
            data_type = (data_field.fides_meta.data_type if data_field.fides_meta else None) or ""
            self.fragment.identities[kind] = FragmentIdentity(
                name=kind.replace("_", " ").capitalize(),
                format=_IDENTITY_FORMATS.get(data_type, "text"),
                category=categories[0] if len(categories) == 1 else None,
            )

    # -- references

    def end(self, dataset: str, collection: str, column: str) -> End:
        info = self.collections.get((dataset, collection))
        system = self.system_of.get(dataset, dataset)
        table = self.fragment.systems[system].tables.get(collection) if system in self.fragment.systems else None
        sole_key = None if info is None else info.primary_key == [column]
        return End(dataset, system, collection, column, sole_key, identifies=bool(table and table.identity))

    def reference(self, info: Collection, name: str, reference: FidesDatasetReference) -> None:
        dataset_key, collection = info.dataset.fides_key, info.collection.name
        where = info.where(name, "fides_meta")
        label = f"{dataset_key}.{collection}.{name}"
        target_collection, _, target_column = reference.field.partition(".")
        if not target_column:
            self.problem(
                where,
                f"{label}: the reference '{reference.field}' names no field",
                "write the referenced field as 'collection.field'",
            )
            return
        target_info = self.collections.get((reference.dataset, target_collection))
        imported = any(d.fides_key == reference.dataset for f in self.files for d in f.datasets)
        if imported and target_info is None:
            self.problem(
                where,
                f"{label} refers to '{reference.field}', but dataset {reference.dataset} has no "
                f"collection '{target_collection}'",
                "fix the reference's 'field'",
            )
            return
        if "." in target_column or (target_info is not None and target_column in target_info.nested):
            if not self.skip_nested:
                self.problem(
                    where,
                    f"{label} refers to the nested field {reference.dataset}.{reference.field}",
                    "skip nested fields to leave the reference out",
                    ("skip_nested",),
                )
                return
            self.fragment.systems[self.system_of[dataset_key]].tables[collection].comments.append(
                f"skipped the reference {name} → {reference.dataset}.{reference.field} (a nested field)"
            )
            self.note("nested", f"{label} → {reference.dataset}.{reference.field}")
            return
        if target_info is not None and target_column not in target_info.columns:
            self.problem(
                where,
                f"{label} refers to '{reference.field}', which dataset {reference.dataset} does not declare",
                "fix the reference's 'field', or declare the field",
            )
            return
        if not imported:
            self.note("elsewhere", reference.dataset)
        source = self.end(dataset_key, collection, name)
        target = self.end(reference.dataset, target_collection, target_column)
        reading = read_reference(source, target, reference.direction.value if reference.direction else None)
        holder, key = reading.holder, reading.key
        if reading.guessed:
            self.note("guessed", f"{holder.collection}.{holder.column} → {key.collection}.{key.column}")
        if reading.kind == "link":
            self.note("linked", f"{holder.collection}.{holder.column} → {key.collection}")
        self.add_reference(reading.holder, reading.key, reading.comment, reading.owner)

    def add_reference(self, holder: End, key: End, comment: str, owner: bool | None) -> None:
        to = key.collection if key.system == holder.system else f"{key.system}.{key.collection}"
        system = self.fragment.systems.get(holder.system)
        table = system.tables.get(holder.collection) if system else None
        if table is None:
            owns = "" if owner is None else f", owner: {str(owner).lower()}"
            self.note(
                "by_hand",
                f"systems.{holder.system}.tables.{holder.collection}.references: "
                f"{{{holder.column}: {{to: {to}, to_columns: [{key.column}]{owns}}}}}",
            )
            return
        if any(
            r.columns == [holder.column] and r.to == to and r.to_columns == [key.column]
            for r in table.references.values()
        ):
            return  # declared on both ends in Fides
        name = holder.column
        while name in table.references:
            name = f"{name}_{key.collection}"
        table.references[name] = FragmentReference([holder.column], to, [key.column], comment, owner)
        holder_label = holder.collection if key.system == holder.system else f"{holder.system}.{holder.collection}"
        self.referenced[(key.dataset, key.collection, key.column)].append(f"{holder_label}.{holder.column}")

    def settle_owners(self) -> None:
        """A table Fides reaches from several others (an order found from its customer and from
        the employee who packed it) cannot be told whose it is from Fides' walk: its owner is left
        to datavow's default reading, which ``datavow check`` reports when it is ambiguous."""
        for system_key, system in self.fragment.systems.items():
            for table_name, table in system.tables.items():
                owning = [r for r in table.references.values() if r.owner]
                if len(owning) < 2:
                    continue
                for reference in owning:
                    reference.owner = None
                    reference.comment = f"{reference.comment}; review: one of several references Fides walks in by"
                self.note("owners", f"{system_key}.{table_name}")

    # -- erasure

    def erasure(self, info: Collection, table: FragmentTable) -> None:
        personal = False
        identity_columns = {column: kind for kind, columns in table.identity.items() for column in columns}
        for name, data_field in info.columns.items():
            result = table.fields[name]
            if not result.categories and name in identity_columns:
                kind = identity_columns[name]
                category = identity_category(kind, self.fragment.identities.get(kind), result)
                self.note("identity_category", f"{info.collection.name}.{name} ({category})")
            if not result.categories:
                continue
            personal = True
            holders = self.referenced.get((info.dataset.fides_key, info.collection.name, name), [])
            result.erase = field_erasure(
                info, name, data_field, result, identity=name in identity_columns, holders=holders, note=self.note
            )
        meta = info.collection.fides_meta
        if meta is not None and meta.masking_strategy_override is not None:
            table.erase = "delete"  # the only collection-level strategy Fides has
        elif personal or table.identity:
            table.erase = "anonymize"
        if table.erase is not None and self.subject is not None:
            table.subject = self.subject

    # -- the header

    def header(self) -> list[str]:
        for entry in (e for f in self.files for e in f.ignored):
            self.note("ignored", entry)
        for kind in self.fragment.identities:
            self.note("identities", kind)
        keys = [d.fides_key for f in self.files for d in f.datasets]
        return review_header([f.path for f in self.files], keys, self.subject, self.notes)
