"""The certificate of deletion a processor gives its controller once the controller's data is gone
(Art. 28(3)(g)), drawn from the audit log, not from datavow's memory of it.

Every fact on it is read from an audit entry, which it cites by ``seq`` and hash: the contract's
end and the due date (``tenant.contract_ended``), the return of the data with the package's
SHA-256 (``tenant.exported``), the deletion with rows per table and what legal holds kept
(``tenant.deleted``, and the sweeps that did it). It ends with :func:`~datavow.audit.verify_chain`'s
verdict and the head of the chain when it was written, so a reader can check that no entry it
cites was changed since. It is written twice: ``.html`` for people, ``.json`` with the same facts.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from datavow.audit import AuditEntry, append, list_entries, verify_chain
from datavow.datamap.load import LoadedMap
from datavow.errors import RequestError
from datavow.retention.offboarding.documents import file_safe, organization_facts, render, system_facts
from datavow.retention.offboarding.plan import tenant_system
from datavow.retention.offboarding.state import get_offboarding, object_id, row_of
from datavow.secrets import state_directory
from datavow.store import Store

FORMAT = "datavow-deletion-certificate/1"
_DELETIONS = ("tenant.deleted", "tenant.deletion_incomplete")


@dataclass(frozen=True)
class Certificate:
    html: Path
    json: Path
    facts: dict[str, Any]
    sha256: str  # of the JSON file


def write_certificate(
    store: Store,
    loaded: LoadedMap,
    system: str | None,
    tenant: str,
    *,
    actor: str,
    out_dir: Path | None = None,
) -> Certificate:
    """Write the certificate of deletion of ``tenant``'s data in ``system`` (to
    ``.datavow/certificates`` unless ``out_dir`` says otherwise) and record it
    (``tenant.certified``). Refused before the deletion finished."""
    system = tenant_system(loaded, system)
    tenant = str(tenant).strip()
    current = get_offboarding(store, system, tenant)
    if current.status not in ("deleted", "certified"):
        raise RequestError(
            f"the data of tenant '{tenant}' of {system} is not deleted yet (status {current.status}) — delete it first"
        )
    facts = certificate_facts(store, loaded, system, tenant)
    facts["written_by"] = actor
    folder = out_dir or state_directory(loaded.path) / "certificates"
    folder.mkdir(parents=True, exist_ok=True)
    base = folder / f"deletion-{file_safe(system)}-{file_safe(tenant)}"
    html, data = base.with_suffix(".html"), base.with_suffix(".json")
    html.write_text(render("certificate.en.html.j2", facts=facts), encoding="utf-8")
    data.write_text(json.dumps(facts, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    digest = {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in (html, data)}
    now = datetime.now(UTC)
    with store.session() as session:
        row = row_of(session, system, tenant)
        row.status, row.certified_at, row.certified_by = "certified", now, actor
        row.certificate_path, row.certificate_sha256 = str(data), digest[data.name]
        append(
            session,
            actor,
            "tenant.certified",
            "tenant",
            object_id(system, tenant),
            None,
            {
                "offboarding": row.id,
                "files": digest,
                "chain_head": facts["chain"]["head"],
                "cites": [entry["seq"] for entry in facts["audit"]],
            },
        )
    return Certificate(html, data, facts, digest[data.name])


def certificate_facts(store: Store, loaded: LoadedMap, system: str, tenant: str) -> dict[str, Any]:
    """What the certificate says, every fact from the audit log, with the entries it cites."""
    entries = list_entries(store, object_type="tenant", object_id=object_id(system, tenant))
    ended = _last(entries, "tenant.contract_ended")
    if ended is None:
        raise RequestError(f"the audit log has no end of contract for tenant '{tenant}' of {system}")
    exported = _last(entries, "tenant.exported")
    deletions = [entry for entry in entries if entry.action in _DELETIONS]
    finished = [entry for entry in deletions if entry.action == "tenant.deleted"]
    if not finished:
        raise RequestError(f"the audit log has no finished deletion for tenant '{tenant}' of {system}")
    sweeps = {entry.details.get("sweep") for entry in deletions}
    swept = [
        entry
        for entry in list_entries(store, action="retention.*", object_type="system", object_id=system)
        if entry.details.get("sweep") in sweeps and entry.details.get("offboarding") == ended.details["offboarding"]
    ]
    deleted: dict[str, int] = {}
    for entry in deletions:
        for label, rows in entry.details.get("rows", {}).items():
            deleted[label] = deleted.get(label, 0) + int(rows)
    last = finished[-1]
    chain = verify_chain(store)
    cited = sorted([ended, *([exported] if exported else []), *deletions, *swept], key=lambda entry: entry.seq)
    details = ended.details
    return {
        "format": FORMAT,
        "organization": organization_facts(loaded),
        "role": "processor",
        "controller": {"tenant": tenant, "name": details.get("controller")},
        "system": system_facts(loaded, system),
        "contract_ended_at": details["contract_ended_at"],
        "period": details["period"],
        "due_at": details["due_at"],
        "returned": (
            {
                "at": _ts(exported),
                "package": exported.details["package"],
                "sha256": exported.details["sha256"],
                "rows": exported.details["rows"],
                "seq": exported.seq,
            }
            if exported is not None
            else None
        ),
        "forced": any(entry.details.get("forced") for entry in deletions),
        "deleted": {
            "at": _ts(last),
            "rows": deleted,
            "total": sum(deleted.values()),
            "on_time": last.ts <= datetime.fromisoformat(details["due_at"]),
        },
        "kept": last.details.get("kept", []),
        "audit": [
            {"seq": entry.seq, "ts": _ts(entry), "action": entry.action, "actor": entry.actor, "hash": entry.hash}
            for entry in cited
        ],
        "chain": {
            "ok": chain.ok,
            "message": chain.message,
            "entries": chain.entries,
            "head": {"seq": chain.head_seq, "hash": chain.head_hash},
        },
        "written_at": datetime.now(UTC).isoformat(),
    }


def _last(entries: list[AuditEntry], action: str) -> AuditEntry | None:
    found = [entry for entry in entries if entry.action == action]
    return found[-1] if found else None


def _ts(entry: AuditEntry) -> str:
    return entry.ts.astimezone(UTC).isoformat()
