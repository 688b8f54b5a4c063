"""The connection to the index database: its engine, transactions and the pass lock.

The table families (:mod:`.files`, :mod:`.chunks`, :mod:`.graph`) work through a :class:`Database`;
:class:`~mnemo_dagster.store.database.IndexStore` adds them and the schema on top.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url

from mnemo_dagster.errors import StoreError

PASS_LOCK = 7412
"""Advisory lock class of a pass over one repository; the second key is ``hashtext(name)``."""
LOCK_NOT_AVAILABLE = "55P03"
"""SQLSTATE of a lock wait that ran past ``lock_timeout``."""
INDEX_DRIVER = "psycopg"
"""psycopg 3: the binary ``COPY`` writes of the table families need it."""


def index_url(url: str) -> str:
    """``url`` with the index's driver: a plain ``postgresql://`` (or a psycopg2) URL would get a
    psycopg2 engine, on which the binary ``COPY`` writes fail."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in ("postgresql", "postgres"):
        raise StoreError(f"the index database must be a postgresql:// URL, got {parsed.drivername}://")
    if parsed.drivername == f"postgresql+{INDEX_DRIVER}":
        return url
    return parsed.set(drivername=f"postgresql+{INDEX_DRIVER}").render_as_string(hide_password=False)


class Database:
    """A connection to the index database. Cheap to construct; connects on first use."""

    def __init__(self, url: str) -> None:
        self.url = index_url(url)
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = sa.create_engine(self.url, pool_pre_ping=True, pool_size=2, max_overflow=2)
        return self._engine

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A transaction; connection failures surface as :class:`StoreError`."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except sa.exc.OperationalError as exc:
            raise StoreError(f"the index database is unreachable: {exc.orig or exc}") from exc

    @contextmanager
    def pass_lock(self, repository: str, *, wait_seconds: float = 0.0) -> Iterator[bool]:
        """Hold the lock that marks a pass over ``repository`` as running; yields False if it stays
        taken for ``wait_seconds``.

        ``mnemo index`` holds it for its whole pass and the directory sensor skips a repository whose
        lock it cannot take, so the two never plan or run the same batches twice. The lock belongs to
        the session: if the process or the server dies, PostgreSQL releases it.
        """
        try:
            conn = self.engine.connect()
        except sa.exc.OperationalError as exc:
            raise StoreError(f"the index database is unreachable: {exc.orig or exc}") from exc
        key = {"cls": PASS_LOCK, "name": repository}
        with conn:
            acquired = _take_lock(conn, key, wait_seconds)
            try:
                yield acquired
            finally:
                if acquired:
                    _release_lock(conn, key)

    def has_schema(self) -> bool:
        with self.begin() as conn:
            return sa.inspect(conn).has_table("code_chunks")


def _take_lock(conn: Connection, key: dict[str, object], wait_seconds: float) -> bool:
    """Take the advisory lock ``key``, waiting up to ``wait_seconds`` (PostgreSQL does the waiting)."""
    if wait_seconds <= 0:
        acquired = bool(
            conn.execute(sa.text("SELECT pg_try_advisory_lock(:cls, hashtext(:name))"), key).scalar()
        )
        conn.commit()
        return acquired
    timeout = f"{max(int(wait_seconds * 1000), 1)}ms"
    conn.execute(sa.select(sa.func.set_config("lock_timeout", timeout, False)))
    try:
        conn.execute(sa.text("SELECT pg_advisory_lock(:cls, hashtext(:name))"), key)
        acquired = True
    except sa.exc.OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise StoreError(f"the index database is unreachable: {exc.orig or exc}") from exc
        conn.rollback()
        acquired = False
    conn.execute(sa.select(sa.func.set_config("lock_timeout", "0", False)))
    conn.commit()
    return acquired


def _release_lock(conn: Connection, key: dict[str, object]) -> None:
    try:
        conn.execute(sa.text("SELECT pg_advisory_unlock(:cls, hashtext(:name))"), key)
        conn.commit()
    except sa.exc.DBAPIError:
        # The connection is gone (the server restarted or was killed): the session's locks went with it.
        pass


def database_cause(exc: BaseException) -> BaseException | None:
    """The database error behind ``exc`` (its own or one in its chain of causes), or None."""
    import psycopg
    import psycopg2  # dagster-postgres' driver, loaded only to classify its errors

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, sa.exc.SQLAlchemyError | psycopg.Error | psycopg2.Error):
            return getattr(seen, "orig", None) or seen
        if type(seen).__name__ == "DagsterPostgresException":
            return seen.__cause__ or seen
        seen = seen.__cause__ or seen.__context__
    return None
