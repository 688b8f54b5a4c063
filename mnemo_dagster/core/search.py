"""Semantic search over the index: embed the query, take the nearest chunks, boost exact name matches."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from mnemo_dagster.core.embedding import Embedder
from mnemo_dagster.core.store.database import IndexStore, check_model
from mnemo_dagster.core.store.search import search_chunks

NAME_MATCH_BONUS = 0.15
"""Added to the cosine similarity of a chunk whose symbol name is a word of the query."""
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{2,}")


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One search result; lines are 1-based and inclusive."""

    repository: str
    qualified_name: str
    file_path: str
    start_line: int
    end_line: int
    kind: str
    language: str
    score: float
    content: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def search(
    store: IndexStore, embedder: Embedder, query: str, *, repository: str | None = None, limit: int = 10
) -> list[SearchHit]:
    """The ``limit`` best chunks for ``query``, best first."""
    stored = store.stored_model()
    if not query.strip() or stored is None:
        return []
    check_model(stored, embedder.model_name, embedder.dimension)
    vector = embedder.encode([query])[0]
    words = sorted(set(_IDENTIFIER.findall(query)))
    candidates = search_chunks(store, vector, repository=repository, names=words, limit=max(limit * 3, 30))
    lowered = {w.lower() for w in words}
    best: dict[tuple[str, str, int], SearchHit] = {}
    for hit in candidates:
        score = hit.similarity + (NAME_MATCH_BONUS if hit.name and hit.name.lower() in lowered else 0.0)
        key = (hit.repository, hit.file_path, hit.start_line)
        if key not in best or best[key].score < score:
            best[key] = SearchHit(
                repository=hit.repository,
                qualified_name=hit.qualified_name,
                file_path=hit.file_path,
                start_line=hit.start_line,
                end_line=hit.end_line,
                kind=hit.kind,
                language=hit.language,
                score=round(float(score), 4),
                content=hit.content,
            )
    return sorted(best.values(), key=lambda h: (-h.score, h.qualified_name))[:limit]
