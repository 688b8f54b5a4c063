"""The SQL of search: nearest chunks by cosine distance, plus exact symbol-name matches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mnemo_dagster.core.store.schema import code_chunks

if TYPE_CHECKING:
    from mnemo_dagster.core.store.database import IndexStore


@dataclass(frozen=True, slots=True)
class ChunkHit:
    """A chunk returned by a search query, before ranking."""

    repository: str
    qualified_name: str
    name: str | None
    file_path: str
    start_line: int
    end_line: int
    kind: str
    language: str
    similarity: float
    content: str


def _hits(
    conn: Connection, where: sa.ColumnElement[bool], order: Any, limit: int, vector: Any
) -> list[ChunkHit]:
    similarity = (1 - code_chunks.c.embedding.cosine_distance(vector)).label("similarity")
    query = (
        sa.select(
            code_chunks.c.repository,
            code_chunks.c.qualified_name,
            code_chunks.c.name,
            code_chunks.c.file_path,
            code_chunks.c.start_line,
            code_chunks.c.end_line,
            code_chunks.c.kind,
            code_chunks.c.language,
            similarity,
            code_chunks.c.content,
        )
        .where(where)
        .order_by(order)
        .limit(limit)
    )
    return [ChunkHit(*row) for row in conn.execute(query)]


def search_chunks(
    store: IndexStore, vector: Any, *, repository: str | None, names: Sequence[str], limit: int
) -> list[ChunkHit]:
    """Nearest chunks by cosine distance, plus chunks whose symbol name is one of ``names``."""
    scope = code_chunks.c.repository == repository if repository else sa.true()
    with store.begin() as conn:
        conn.execute(sa.text("SET LOCAL hnsw.ef_search = 100"))
        extension = sa.text("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        version = conn.execute(extension).scalar()
        if version and tuple(int(part) for part in version.split(".")[:2]) >= (0, 8):
            # Keep scanning the graph when a repository filter drops candidates (pgvector >= 0.8).
            conn.execute(sa.text("SET LOCAL hnsw.iterative_scan = relaxed_order"))
        hits = _hits(conn, scope, code_chunks.c.embedding.cosine_distance(vector), limit, vector)
        if names:
            by_name = sa.func.lower(code_chunks.c.name).in_([n.lower() for n in names])
            hits += _hits(conn, sa.and_(scope, by_name), code_chunks.c.id, limit, vector)
    return hits
