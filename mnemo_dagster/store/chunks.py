"""The ``code_chunks`` table: per-file writes (one transaction each) and the HNSW index.

Writes are idempotent: a file's rows are replaced in one transaction, so a retried or orphaned step
can never leave duplicates or half a file behind.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import distinct_on

from mnemo_dagster.store.copying import copy_rows
from mnemo_dagster.store.schema import VECTOR_INDEX, code_chunks, copy_columns, slices, source_files, utc_now

if TYPE_CHECKING:
    from mnemo_dagster.store.engine import Database

CHUNK_COLUMNS = copy_columns(code_chunks)
"""The columns :meth:`ChunkStore.write_file` copies, with their PostgreSQL types, in the table's order
(which its rows follow)."""

VECTOR_INDEX_BUILD_MEMORY = "512MB"
"""``maintenance_work_mem`` for building the HNSW index (the default makes it several times slower)."""


@dataclass(frozen=True, slots=True)
class ChunkRow:
    """One chunk ready to be written: text, place, symbols and its embedding."""

    kind: str
    name: str | None
    qualified_name: str
    start_line: int
    end_line: int
    content: str
    content_hash: str
    embedding: Any
    metadata: dict[str, Any]


class ChunkStore:
    """Chunks with their embeddings, written one file per transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def ensure_vector_index(self) -> bool:
        """Build the HNSW cosine index if it is missing; True if it was built now."""
        with self.db.begin() as conn:
            if sa.inspect(conn).has_index("code_chunks", VECTOR_INDEX.name):
                return False
            conn.execute(
                sa.text("SELECT set_config('maintenance_work_mem', :mem, true)"),
                {"mem": VECTOR_INDEX_BUILD_MEMORY},
            )
            VECTOR_INDEX.create(conn, checkfirst=True)
        return True

    def drop_vector_index(self) -> None:
        """Drop the HNSW index before a bulk load (inserts into it are ~45x slower)."""
        with self.db.begin() as conn:
            VECTOR_INDEX.drop(conn, checkfirst=True)

    def reusable_embeddings(self, hashes: Iterable[str]) -> dict[str, Any]:
        """Embeddings already stored for any of these chunk content hashes."""
        found: dict[str, Any] = {}
        unique = sorted(set(hashes))
        with self.db.begin() as conn:
            for part in slices(unique, 2000):
                query = (
                    sa.select(code_chunks.c.content_hash, code_chunks.c.embedding)
                    .where(code_chunks.c.content_hash.in_(part))
                    .ext(distinct_on(code_chunks.c.content_hash))
                )
                for content_hash, embedding in conn.execute(query):
                    found[content_hash] = embedding
        return found

    def write_file(
        self,
        repository: str,
        path: str,
        *,
        language: str,
        content_hash: str,
        chunks: Sequence[ChunkRow],
        warning: str | None,
    ) -> None:
        """Replace ``path``'s chunks and mark it indexed, in one transaction."""
        with self.db.begin() as conn:
            conn.execute(
                code_chunks.delete().where(
                    code_chunks.c.repository == repository, code_chunks.c.file_path == path
                )
            )
            copy_rows(
                conn,
                code_chunks,
                CHUNK_COLUMNS,
                (
                    (
                        repository,
                        path,
                        language,
                        c.kind,
                        c.name,
                        c.qualified_name,
                        c.start_line,
                        c.end_line,
                        c.content,
                        c.content_hash,
                        c.embedding,
                        c.metadata,
                    )
                    for c in chunks
                ),
            )
            conn.execute(
                source_files.update()
                .where(source_files.c.repository == repository, source_files.c.path == path)
                .values(
                    status="indexed",
                    error=warning,
                    indexed_hash=content_hash,
                    chunk_count=len(chunks),
                    indexed_at=utc_now(),
                )
            )

    def mark_file(self, repository: str, path: str, status: str, reason: str) -> None:
        """Record that ``path`` failed or is skipped, removing any chunks it had."""
        with self.db.begin() as conn:
            conn.execute(
                code_chunks.delete().where(
                    code_chunks.c.repository == repository, code_chunks.c.file_path == path
                )
            )
            conn.execute(
                source_files.update()
                .where(source_files.c.repository == repository, source_files.c.path == path)
                .values(status=status, error=reason, chunk_count=0, indexed_hash=None, indexed_at=utc_now())
            )
