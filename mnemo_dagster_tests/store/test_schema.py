"""The stored schema version: an older index is migrated, a newer one refused with what to do."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from mnemo_dagster.embedding import SentenceTransformerEmbedder
from mnemo_dagster.errors import StoreError
from mnemo_dagster.models import SourceFile
from mnemo_dagster.store.chunks import ChunkRow
from mnemo_dagster.store.database import IndexStore
from mnemo_dagster.store.schema import SCHEMA_VERSION, VECTOR_INDEX, mnemo_meta

LEXICAL_INDEX_NAMES = {
    "code_chunks_lexemes",
    "code_chunks_name_lower",
    "code_chunks_symbol_lower",
    "code_chunks_path_reversed",
    "code_chunks_symbols",
}


def _version(store: IndexStore) -> str | None:
    with store.begin() as conn:
        return conn.execute(
            sa.select(mnemo_meta.c.value).where(mnemo_meta.c.key == "schema_version")
        ).scalar_one_or_none()


def _indexes(store: IndexStore, table: str) -> set[str]:
    with store.begin() as conn:
        return {index["name"] for index in sa.inspect(conn).get_indexes(table)}


def test_a_new_index_records_the_current_version_and_its_declared_indexes(fresh_store: IndexStore) -> None:
    assert _version(fresh_store) == str(SCHEMA_VERSION) == "4"
    assert VECTOR_INDEX.name in _indexes(fresh_store, "code_chunks")
    assert _indexes(fresh_store, "code_chunks") >= LEXICAL_INDEX_NAMES
    assert "graph_nodes_name" in _indexes(fresh_store, "graph_nodes")


def test_a_version_1_index_is_migrated(
    fresh_store: IndexStore, embedder: SentenceTransformerEmbedder
) -> None:
    with fresh_store.begin() as conn:  # what the first release left: no version, no name index
        conn.execute(mnemo_meta.delete().where(mnemo_meta.c.key == "schema_version"))
        conn.execute(sa.text("DROP INDEX graph_nodes_name"))
        conn.execute(sa.text("DROP TABLE graph_files"))
    fresh_store.ensure_schema(embedder.model_name, embedder.dimension)
    assert _version(fresh_store) == "4"
    assert "graph_nodes_name" in _indexes(fresh_store, "graph_nodes")
    with fresh_store.begin() as conn:  # version 4: the per-file facts of the incremental graph
        assert "graph_files" in sa.inspect(conn).get_table_names()


def test_a_version_2_index_gains_the_lexical_index_for_its_rows_and_the_git_source_columns(
    fresh_store: IndexStore, embedder: SentenceTransformerEmbedder
) -> None:
    fresh_store.files.register("r", "/src/r")
    fresh_store.files.apply_scan(
        "r",
        changed=[SourceFile("a.py", "python", 10, 1, "h")],
        touched=[],
        deleted=[],
        plan={"a.py": "r__0001"},
    )
    row = ChunkRow(
        "function", "parsePrice", "a.py::parsePrice", 1, 2, "def parsePrice(): ...", "c", [0.1] * 384, {}
    )
    fresh_store.chunks.write_file(
        "r", "a.py", language="python", content_hash="h", chunks=[row], warning=None
    )
    with fresh_store.begin() as conn:  # what version 2 left: no lexemes, no source columns
        for index in sorted(LEXICAL_INDEX_NAMES):
            conn.execute(sa.text(f"DROP INDEX IF EXISTS {index}"))
        conn.execute(sa.text("ALTER TABLE code_chunks DROP COLUMN lexemes"))
        conn.execute(sa.text("DROP FUNCTION mnemo_code_words"))
        for column in ("source_url", "source_ref", "source_commit"):
            conn.execute(sa.text(f"ALTER TABLE repositories DROP COLUMN {column}"))
        conn.execute(sa.text("DROP TABLE graph_files"))
        conn.execute(mnemo_meta.update().where(mnemo_meta.c.key == "schema_version").values(value="2"))
    assert not LEXICAL_INDEX_NAMES & _indexes(fresh_store, "code_chunks")

    fresh_store.ensure_schema(embedder.model_name, embedder.dimension)

    assert _version(fresh_store) == "4"
    assert _indexes(fresh_store, "code_chunks") >= LEXICAL_INDEX_NAMES
    with fresh_store.begin() as conn:
        lexemes = conn.execute(sa.text("SELECT lexemes::text FROM code_chunks")).scalar_one()
        columns = {c["name"] for c in sa.inspect(conn).get_columns("repositories")}
    # The existing row's lexemes were computed by the migration: the words of the split name and the
    # joined name, stemmed, labelled A from the qualified name and unlabelled (D) from the content.
    assert lexemes == "'def':8,11 'pars':3A,9 'parsepric':7A,12 'price':4A,10 'py':2A,6A"
    assert {"source_url", "source_ref", "source_commit"} <= columns


def test_a_newer_index_is_refused_with_what_to_do(
    fresh_store: IndexStore, embedder: SentenceTransformerEmbedder
) -> None:
    with fresh_store.begin() as conn:
        conn.execute(mnemo_meta.update().where(mnemo_meta.c.key == "schema_version").values(value="99"))
    with pytest.raises(StoreError) as refused:
        fresh_store.ensure_schema(embedder.model_name, embedder.dimension)
    assert str(refused.value) == (
        "this index has schema version 99, written by a newer mnemo-dagster (this one knows version 4). "
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
