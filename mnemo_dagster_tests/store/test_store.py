from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa

from mnemo_dagster.errors import ModelMismatchError
from mnemo_dagster.models import SourceFile
from mnemo_dagster.store.chunks import ChunkRow
from mnemo_dagster.store.database import IndexStore
from mnemo_dagster.store.schema import code_chunks

DIM = 384


def _chunk(name: str, line: int, vector: np.ndarray, content_hash: str) -> ChunkRow:
    return ChunkRow(
        "function",
        name,
        f"a.py::{name}",
        line,
        line + 1,
        f"def {name}(): ...",
        content_hash,
        vector,
        {"symbols": [], "references": []},
    )


def _register(store: IndexStore, path: str = "a.py") -> None:
    store.files.register("r", "/src/r")
    store.files.apply_scan(
        "r", changed=[SourceFile(path, "python", 10, 1, "h1")], touched=[], deleted=[], plan={path: "r__0001"}
    )


def _write(store: IndexStore, content_hash: str, *chunks: ChunkRow, warning: str | None = None) -> None:
    """Replace ``a.py``'s rows (registered by :func:`_register`) with ``chunks``."""
    store.chunks.write_file(
        "r", "a.py", language="python", content_hash=content_hash, chunks=list(chunks), warning=warning
    )


def test_another_model_or_dimension_is_refused_with_a_clear_message(fresh_store: IndexStore) -> None:
    with pytest.raises(
        ModelMismatchError, match="built with sentence-transformers/all-MiniLM-L6-v2 \\(384-d"
    ):
        fresh_store.ensure_schema("jinaai/jina-embeddings-v2-base-code", 768)
    with pytest.raises(ModelMismatchError):
        fresh_store.ensure_schema("some/other-384-model", 384)
    fresh_store.ensure_schema("sentence-transformers/all-MiniLM-L6-v2", 384)  # the same model is fine


def test_rewriting_a_file_replaces_its_rows_instead_of_adding(fresh_store: IndexStore) -> None:
    _register(fresh_store)
    vec = np.ones(DIM, dtype=np.float32) / np.sqrt(DIM)
    for _ in range(3):  # a retried or orphaned step writes the same file again
        _write(fresh_store, "h1", _chunk("f", 1, vec, "c1"), _chunk("g", 3, vec, "c2"))
    with fresh_store.begin() as conn:
        names = conn.execute(sa.text("SELECT name FROM code_chunks ORDER BY name")).scalars().all()
        status = conn.execute(sa.text("SELECT status, chunk_count FROM source_files")).one()
    assert names == ["f", "g"]
    assert tuple(status) == ("indexed", 2)
    reused = fresh_store.chunks.reusable_embeddings(["c1", "zzz"])
    assert set(reused) == {"c1"}
    assert np.allclose(np.asarray(reused["c1"]), vec)


def test_names_and_contents_are_data_never_sql(fresh_store: IndexStore) -> None:
    evil = "x'); DROP TABLE code_chunks; --.py"
    _register(fresh_store, evil)
    vec = np.zeros(DIM, dtype=np.float32)
    vec[0] = 1
    row = ChunkRow("module", None, evil, 1, 1, "'; DELETE FROM source_files; --", "c3", vec, {})
    fresh_store.chunks.write_file("r", evil, language="python", content_hash="h1", chunks=[row], warning=None)
    assert list(fresh_store.files.stored("r")) == [evil]
    with fresh_store.begin() as conn:
        stored = conn.execute(sa.text("SELECT file_path, qualified_name, content FROM code_chunks")).one()
    assert tuple(stored) == (evil, evil, "'; DELETE FROM source_files; --")


def test_marking_a_file_failed_removes_its_chunks_and_keeps_the_reason(fresh_store: IndexStore) -> None:
    _register(fresh_store)
    vec = np.ones(DIM, dtype=np.float32) / np.sqrt(DIM)
    _write(fresh_store, "h1", _chunk("f", 1, vec, "c1"))
    fresh_store.chunks.mark_file("r", "a.py", "failed", "not valid UTF-8")
    stored = fresh_store.files.stored("r")["a.py"]
    assert (stored.status, stored.error) == ("failed", "not valid UTF-8")
    with fresh_store.begin() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM code_chunks")).scalar_one() == 0


def test_copied_rows_keep_vectors_bit_for_bit_and_every_column(fresh_store: IndexStore) -> None:
    _register(fresh_store)
    vectors = np.random.default_rng(7).standard_normal((2, DIM)).astype(np.float32)
    unnamed = ChunkRow(
        "module",
        None,
        "a.py",
        1,
        9,
        "# naïve café ☕\nx = 1",
        "c2",
        [float(v) for v in vectors[1]],
        {"n": [1, {"ü": None}]},
    )
    _write(fresh_store, "h1", _chunk("f", 1, vectors[0], "c1"), unnamed, warning="w")
    c = code_chunks.c
    with fresh_store.begin() as conn:
        rows = conn.execute(
            sa.select(
                c.name,
                c.kind,
                c.start_line,
                c.end_line,
                c.content,
                c.embedding,
                c.metadata,
                sa.cast(c.lexemes, sa.Text).label("lexemes"),
            ).order_by(c.start_line, c.name.nulls_last())
        ).all()
    assert [(r.name, r.kind, r.start_line, r.end_line) for r in rows] == [
        ("f", "function", 1, 2),
        (None, "module", 1, 9),
    ]
    assert rows[1].content == "# naïve café ☕\nx = 1"
    assert rows[1].metadata == {"n": [1, {"ü": None}]}
    for row, vector in zip(rows, vectors, strict=True):
        assert np.array_equal(np.asarray(row.embedding, dtype=np.float32), vector)
    assert "'caf'" in rows[1].lexemes  # the generated lexical column is filled as for an INSERT


def test_a_file_whose_rows_cannot_be_stored_keeps_its_previous_rows(fresh_store: IndexStore) -> None:
    _register(fresh_store)
    good = np.ones(DIM, dtype=np.float32) / np.sqrt(DIM)
    _write(fresh_store, "h1", _chunk("f", 1, good, "c1"))
    bad = np.full(DIM, np.nan, dtype=np.float32)  # pgvector refuses NaN
    with pytest.raises(sa.exc.DataError, match="NaN not allowed in vector"):
        _write(fresh_store, "h2", _chunk("g", 1, good, "c2"), _chunk("h", 3, bad, "c3"))
    with fresh_store.begin() as conn:
        names = conn.execute(sa.text("SELECT name FROM code_chunks")).scalars().all()
    assert names == ["f"]
    assert fresh_store.files.stored("r")["a.py"].indexed_hash == "h1"
