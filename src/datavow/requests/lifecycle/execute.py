"""Running a verified request: the hook that planning and execution (plan → discover → erase,
export, rectify, set restriction flags) plug into.

``execute`` moves the request to ``in_progress``, opens its identities, calls the executor, and
completes the request with what the executor returns. An executor that fails leaves the request
``in_progress``: execution is idempotent, so running ``execute`` again resumes it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from datavow.datamap import LoadedMap
from datavow.errors import DatavowError
from datavow.plan.identity_keys import IdentityKeys
from datavow.requests.lifecycle import RequestRecord, begin, complete, read_request
from datavow.requests.lifecycle.runs import interrupted
from datavow.store import Store

#: ``run(record, identities) -> result``: does the work in the application databases and returns
#: the result to keep (JSON; counts, tables, a package id, never personal data).
Executor = Callable[[RequestRecord, dict[str, tuple[str, ...]]], Mapping[str, Any]]


def execute(
    store: Store,
    loaded: LoadedMap,
    request_id: int,
    run: Executor,
    actor: str,
    *,
    now: datetime | None = None,
) -> RequestRecord:
    """Start (or resume) a verified request, run it, and complete it with the executor's result.

    Raises :class:`~datavow.errors.RequestError` when the request is not verified (or in progress
    already: resumed, written as ``request.resumed``). When the executor raises a
    :class:`~datavow.errors.DatavowError`, ``request.interrupted`` records its class (not its
    message, which may quote the person's data) and the error propagates.
    """
    keys = IdentityKeys.for_store(store, loaded)
    with store.session(write=False) as session:
        record, identities = read_request(session, keys, request_id)
    with store.session() as session:
        record = begin(session, record, actor, now=now)
    try:
        result = run(record, identities)
    except DatavowError as exc:
        interrupted(store, actor, request_id, exc)
        raise
    return complete(store, request_id, result, actor, now=now)
