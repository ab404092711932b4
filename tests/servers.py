"""Real, throwaway database servers for the test suite.

The suite starts its own PostgreSQL 15 cluster and MariaDB 10.11 server
(listening only on 127.0.0.1, on a free port, with all state in a temporary
directory) so that connector and store tests run against real engines rather
than SQLite look-alikes. Each test that needs a database gets a fresh, empty
one (``postgres_url`` / ``mariadb_url``) that is dropped afterwards.

Environment variables:

``DATAVOW_TEST_POSTGRES_URL`` / ``DATAVOW_TEST_MARIADB_URL``
    Use an existing server instead of starting one. The URL must name a user
    allowed to CREATE/DROP DATABASE (for PostgreSQL, the database in the URL is
    the maintenance database used for that, e.g. ``postgres``).
``DATAVOW_TEST_SERVER_TIMEOUT``
    Seconds to wait for a server to become ready (default 60).
``CI``
    When ``true``, a missing server binary fails the tests instead of skipping
    them, so CI can never go green by silently skipping the database tests.

Fixtures are defined here and wired into the suite by ``tests/conftest.py``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NoReturn

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

POSTGRES_URL_ENV = "DATAVOW_TEST_POSTGRES_URL"
MARIADB_URL_ENV = "DATAVOW_TEST_MARIADB_URL"
STARTUP_TIMEOUT_ENV = "DATAVOW_TEST_SERVER_TIMEOUT"
DEFAULT_STARTUP_TIMEOUT = 60.0

#: Where Debian's ``postgresql-15`` package puts the server binaries. Searched
#: first; PATH, ``pg_config --bindir`` and other installed majors follow.
POSTGRES_BINDIR_CANDIDATES: tuple[str, ...] = ("/usr/lib/postgresql/15/bin",)
#: Searched after PATH for mariadbd & co. and runuser: a non-root PATH
#: usually lacks /usr/sbin, where Debian puts ``mariadbd`` and ``runuser``.
EXTRA_BIN_DIRS: tuple[str, ...] = ("/usr/sbin", "/usr/bin", "/sbin")

POSTGRES_MISSING = (
    "PostgreSQL server binaries (initdb, pg_ctl) not found; install the Debian "
    "package 'postgresql-15' (apt-get install -y postgresql-15) or set "
    f"{POSTGRES_URL_ENV}"
)
MARIADB_MISSING = (
    "MariaDB server binaries (mariadbd, mariadb-install-db, my_print_defaults) "
    "not found; install the Debian packages 'mariadb-server-core' and "
    "'mariadb-client-core' (apt-get install -y mariadb-server-core "
    f"mariadb-client-core) or set {MARIADB_URL_ENV}"
)

Kind = Literal["postgresql", "mariadb"]

# Names we generate are plain identifiers; anything else is refused so that
# interpolating them into CREATE/DROP DATABASE can never inject SQL.
_DB_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_PORT_IN_USE = "Address already in use"
_PORT_ATTEMPTS = 3


class ServerUnavailable(Exception):
    """A server cannot be provided here (binary or system user missing)."""


class ServerStartError(RuntimeError):
    """A server was found but failed to initialise or become ready."""

    def __init__(self, message: str, log_path: Path | None = None) -> None:
        if log_path is not None:
            message = f"{message}\n--- last lines of {log_path} ---\n{_tail(log_path)}"
        super().__init__(message)


@dataclass(eq=False)
class DatabaseServer:
    """A running database server that tests may create databases on.

    ``url`` is the administrative SQLAlchemy URL (as a string, password
    included): for PostgreSQL it points at the ``postgres`` maintenance
    database, for MariaDB it names no database.
    """

    kind: Kind
    url: str
    managed: bool
    """True when the test suite started (and will stop) this server."""
    base_dir: Path | None = None
    """Temporary directory holding data dir, socket and log (managed only)."""
    log_path: Path | None = None
    _stop: Callable[[], None] | None = field(default=None, repr=False)

    @property
    def host(self) -> str:
        return make_url(self.url).host or ""

    @property
    def port(self) -> int | None:
        return make_url(self.url).port

    def url_for(self, database: str) -> str:
        """The URL of ``database`` on this server (a string, password kept)."""
        return make_url(self.url).set(database=database).render_as_string(hide_password=False)

    def create_database(self, prefix: str = "dv_test") -> str:
        """Create a new, empty database with a unique name and return the name."""
        name = f"{prefix}_{uuid.uuid4().hex[:16]}"
        _check_db_name(name)
        with _admin_connection(self.url) as conn:
            if self.kind == "postgresql":
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
            else:
                conn.execute(sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
        return name

    def drop_database(self, name: str) -> None:
        """Drop ``name``, first disconnecting sessions a test may have leaked."""
        _check_db_name(name)
        with _admin_connection(self.url) as conn:
            if self.kind == "postgresql":
                conn.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                )
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
            else:
                # An idle transaction holding a metadata lock would block DROP.
                ids = conn.execute(
                    sa.text("SELECT id FROM information_schema.processlist WHERE db = :name AND id <> CONNECTION_ID()"),
                    {"name": name},
                ).scalars()
                for session_id in list(ids):
                    with contextlib.suppress(sa.exc.DBAPIError):  # already gone
                        conn.execute(sa.text(f"KILL CONNECTION {int(session_id)}"))
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))

    @contextlib.contextmanager
    def fresh_database(self, prefix: str = "dv_test") -> Iterator[str]:
        """Create a fresh database, yield its URL, drop it afterwards."""
        name = self.create_database(prefix)
        try:
            yield self.url_for(name)
        finally:
            self.drop_database(name)

    def stop(self) -> None:
        """Stop a managed server and delete its files; idempotent."""
        stop, self._stop = self._stop, None
        if stop is not None:
            _LIVE_SERVERS.remove(self)
            stop()


# ---------------------------------------------------------------------------
# pytest fixtures (wired in by tests/conftest.py)
# ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[DatabaseServer]:
    """A PostgreSQL server for the whole session (started unless env URL set)."""
    yield from _session_server("postgresql", POSTGRES_URL_ENV, start_postgres)


@pytest.fixture(scope="session")
def mariadb_server() -> Iterator[DatabaseServer]:
    """A MariaDB server for the whole session (started unless env URL set)."""
    yield from _session_server("mariadb", MARIADB_URL_ENV, start_mariadb)


@pytest.fixture
def postgres_url(postgres_server: DatabaseServer) -> Iterator[str]:
    """URL (``postgresql+psycopg://...``) of a fresh, empty database for one test."""
    with postgres_server.fresh_database() as url:
        yield url


@pytest.fixture
def mariadb_url(mariadb_server: DatabaseServer) -> Iterator[str]:
    """URL (``mysql+pymysql://...``) of a fresh, empty database for one test."""
    with mariadb_server.fresh_database() as url:
        yield url


def _session_server(kind: Kind, env_var: str, start: Callable[[], DatabaseServer]) -> Iterator[DatabaseServer]:
    external = os.environ.get(env_var, "").strip()
    if external:
        yield DatabaseServer(kind=kind, url=_normalise_url(kind, external), managed=False)
        return
    missing: str | None = None
    try:
        server = start()
    except ServerUnavailable as exc:
        missing = str(exc)
    if missing is not None:
        _unavailable(missing)  # outside the except: no chained traceback
    try:
        yield server
    finally:
        server.stop()


def _unavailable(message: str) -> NoReturn:
    if os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}:
        pytest.fail(
            f"{message} (CI is set: a missing database server is a failure, not a skip)",
            pytrace=False,
        )
    pytest.skip(message)


