"""The index database: its table families, and the schema with the model it was built for.

The tables are served by one object per table family, reached from :class:`IndexStore`:

- :attr:`IndexStore.files`: ``repositories`` and ``source_files`` (:mod:`.files`);
- :attr:`IndexStore.chunks`: ``code_chunks``, written one file per transaction (:mod:`.chunks`);
- :attr:`IndexStore.graph`: ``graph_nodes``, ``graph_edges``, ``graph_metrics`` (:mod:`.graph`);
- search SQL in :mod:`.search`, ``mnemo status`` in :mod:`.reports`.

Every statement is parameterised; nothing user-supplied becomes SQL.
"""

from __future__ import annotations

from functools import cached_property

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection

from mnemo_dagster.errors import ModelMismatchError, StoreError
from mnemo_dagster.store.chunks import ChunkStore
from mnemo_dagster.store.engine import Database
from mnemo_dagster.store.files import FileStore
from mnemo_dagster.store.graph import GraphStore
from mnemo_dagster.store.graph_files import GraphFileStore
from mnemo_dagster.store.schema import (
    CODE_WORDS_FUNCTION,
    LEXICAL_INDEXES,
    MIGRATION_3,
    SCHEMA_VERSION,
    dimensioned_metadata,
    graph_files,
    graph_nodes,
    mnemo_meta,
)

SCHEMA_LOCK = 7411
"""Advisory lock (transaction-scoped) held while the schema is created or migrated."""


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


def _add_graph_files(conn: Connection) -> None:
    """Version 3 -> 4: ``graph_files`` (empty: each graph is built in full once more)."""
    graph_files.create(conn, checkfirst=True)


MIGRATIONS = {
    1: _index_graph_nodes_by_name,
    2: _add_lexical_search_and_git_sources,
    3: _add_graph_files,
}
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


class IndexStore(Database):
    """The index database and its table families. Cheap to construct; connects on first use."""

    @cached_property
    def files(self) -> FileStore:
        return FileStore(self)

    @cached_property
    def chunks(self) -> ChunkStore:
        return ChunkStore(self)

    @cached_property
    def graph(self) -> GraphStore:
        return GraphStore(self)

    @cached_property
    def graph_files(self) -> GraphFileStore:
        return GraphFileStore(self)

    # -- schema -------------------------------------------------------------------------------------

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
