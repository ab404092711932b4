"""The application object: one per process, the one thing the front ends build.

:class:`Datavow` holds what every operation needs, made once and shared: the loaded data map, the
state store, the installation's key, the application databases (their engines, reflected tables
and compiled statements) and the state store's own compiled statements. Each is made the first time
it is asked for, so a command that only reads the audit log never loads the map, and one that only
reads never creates a state store. Nothing here creates a key.

Open it, use it, close it::

    with Datavow.open(Path("datavow.yaml"), state_url=url) as app:
        done = app.run_request(12, actor="user:ann")

Closing disposes of every engine and closes the store. The object is safe to share between the
threads of one process: what is made lazily is made under the object's own lock, and the caches
below it are thread-safe (see :mod:`datavow.connectors.databases`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Self

from datavow.connectors.databases import Catalogue, Databases
from datavow.datamap import LoadedMap, load_map
from datavow.secrets import state_directory
from datavow.store.location import default_state_url

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

    from datavow.plan.identity_keys import IdentityInput
    from datavow.requests.lifecycle import RequestRecord
    from datavow.requests.preview import Preview
    from datavow.requests.restricting import LiftedRestriction, Restricted, RestrictionStatus
    from datavow.requests.service import Progress, RunOptions
    from datavow.requests.submission import Submitted
    from datavow.rotation import Rotation
    from datavow.store import Store
    from datavow.store.key import KeyStatus


class Datavow:
    """One installation of datavow as a process sees it: the data map at ``map_path``, the state
    store at ``state_url`` (by default ``$DATAVOW_STATE_URL``, else ``.datavow/state.db`` beside
    the map), the key, and the databases the map names.

    ``create`` lets the state store be created when it does not exist yet (commands that write);
    readers leave it false, so that reading a store that was never there fails instead of
    reporting an empty one.
    """

    def __init__(self, map_path: Path, *, state_url: str | None = None, create: bool = False) -> None:
        self.map_path = Path(map_path)
        self.state_url = state_url or default_state_url(self.map_path)
        self.create = create
        self.databases = Databases()
        self._lock = threading.Lock()
        self._loaded: LoadedMap | None = None
        self._store: Store | None = None
        self._key: bytes | None = None

    @classmethod
    def open(cls, map_path: Path, *, state_url: str | None = None, create: bool = False) -> Self:
        """The application for the map at ``map_path``; use it in a ``with`` block, or close it."""
        return cls(map_path, state_url=state_url, create=create)

    @property
    def loaded(self) -> LoadedMap:
        """The data map, loaded and resolved the first time it is asked for."""
        if self._loaded is None:
            with self._lock:
                if self._loaded is None:
                    self._loaded = load_map(self.map_path)
        return self._loaded

    @property
    def store(self) -> Store:
        """The state store, opened (and its schema brought up to date) the first time."""
        if self._store is None:
            with self._lock:
                if self._store is None:
                    # imported here: a command that never touches the state store (a dry run, a
                    # check) does not pay for the ORM, the models or Alembic
                    from datavow.store.engine import open_store

                    # the audit log's head is signed with the installation's key, asked for at
                    # the first append: a command that only reads never needs it
                    store = open_store(self.state_url, create=self.create, key=self._signing_key)
                    statements = Catalogue()  # the store's own compiled statements (consent answers)
                    statements.attach(store.engine)
                    statements.attach(store.reader)
                    self._store = store
        return self._store

    def key(self) -> bytes:
        """The installation's key: ``$DATAVOW_SECRET_KEY``, else the key file beside the map,
        checked once against the state store (:func:`datavow.store.key.store_key`): a missing key,
        another store's key or an unfinished rotation is a :class:`~datavow.errors.SecretError`.
        Nothing makes a key here: only creating one on purpose does (:func:`datavow.secrets.create_key`)."""
        if self._key is None:
            store = self.store
            with self._lock:
                if self._key is None:
                    from datavow.store.key import store_key

                    self._key = store_key(store, state_directory(self.map_path))
        return self._key

    def _signing_key(self, session: Session) -> bytes:
        """The key the audit log's head is signed with, checked against the store in the caller's
        transaction (where a store's first key is recorded: a second one would wait on it)."""
        if self._key is None:
            from datavow.secrets import read_key
            from datavow.store.key import check_key_in

            key, where = read_key(state_directory(self.map_path))
            check_key_in(session, self.store, key, where=where, state_dir=state_directory(self.map_path))
            self._key = key
        return self._key

    def create_key(self) -> KeyStatus:
        """Make the installation's key file beside the map and record its fingerprint in the state
        store (:func:`datavow.store.key.create_installation_key`); refused if there is a key already."""
        from datavow.store.key import create_installation_key

        return create_installation_key(self.store, state_directory(self.map_path))

    def key_status(self) -> KeyStatus:
        """Where the key comes from, its fingerprint and the store's, and what is wrong if anything
        (:func:`datavow.store.key.key_status`); refuses nothing."""
        from datavow.store.key import key_status

        return key_status(self.store, state_directory(self.map_path))

    def rotate_key(
        self, actor: str, *, batch: int = 500, progress: Callable[[str, str], None] | None = None
    ) -> Rotation:
        """Seal and hash everything in the state store again under a new key, or finish a rotation
        that was stopped (:func:`datavow.rotation.rotate_key`)."""
        from datavow.rotation import rotate_key

        rotation = rotate_key(self.store, state_directory(self.map_path), actor=actor, batch=batch, progress=progress)
        self._key = None  # the key is the new one now: read and checked again when asked for
        return rotation

    def engines(self, systems: Iterable[str]) -> dict[str, Engine]:
        """An engine for each of the map's ``systems``, made the first time and kept."""
        return self.databases.engines(self.loaded, systems)

    def run_request(
        self,
        request_id: int,
        actor: str,
        *,
        export_dir: Path | None = None,
        corrections: Mapping[str, str] | None = None,
        progress: Progress | None = None,
        now: datetime | None = None,
    ) -> RequestRecord:
        """Execute a verified request (or resume one in progress) and complete it."""
        # imported here: running a request reaches the executors and the letter's templates,
        # which a dry run or a read never needs
        from datavow.requests.service import run_request

        options = self._run_options(export_dir, corrections, progress)
        return run_request(self.store, self.loaded, request_id, options, actor, databases=self.databases, now=now)

    def run_batch(self, request_ids: Iterable[int], actor: str, *, now: datetime | None = None) -> list[RequestRecord]:
        """Execute verified erasure (or restriction) requests of one kind as one plan and complete
        each; the records in the order of their ids (:func:`datavow.requests.service.run_batch`)."""
        from datavow.requests.service import run_batch

        options = self._run_options(None, None, None)
        return run_batch(self.store, self.loaded, list(request_ids), options, actor, databases=self.databases, now=now)

    def submit_request(
        self,
        kind: str,
        identities: IdentityInput,
        *,
        source: str,
        actor: str,
        tenant: str | None = None,
        verified_by: str | None = None,
        export_dir: Path | None = None,
        corrections: Mapping[str, str] | None = None,
        progress: Progress | None = None,
    ) -> Submitted:
        """Receive a request and take it as far as it goes now: forwarded (processor mode),
        received (waiting for verification), or, with ``verified_by``, verified and run
        (:func:`datavow.requests.submit_request`)."""
        from datavow.requests.submission import submit_request

        options = self._run_options(export_dir, corrections, progress) if verified_by is not None else None
        return submit_request(
            self.store,
            self.loaded,
            kind,
            identities,
            source=source,
            actor=actor,
            databases=self.databases,
            tenant=tenant,
            verified_by=verified_by,
            options=options,
        )

    def preview_request(self, identities: Mapping[str, Iterable[str]], *, tenant: str | None = None) -> Preview:
        """A dry run: the plan for this person and the rows each step reaches; nothing is recorded
        (:func:`datavow.requests.preview_request`)."""
        from datavow.requests.preview import preview_request

        return preview_request(self.loaded, identities, databases=self.databases, tenant=tenant)

    def restrict_person(
        self,
        identities: IdentityInput,
        purposes: Iterable[str] | None = None,
        *,
        reason: str,
        actor: str,
        request_id: int | None = None,
    ) -> Restricted:
        """Restrict processing of a person and set the map's restriction flags on their rows
        (:func:`datavow.requests.restrict_person`)."""
        from datavow.requests.restricting import restrict_person

        return restrict_person(
            self.store,
            self.loaded,
            identities,
            purposes,
            reason=reason,
            actor=actor,
            request_id=request_id,
            databases=self.databases,
        )

    def lift_restriction(self, restriction_id: int, reason: str, actor: str) -> LiftedRestriction:
        """Lift a restriction or objection; clear the flags unless another restriction stands
        (:func:`datavow.requests.lift_restriction`)."""
        from datavow.requests.restricting import lift_restriction

        return lift_restriction(self.store, self.loaded, restriction_id, reason, actor, databases=self.databases)

    def restriction_status(self, identities: IdentityInput, purpose: str | None = None) -> RestrictionStatus:
        """Is this person restricted? With ``purpose``: may that purpose process them?
        (:func:`datavow.requests.restriction_status`)."""
        from datavow.requests.restricting import restriction_status

        return restriction_status(self.store, self.loaded, identities, purpose)

    def _run_options(
        self, export_dir: Path | None, corrections: Mapping[str, str] | None, progress: Progress | None
    ) -> RunOptions:
        from datavow.requests.service import RunOptions

        return RunOptions(
            key=self.key(),
            export_dir=export_dir,
            corrections=dict(corrections or {}),
            progress=progress,
        )

    def close(self) -> None:
        """Dispose of every engine and close the state store; the object is done with."""
        with self._lock:
            store, self._store = self._store, None
        self.databases.close()
        if store is not None:
            store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Datavow({str(self.map_path)!r})"