def _normalise_url(kind: Kind, raw: str) -> str:
    """Pin the drivers we ship with (psycopg 3, PyMySQL) if the URL names none."""
    url = make_url(raw)
    if kind == "postgresql" and url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    elif kind == "mariadb" and url.drivername in {"mysql", "mariadb"}:
        url = url.set(drivername="mysql+pymysql")
    return url.render_as_string(hide_password=False)


# ---------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------


def find_postgres_bindir() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``, or None."""
    candidates: list[Path] = [Path(p) for p in POSTGRES_BINDIR_CANDIDATES]
    # Not resolved: on Debian, /usr/bin tools may be pg_wrapper symlinks.
    initdb_on_path = shutil.which("initdb")
    if initdb_on_path:
        candidates.append(Path(initdb_on_path).parent)
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"],
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            ).stdout.strip()
            if out:
                candidates.append(Path(out))
    # Any other major Debian installed, newest first.
    others = Path("/usr/lib/postgresql").glob("*/bin")
    candidates.extend(sorted(others, key=lambda p: _version_key(p.parent.name), reverse=True))
    for bindir in candidates:
        if all(os.access(bindir / tool, os.X_OK) for tool in ("initdb", "pg_ctl")):
            return bindir
    return None


def start_postgres(settings: Mapping[str, str] | None = None) -> DatabaseServer:
    """Create a cluster with initdb in a temp dir and start it with pg_ctl; ``settings`` are
    more ``postgresql.conf`` lines (a benchmark's ``shared_buffers``, say)."""
    bindir = find_postgres_bindir()
    if bindir is None:
        raise ServerUnavailable(POSTGRES_MISSING)
    # initdb refuses to run as root, so as root everything runs as `postgres`.
    run_as = _service_user("postgres", "postgresql-common") if os.geteuid() == 0 else None

    base = _make_base_dir("datavow-pg-", run_as)
    data_dir = base / "data"
    log_path = base / "postgres.log"
    timeout = _startup_timeout()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    pg_ctl = str(bindir / "pg_ctl")

    def stop() -> None:
        try:
            for mode in ("fast", "immediate"):
                result = subprocess.run(
                    _as_user(
                        run_as,
                        [
                            pg_ctl,
                            "-D",
                            str(data_dir),
                            "-m",
                            mode,
                            "-w",
                            "-t",
                            "30",
                            "stop",
                        ],
                    ),
                    capture_output=True,
                    text=True,
                    env=env,
                    cwd=base,
                    stdin=subprocess.DEVNULL,
                    check=False,
                )
                if result.returncode == 0 or not (data_dir / "postmaster.pid").exists():
                    break
        finally:
            shutil.rmtree(base, ignore_errors=True)

    try:
        _run(
            _as_user(
                run_as,
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(data_dir),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-locale",
                    "--no-sync",
                ],
            ),
            what="initdb",
            env=env,
            cwd=base,
            timeout=timeout,
        )
        socket_dir = str(base).replace("'", "''")
        with open(data_dir / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(
                "\n# datavow test suite: loopback only, sockets in the temp dir, and\n"
                "# durability off because the cluster is thrown away after the run.\n"
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{socket_dir}'\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
            )
            for name, value in (settings or {}).items():
                conf.write(f"{name} = '{value}'\n")
        for attempt in range(1, _PORT_ATTEMPTS + 1):
            port = _free_port()
            log_offset = log_path.stat().st_size if log_path.exists() else 0
            result = subprocess.run(
                _as_user(
                    run_as,
                    [
                        pg_ctl,
                        "-D",
                        str(data_dir),
                        "-l",
                        str(log_path),
                        "-o",
                        f"-p {port}",
                        "-w",
                        "-t",
                        str(max(1, round(timeout))),
                        "start",
                    ],
                ),
                capture_output=True,
                text=True,
                env=env,
                cwd=base,
                stdin=subprocess.DEVNULL,
                check=False,
            )
            if result.returncode == 0:
                break
            if attempt < _PORT_ATTEMPTS and _PORT_IN_USE in _read_from(log_path, log_offset):
                continue  # lost the race for the free port; pick another
            raise ServerStartError(
                f"PostgreSQL failed to start (pg_ctl exit {result.returncode}):\n{result.stdout}{result.stderr}",
                log_path,
            )
        url = URL.create(
            "postgresql+psycopg",
            username="postgres",
            host="127.0.0.1",
            port=port,
            database="postgres",
        ).render_as_string(hide_password=False)
        _wait_for_sql(url, "PostgreSQL", log_path, timeout)
    except BaseException:
        stop()
        raise
    return _register(DatabaseServer("postgresql", url, True, base, log_path, stop))


# ---------------------------------------------------------------------------
# MariaDB
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MariaDBBinaries:
    server: Path
    install_db: Path


def find_mariadb_binaries() -> MariaDBBinaries | None:
    """``mariadbd`` and ``mariadb-install-db`` (or their mysql* names), or None."""
    server = _which_any(("mariadbd", "mysqld"))
    install_db = _which_any(("mariadb-install-db", "mysql_install_db"))
    # mariadb-install-db shells out to my_print_defaults, which Debian ships
    # in mariadb-client-core, not mariadb-server-core.
    print_defaults = _which_any(("my_print_defaults",))
    if server is None or install_db is None or print_defaults is None:
        return None
    return MariaDBBinaries(server=server, install_db=install_db)


def start_mariadb() -> DatabaseServer:
    """Initialise a datadir with mariadb-install-db and run mariadbd on it."""
    binaries = find_mariadb_binaries()
    if binaries is None:
        raise ServerUnavailable(MARIADB_MISSING)
    # mariadbd refuses to run as root unless told to. Debian's *-core packages
    # create no `mysql` user, and the server never leaves its temp dir, so
    # running it as root is the simplest robust choice.
    user_args = ["--user=root"] if os.geteuid() == 0 else []

    base = _make_base_dir("datavow-mariadb-", None)
    data_dir = base / "data"
    tmp_dir = base / "tmp"
    tmp_dir.mkdir()
    sock = base / "mariadbd.sock"
    log_path = base / "mariadbd.log"
    timeout = _startup_timeout()
    proc: subprocess.Popen[bytes] | None = None

    def stop() -> None:
        try:
            if proc is not None and proc.poll() is None:
                proc.terminate()  # SIGTERM is mariadbd's clean shutdown
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
        finally:
            shutil.rmtree(base, ignore_errors=True)

    try:
        _run(
            [
                str(binaries.install_db),
                "--no-defaults",
                f"--datadir={data_dir}",
                # root@localhost without password, reachable over the socket only
                # (--skip-name-resolve); tests use a password user over TCP.
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--skip-name-resolve",
                *user_args,
            ],
            what="mariadb-install-db",
            env=None,
            cwd=base,
            timeout=timeout,
        )
        for attempt in range(1, _PORT_ATTEMPTS + 1):
            port = _free_port()
            log_offset = log_path.stat().st_size if log_path.exists() else 0
            with open(log_path, "ab") as log:
                # No --log-error: the error log goes to stderr, i.e. log_path.
                proc = subprocess.Popen(
                    [
                        str(binaries.server),
                        "--no-defaults",
                        *user_args,
                        f"--datadir={data_dir}",
                        f"--socket={sock}",
                        f"--port={port}",
                        "--bind-address=127.0.0.1",
                        f"--pid-file={base / 'mariadbd.pid'}",
                        f"--tmpdir={tmp_dir}",
                        "--skip-name-resolve",
                        "--skip-log-bin",
                        # What Debian's packaged config sets; upstream default is latin1.
                        "--character-set-server=utf8mb4",
                        "--collation-server=utf8mb4_unicode_ci",
                        # Throwaway data: trade durability for speed, and avoid
                        # native AIO/io_uring, which containers often forbid.
                        "--innodb-flush-log-at-trx-commit=0",
                        "--innodb-doublewrite=0",
                        "--innodb-use-native-aio=0",
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=base,
                )
            root_url = URL.create(
                "mysql+pymysql",
                username="root",
                host="localhost",
                query={"unix_socket": str(sock)},
            ).render_as_string(hide_password=False)
            try:
                _wait_for_sql(
                    root_url,
                    "MariaDB",
                    log_path,
                    timeout,
                    process=proc,
                )
                break
            except ServerStartError:
                if attempt < _PORT_ATTEMPTS and _PORT_IN_USE in _read_from(log_path, log_offset):
                    proc.wait(timeout=30)  # it has exited; pick another port
                    continue
                raise
        with _admin_connection(root_url) as conn:
            conn.execute(sa.text("CREATE USER 'datavow'@'%' IDENTIFIED BY 'datavow'"))
            conn.execute(sa.text("GRANT ALL PRIVILEGES ON *.* TO 'datavow'@'%' WITH GRANT OPTION"))
        url = URL.create(
            "mysql+pymysql",
            username="datavow",
            password="datavow",
            host="127.0.0.1",
            port=port,
            query={"charset": "utf8mb4"},
        ).render_as_string(hide_password=False)
        _wait_for_sql(url, "MariaDB", log_path, timeout, process=proc)
    except BaseException:
        stop()
        raise
    return _register(DatabaseServer("mariadb", url, True, base, log_path, stop))


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

# Servers still running; stopped at interpreter exit if a fixture finaliser
# never ran (e.g. pytest aborted mid-session).
_LIVE_SERVERS: list[DatabaseServer] = []


def _register(server: DatabaseServer) -> DatabaseServer:
    _LIVE_SERVERS.append(server)
    return server


@atexit.register
def _stop_all_servers() -> None:
    while _LIVE_SERVERS:  # stop() removes each server from the list
        with contextlib.suppress(Exception):
            _LIVE_SERVERS[-1].stop()


@contextlib.contextmanager
def _admin_connection(url: str) -> Iterator[sa.Connection]:
    """An autocommit connection (CREATE/DROP DATABASE cannot run in a transaction)."""
    engine = sa.create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def _wait_for_sql(
    url: str,
    what: str,
    log_path: Path,
    timeout: float,
    process: subprocess.Popen[bytes] | None = None,
) -> None:
    """Poll until ``SELECT 1`` succeeds on ``url``; raise with the log tail if not.

    ``process`` is the server we started, if we own it (pg_ctl daemonises):
    its exit ends the wait early instead of running into the timeout.
    """
    engine = sa.create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 5})
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    try:
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                raise ServerStartError(f"{what} exited during startup", log_path)
            try:
                with engine.connect() as conn:
                    conn.execute(sa.text("SELECT 1"))
                return
            except sa.exc.OperationalError as exc:
                last_error = exc
                time.sleep(0.1)
    finally:
        engine.dispose()
    raise ServerStartError(
        f"{what} not ready after {timeout:.0f}s (set {STARTUP_TIMEOUT_ENV} to wait longer); last error: {last_error}",
        log_path,
    )


