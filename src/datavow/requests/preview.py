"""A dry run: the plan a request would follow and the rows each step reaches, with nothing
recorded or changed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from datavow.connectors.databases import Databases
from datavow.datamap import LoadedMap
from datavow.plan import compile_plan, explain, parse_identities
from datavow.plan.guard import why_refused
from datavow.plan.model import Discovery, Plan
from datavow.requests.reading import find_person


@dataclass(frozen=True)
class Preview:
    """What a request would do: its plan, what discovery found, and why running it would be
    refused (another person reached), if it would."""

    loaded: LoadedMap
    plan: Plan
    discovery: Discovery

    @property
    def refusal(self) -> str | None:
        """Why running the request would be refused, or None when it would run."""
        return why_refused(self.discovery.reach) if self.discovery.reach is not None else None

    def steps(self) -> list[dict[str, object]]:
        """One JSON-ready row per step, in plan order (:func:`datavow.plan.explain`)."""
        return explain(self.loaded, self.plan, self.discovery)


def preview_request(
    loaded: LoadedMap,
    identities: Mapping[str, Iterable[str]],
    *,
    databases: Databases,
    tenant: str | None = None,
) -> Preview:
    """Plan a request for the person these identities name and count the rows each step reaches,
    reading the databases of ``databases`` only; a plan that reaches another person is shown, not
    refused (:attr:`Preview.refusal` says why running it would be)."""
    values = parse_identities(loaded, identities)
    plan = compile_plan(loaded, values.keys(), tenant=tenant)
    discovery = databases.retrying(
        lambda: find_person(loaded, plan, values, databases.engines(loaded, plan.systems()), refuse_strangers=False)
    )
    return Preview(loaded, plan, discovery)


__all__ = ["Preview", "preview_request"]
