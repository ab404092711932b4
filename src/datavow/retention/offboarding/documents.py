"""The documents of an offboarding, the note of return and the certificate of deletion, worded
with Jinja2 templates under ``templates/`` (autoescaped: names and map texts may hold HTML)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from datavow.datamap.load import LoadedMap


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("datavow.retention", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, **context: Any) -> str:
    return _environment().get_template(template).render(**context)


def organization_facts(loaded: LoadedMap) -> dict[str, Any]:
    """The processor, as a return package and a certificate name it."""
    organization = loaded.model.organization
    return organization.model_dump(
        mode="json", include={"name", "legal_name", "registration", "country", "contact", "dpo"}, exclude_none=True
    )


def system_facts(loaded: LoadedMap, system: str) -> dict[str, Any]:
    spec = loaded.model.systems[system]
    return {"key": system, "name": spec.name or system, "description": spec.description}


def file_safe(text: str) -> str:
    """``text`` as part of a file name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[:60]
