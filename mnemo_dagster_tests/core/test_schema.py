"""The stored schema version: an older index is migrated, a newer one refused with what to do."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from mnemo_dagster.core.embedding import SentenceTransformerEmbedder
from mnemo_dagster.core.errors import StoreError
from mnemo_dagster.core.store.database import IndexStore
from mnemo_dagster.core.store.schema import SCHEMA_VERSION, VECTOR_INDEX, mnemo_meta


def _version(store: IndexStore) -> str | None:
    with store.begin() as conn:
        return conn.execute(
            sa.select(mnemo_meta.c.value).where(mnemo_meta.c.key == "schema_version")
        ).scalar_one_or_none()


def _indexes(store: IndexStore, table: str) -> set[str]:
    with store.begin() as conn:
        return {index["name"] for index in sa.inspect(conn).get_indexes(table)}


def test_a_new_index_records_the_current_version_and_its_declared_indexes(fresh_store: IndexStore) -> None:
    assert _version(fresh_store) == str(SCHEMA_VERSION) == "2"
    assert VECTOR_INDEX.name in _indexes(fresh_store, "code_chunks")
    assert "graph_nodes_name" in _indexes(fresh_store, "graph_nodes")


def test_a_version_1_index_is_migrated(
    fresh_store: IndexStore, embedder: SentenceTransformerEmbedder
) -> None:
    with fresh_store.begin() as conn:  # what the first release left: no version, no name index
        conn.execute(mnemo_meta.delete().where(mnemo_meta.c.key == "schema_version"))
        conn.execute(sa.text("DROP INDEX graph_nodes_name"))
    fresh_store.ensure_schema(embedder.model_name, embedder.dimension)
    assert _version(fresh_store) == "2"
    assert "graph_nodes_name" in _indexes(fresh_store, "graph_nodes")


def test_a_newer_index_is_refused_with_what_to_do(
    fresh_store: IndexStore, embedder: SentenceTransformerEmbedder
) -> None:
    with fresh_store.begin() as conn:
        conn.execute(mnemo_meta.update().where(mnemo_meta.c.key == "schema_version").values(value="99"))
    with pytest.raises(StoreError) as refused:
        fresh_store.ensure_schema(embedder.model_name, embedder.dimension)
    assert str(refused.value) == (
        "this index has schema version 99, written by a newer mnemo-dagster (this one knows version 2). "
        "Upgrade mnemo-dagster, or use another MNEMO_HOME / MNEMO_DATABASE_URL."
    )


def test_the_vector_index_can_be_dropped_and_built_again(fresh_store: IndexStore) -> None:
    fresh_store.chunks.drop_vector_index()
    assert VECTOR_INDEX.name not in _indexes(fresh_store, "code_chunks")
    assert fresh_store.chunks.ensure_vector_index() is True
    assert fresh_store.chunks.ensure_vector_index() is False  # already there
    with fresh_store.begin() as conn:
        definition = conn.execute(
            sa.text("SELECT indexdef FROM pg_indexes WHERE indexname = :name"), {"name": VECTOR_INDEX.name}
        ).scalar_one()
    assert "USING hnsw (embedding vector_cosine_ops)" in definition
