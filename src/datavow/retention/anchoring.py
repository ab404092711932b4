"""Anchoring the audit log's head on the schedule the map's ``retention.anchor`` gives, for the
worker: the head goes to a file outside the store, and by mail to the DPO when the map asks.

Each anchor is audited as an ``audit.anchored`` entry, written after the anchor (so the head it
anchored is the entry before it); the latest such entry tells when the next one is due, so
several workers sharing a store anchor once per interval between them (two racing workers may
both write one line: an extra anchor is harmless).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from datavow.audit import Anchor, anchor_head, append, list_entries
from datavow.datamap import LoadedMap
from datavow.errors import ConnectionError_, RequestError
from datavow.requests.mail import mail_settings, send_mail
from datavow.store import Store

#: The action of the entry each scheduled anchor writes.
ANCHORED = "audit.anchored"


@dataclass(frozen=True)
class AnchorRun:
    """A scheduled anchor: the head written to ``file``, and to whom it was mailed, or why not."""

    anchor: Anchor
    file: Path
    mailed_to: str | None = None
    mail_error: str | None = None


def anchor_file(loaded: LoadedMap) -> Path | None:
    """The anchor file the map names (relative paths beside the map), or ``None``."""
    settings = loaded.model.retention.anchor
    if settings is None:
        return None
    path = Path(settings.file).expanduser()
    return path if path.is_absolute() else loaded.path.resolve().parent / path


def anchor_if_due(
    loaded: LoadedMap, store: Store, *, key: bytes, actor: str, now: datetime | None = None
) -> AnchorRun | None:
    """Anchor the head when the map's ``retention.anchor`` interval has passed since the last
    scheduled anchor (or there was none); ``None`` when nothing was due. A mail that fails does
    not stop the anchor: the run says why, and the audit entry records it."""
    settings, path = loaded.model.retention.anchor, anchor_file(loaded)
    if settings is None or path is None:
        return None
    now = now or datetime.now(UTC)
    last = list_entries(store, action=ANCHORED, newest_first=True, limit=1)
    if last and last[0].ts + timedelta(seconds=settings.every.seconds) > now:
        return None
    anchor = anchor_head(store, path, key)
    mailed_to, mail_error = None, None
    if settings.mail:
        mailed_to, mail_error = _mail(loaded, anchor, path)
    details = {"seq": anchor.seq, "hash": anchor.hash, "file": str(path), "mailed_to": mailed_to}
    if mail_error is not None:
        details["mail_error"] = mail_error
    append(store, actor, ANCHORED, "audit_log", "audit_log", "the audit log's head, kept outside the store", details)
    return AnchorRun(anchor, path, mailed_to, mail_error)


def _mail(loaded: LoadedMap, anchor: Anchor, path: Path) -> tuple[str | None, str | None]:
    organization = loaded.model.organization
    to = (organization.dpo.email if organization.dpo is not None else None) or organization.contact.email
    if not to:
        return None, "the map gives no e-mail address for the DPO or the organisation"
    body = (
        "The head of datavow's audit log, to keep where the database's writers cannot reach it.\n"
        "Verification checks it when it is given back in an anchor file (one JSON line each):\n\n"
        f"{json.dumps(anchor.to_dict(), sort_keys=True)}\n\n"
        f"The same line was appended to {path}.\n"
    )
    try:
        send_mail(mail_settings(loaded), to, f"Audit log anchor: head #{anchor.seq}", body)
    except (ConnectionError_, RequestError) as exc:
        return None, str(exc)
    return to, None
