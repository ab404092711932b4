"""The runs of a request: which process holds it in progress, what each system's transaction
changed for it, and what is written when a run ends, or is found to have ended without a word.

A run marks the requests it holds (``run_id``, "host:pid:token") and the step it last recorded
(``run_step``), in the transactions it writes anyway; the marks are cleared when the request is
completed or a failure is recorded (``request.interrupted``, with the error's class). A run that
finds marks left by a process that is gone (killed, or its machine lost) writes
``request.interrupted`` for that run, naming the step it stopped at, then ``request.resumed``
naming itself.

Each system changes in a transaction of its own, in another database than the state store, so
what it changed is written to the state store (``request_progress``) before that transaction
commits. A run that takes a request up finds nothing left to change in a system an earlier run
committed: the counts kept for it stand, and the request's result counts the rows every run
changed. When the earlier transaction did not commit, the new run changes the same rows again and
its own counts replace the kept ones.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from datavow.audit import append
from datavow.errors import DatavowError, ErrorKind, RequestError
from datavow.store import Store
from datavow.store.models import RequestProgressRow, RequestRow


def new_run() -> str:
    """An id for one run of a request: this host, this process, and a random token."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


def hold(row: RequestRow, run: str, step: str = "started") -> None:
    """Mark ``row`` as held by ``run`` (in the caller's transaction)."""
    row.run_id, row.run_step = run, step


def mark_step(session: Session, holders: Sequence[int], step: str) -> None:
    """Record, in the caller's transaction, the step the run holding ``holders`` has reached."""
    session.execute(sa.update(RequestRow).where(RequestRow.id.in_(list(holders))).values(run_step=step[:200]))


def take_up(session: Session, row: RequestRow, actor: str, run: str) -> None:
    """In the transaction that resumes ``row`` (in progress): a run that left it without a word is
    recorded as interrupted at the step it reached, then ``run`` as resuming it, and holds it.

    Raises :class:`RequestError` (conflict) when the run holding it is a live process on this host.
    """
    left = row.run_id
    if left is not None and left != run:
        _refuse_if_running(row.id, left)
        details = {"run": left, "step": row.run_step, "found_by": run}
        append(session, actor, "request.interrupted", "request", str(row.id), details=details)
    append(session, actor, "request.resumed", "request", str(row.id), details={"run": run, "after": left})
    hold(row, run)


def interrupted(
    target: Store | Session,
    actor: str,
    request_ids: int | Sequence[int],
    exc: DatavowError,
    details: Mapping[str, object] | None = None,
) -> None:
    """Write ``request.interrupted`` on the first request with the error's class (not its message,
    which may quote the person's data) and ``details``; the requests stay in progress, held by no
    run, to be run again."""
    ids = [request_ids] if isinstance(request_ids, int) else list(request_ids)
    written = {"error": type(exc).__name__, **(details or {})}
    if isinstance(target, Store):
        with target.session() as session:
            _interrupted(session, actor, ids, written)
    else:
        _interrupted(target, actor, ids, written)


def _interrupted(session: Session, actor: str, ids: list[int], details: dict[str, object]) -> None:
    append(session, actor, "request.interrupted", "request", str(ids[0]), details=details)
    session.execute(sa.update(RequestRow).where(RequestRow.id.in_(ids)).values(run_id=None, run_step=None))


def _refuse_if_running(request_id: int, run: str) -> None:
    host, _, rest = run.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname()[:60] or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return  # another host cannot be asked; this process is not running it any more
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return
    except PermissionError:
        pass  # alive, another user's
    raise RequestError(
        f"request {request_id} is being run by process {pid_text} on this host: wait for it to finish, "
        "or stop that process and run the request again",
        kind=ErrorKind.CONFLICT,
    )


class Changes:
    """What each system's transaction changed for one request (kept under ``request_id``, held by
    ``holders``), across its runs: pass :meth:`committing` to the executor."""

    def __init__(self, store: Store, request_id: int, run: str, holders: Sequence[int], *, resumed: bool) -> None:
        self.store, self.request_id, self.run, self.holders = store, request_id, run, list(holders)
        self.kept: dict[str, tuple[int, dict[str, Any]]] = {}
        if resumed:  # a first run has nothing kept
            query = sa.select(RequestProgressRow).where(RequestProgressRow.request_id == request_id)
            with store.session(write=False) as session:
                self.kept = {row.system: (row.changed, row.steps) for row in session.scalars(query)}
        self.counted: dict[str, tuple[int, dict[str, Any]]] = {}

    def committing(self, system: str, steps: Mapping[str, Mapping[str, Any]], changed: int) -> None:
        """Called in ``system``'s open transaction, once its statements ran: keep what they
        changed before it commits, unless they changed nothing where an earlier run committed."""
        if not changed and system in self.kept:  # an earlier run (or attempt) committed here: its counts stand
            self.counted[system] = self.kept[system]
            return
        done = {label: dict(step) for label, step in steps.items()}
        with self.store.session() as session:
            session.merge(
                RequestProgressRow(
                    request_id=self.request_id,
                    system=system,
                    run_id=self.run,
                    recorded_at=datetime.now(UTC),
                    changed=changed,
                    steps=done,
                )
            )
            mark_step(session, self.holders, f"changing {system}")
        self.counted[system] = self.kept[system] = (changed, done)

    @property
    def changed(self) -> int:
        """Rows changed in every system, by whichever run changed them."""
        return sum(changed for changed, _ in self.counted.values())

    def steps(self) -> dict[str, dict[str, Any]]:
        """Each step's result, by label, from the run that changed its system."""
        return {label: step for _, steps in self.counted.values() for label, step in steps.items()}
