"""mnemo-dagster: a code-intelligence index (chunks, embeddings, symbol graph) built by Dagster."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mnemo_dagster.core.search import SearchHit

__all__ = ["search"]


def search(query: str, repository: str | None = None, limit: int = 10) -> list[SearchHit]:
    """Search the index configured by the environment (MNEMO_HOME / MNEMO_DATABASE_URL)."""
    from mnemo_dagster.core.embedding import SentenceTransformerEmbedder
    from mnemo_dagster.core.search import search as search_index
    from mnemo_dagster.core.settings import Settings
    from mnemo_dagster.core.store.database import IndexStore
    from mnemo_dagster.core.store.server import resolve_urls

    settings = Settings.from_env()
    store = IndexStore(resolve_urls(settings).index)
    try:
        embedder = SentenceTransformerEmbedder(settings.embedding_model, dtype=settings.embedding_dtype)
        return search_index(store, embedder, query, repository=repository, limit=limit)
    finally:
        store.dispose()
