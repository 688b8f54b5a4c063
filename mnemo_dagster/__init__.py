"""mnemo-dagster: a code-intelligence index (chunks, embeddings, symbol graph) built by Dagster."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mnemo_dagster.core.search import SearchHit

__all__ = ["search"]


def search(query: str, repository: str | None = None, limit: int = 10) -> list[SearchHit]:
    """Search the index configured by the environment (MNEMO_HOME / MNEMO_DATABASE_URL)."""
    from mnemo_dagster.core.search import search as search_index
    from mnemo_dagster.core.wiring import wire

    with wire() as wiring:
        return search_index(wiring.store, wiring.embedder, query, repository=repository, limit=limit)
