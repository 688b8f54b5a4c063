"""The index database: its engine, its locks, and the schema with the model it was built for.

The tables are served by one object per table family, reached from :class:`IndexStore`:

- :attr:`IndexStore.files`: ``repositories`` and ``source_files`` (:mod:`.files`);
- :attr:`IndexStore.chunks`: ``code_chunks``, written one file per transaction (:mod:`.chunks`);
- :attr:`IndexStore.graph`: ``graph_nodes``, ``graph_edges``, ``graph_metrics`` (:mod:`.graph`);
- search SQL in :mod:`.search`, ``mnemo status`` in :mod:`.reports`.

Every statement is parameterised; nothing user-supplied becomes SQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection, Engine

from mnemo_dagster.core.errors import ModelMismatchError, StoreError
from mnemo_dagster.core.store.chunks import ChunkStore
from mnemo_dagster.core.store.files import FileStore
from mnemo_dagster.core.store.graph import GraphStore
from mnemo_dagster.core.store.schema import (
    CODE_WORDS_FUNCTION,
    LEXICAL_INDEXES,
    MIGRATION_3,
    SCHEMA_VERSION,
    dimensioned_metadata,
    graph_nodes,
    mnemo_meta,
)

SCHEMA_LOCK = 7411
"""Advisory lock (transaction-scoped) held while the schema is created or migrated."""
PASS_LOCK = 7412
"""Advisory lock class of a pass over one repository; the second key is ``hashtext(name)``."""
LOCK_NOT_AVAILABLE = "55P03"
"""SQLSTATE of a lock wait that ran past ``lock_timeout``."""


def _index_graph_nodes_by_name(conn: Connection) -> None:
    for index in graph_nodes.indexes:
        if index.name == "graph_nodes_name":
            index.create(conn, checkfirst=True)


def _create_lexical_indexes(conn: Connection) -> None:
    for statement in LEXICAL_INDEXES:
        conn.execute(sa.text(statement))


def _add_lexical_search_and_git_sources(conn: Connection) -> None:
    """Version 2 -> 3: the generated ``lexemes`` column with its indexes, and the git source columns
    of ``repositories``."""
    for statement in MIGRATION_3:
        conn.execute(sa.text(statement))
    _create_lexical_indexes(conn)


MIGRATIONS = {1: _index_graph_nodes_by_name, 2: _add_lexical_search_and_git_sources}
"""Schema version -> the step that brings an index of that version to the next one."""


def check_model(stored: tuple[str, int], model: str, dimension: int) -> None:
    """Raise :class:`ModelMismatchError` unless ``stored`` is (``model``, ``dimension``)."""
    stored_model, stored_dim = stored
    if (stored_model, stored_dim) != (model, dimension):
        raise ModelMismatchError(
            f"this index was built with {stored_model} ({stored_dim}-d vectors) but the configured model is "
            f"{model} ({dimension}-d). Set MNEMO_EMBEDDING_MODEL back to {stored_model}, or use another "
            "MNEMO_HOME / MNEMO_DATABASE_URL for the new model."
        )


class IndexStore:
    """The index database. Cheap to construct; connects on first use."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = sa.create_engine(self.url, pool_pre_ping=True, pool_size=2, max_overflow=2)
        return self._engine

    @cached_property
    def files(self) -> FileStore:
        return FileStore(self)

    @cached_property
    def chunks(self) -> ChunkStore:
        return ChunkStore(self)

    @cached_property
    def graph(self) -> GraphStore:
        return GraphStore(self)

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

    # -- schema -------------------------------------------------------------------------------------

    def has_schema(self) -> bool:
        with self.begin() as conn:
            return sa.inspect(conn).has_table("code_chunks")

    def _meta(self, conn: Connection) -> dict[str, str]:
        return dict(conn.execute(sa.select(mnemo_meta.c.key, mnemo_meta.c.value)).all())

    def stored_model(self) -> tuple[str, int] | None:
        """(model name, dimension) the index was built with, or None before the first build."""
        if not self.has_schema():
            return None
        with self.begin() as conn:
            rows = self._meta(conn)
        if "embedding_model" not in rows:
            return None
        return rows["embedding_model"], int(rows["embedding_dim"])

    def ensure_schema(self, model: str, dimension: int) -> None:
        """Create the tables for ``model``, or check that the existing index was built with it and
        bring an index of an older schema version up to date."""
        with self.begin() as conn:
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(SCHEMA_LOCK)))
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS vector"))
            if not sa.inspect(conn).has_table("mnemo_meta"):
                conn.execute(sa.text(CODE_WORDS_FUNCTION))  # the generated lexemes column calls it
                dimensioned_metadata(dimension).create_all(conn)
                _create_lexical_indexes(conn)
                conn.execute(
                    mnemo_meta.insert(),
                    [
                        {"key": "embedding_model", "value": model},
                        {"key": "embedding_dim", "value": str(dimension)},
                        {"key": "schema_version", "value": str(SCHEMA_VERSION)},
                    ],
                )
                return
            rows = self._meta(conn)
            if "embedding_model" not in rows:
                raise StoreError(
                    "the index database holds mnemo's tables but no record of its model; "
                    "point MNEMO_HOME / MNEMO_DATABASE_URL at an empty database"
                )
            check_model((rows["embedding_model"], int(rows["embedding_dim"])), model, dimension)
            _migrate(conn, int(rows.get("schema_version", 1)))


def _migrate(conn: Connection, version: int) -> None:
    """Bring the schema from ``version`` to :data:`SCHEMA_VERSION`, or refuse a newer one."""
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"this index has schema version {version}, written by a newer mnemo-dagster (this one knows "
            f"version {SCHEMA_VERSION}). Upgrade mnemo-dagster, or use another MNEMO_HOME / "
            "MNEMO_DATABASE_URL."
        )
    if version == SCHEMA_VERSION:
        return
    for step in range(version, SCHEMA_VERSION):
        MIGRATIONS[step](conn)
    stmt = pg_insert(mnemo_meta).values(key="schema_version", value=str(SCHEMA_VERSION))
    conn.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={"value": stmt.excluded.value}))


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
