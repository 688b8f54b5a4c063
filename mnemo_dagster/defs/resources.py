"""Resources: where the index lives and which model embeds it. Both read the environment lazily."""

from __future__ import annotations

from dagster import ConfigurableResource

from mnemo_dagster.core.embedding import SentenceTransformerEmbedder
from mnemo_dagster.core.settings import Settings
from mnemo_dagster.core.store.database import IndexStore
from mnemo_dagster.core.store.server import resolve_urls


class IndexDatabase(ConfigurableResource):
    """The index database: ``url`` if given, else MNEMO_DATABASE_URL, else the embedded server."""

    url: str | None = None

    def get_store(self) -> IndexStore:
        if self.url:
            return IndexStore(self.url)
        return IndexStore(resolve_urls(Settings.from_env()).index)


class EmbeddingModel(ConfigurableResource):
    """The embedding model: ``model`` if given, else MNEMO_EMBEDDING_MODEL, else the packaged MiniLM."""

    model: str | None = None
    dtype: str | None = None

    def get_embedder(self) -> SentenceTransformerEmbedder:
        settings = Settings.from_env()
        return SentenceTransformerEmbedder(
            self.model or settings.embedding_model, dtype=self.dtype or settings.embedding_dtype
        )


class IndexSettings(ConfigurableResource):
    """Limits that apply while indexing."""

    max_file_bytes: int | None = None

    def resolved_max_file_bytes(self) -> int:
        return self.max_file_bytes or Settings.from_env().max_file_bytes