def _run(
    cmd: Sequence[str],
    *,
    what: str,
    env: dict[str, str] | None,
    cwd: Path,
    timeout: float,
) -> None:
    try:
        result = subprocess.run(
            list(cmd),
            capture_output=True,
            text=True,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ServerStartError(f"{what} timed out after {timeout:.0f}s: {shlex.join(cmd)}") from exc
    if result.returncode != 0:
        output = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
        raise ServerStartError(f"{what} failed (exit {result.returncode}): {shlex.join(cmd)}\n{output}")


def _service_user(name: str, package: str) -> str:
    try:
        pwd.getpwnam(name)
    except KeyError:
        raise ServerUnavailable(
            f"running as root needs the '{name}' system user (Debian package '{package}')"
        ) from None
    return name


def _as_user(user: str | None, cmd: Sequence[str]) -> list[str]:
    """``cmd`` run as ``user`` (we are root), or unchanged when ``user`` is None."""
    if user is None:
        return list(cmd)
    runuser = _which_any(("runuser",))
    if runuser is not None:
        return [str(runuser), "-u", user, "--", *cmd]
    return ["su", user, "-s", "/bin/sh", "-c", shlex.join(cmd)]


def _make_base_dir(prefix: str, owner: str | None) -> Path:
    # tempfile rather than pytest's tmp_path: pytest's base dir is mode 0700
    # and root-owned, so the `postgres` user could not reach into it. The
    # path is also kept short because unix socket paths are limited to ~107.
    base = Path(tempfile.mkdtemp(prefix=prefix))
    if owner is not None:
        entry = pwd.getpwnam(owner)
        os.chown(base, entry.pw_uid, entry.pw_gid)
    return base


def _which_any(names: Sequence[str]) -> Path | None:
    search = os.pathsep.join([os.environ.get("PATH", ""), *EXTRA_BIN_DIRS])
    for name in names:
        found = shutil.which(name, path=search)
        if found:
            return Path(found)
    return None


def _free_port() -> int:
    """A currently free TCP port on 127.0.0.1 (callers retry if it is taken)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _startup_timeout() -> float:
    raw = os.environ.get(STARTUP_TIMEOUT_ENV, "")
    try:
        return float(raw) if raw else DEFAULT_STARTUP_TIMEOUT
    except ValueError:
        return DEFAULT_STARTUP_TIMEOUT


def _check_db_name(name: str) -> None:
    if not _DB_NAME.match(name):
        raise ValueError(f"refusing unsafe database name {name!r}")


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text))


def _read_from(path: Path, offset: int) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            fh.seek(offset)
            return fh.read()
    except OSError:
        return ""


def _tail(path: Path, lines: int = 40) -> str:
    text = _read_from(path, 0)
    return "\n".join(text.splitlines()[-lines:]) if text else "(log empty or missing)"
