"""Resources: where the index lives and which model embeds it. Both read the environment lazily."""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource

from mnemo_dagster.config.settings import Settings
from mnemo_dagster.embedding import SentenceTransformerEmbedder
from mnemo_dagster.store.database import IndexStore
from mnemo_dagster.wiring import make_embedder, wire


class IndexDatabase(ConfigurableResource):
    """The index database: ``url`` if given, else MNEMO_DATABASE_URL, else the embedded server."""

    url: str | None = None

    def get_store(self) -> IndexStore:
        return IndexStore(self.url) if self.url else wire().store


class EmbeddingModel(ConfigurableResource):
    """The embedding model: ``model`` if given, else MNEMO_EMBEDDING_MODEL, else the packaged MiniLM."""

    model: str | None = None
    dtype: str | None = None

    def get_embedder(self) -> SentenceTransformerEmbedder:
        settings = Settings.from_env()
        return make_embedder(
            settings.replace(
                embedding_model=self.model or settings.embedding_model,
                embedding_dtype=self.dtype or settings.embedding_dtype,
            )
        )


class IndexSettings(ConfigurableResource):
    """Limits that apply while indexing."""

    max_file_bytes: int | None = None
    stall_seconds: int | None = None
    """A step with no progress for this long is ended and retried (else ``MNEMO_STALL_SECONDS``)."""

    def resolved_max_file_bytes(self) -> int:
        return self.max_file_bytes or Settings.from_env().max_file_bytes

    def resolved_stall_seconds(self) -> int:
        return self.stall_seconds or Settings.from_env().stall_seconds

    def home(self) -> Path:
        """``MNEMO_HOME``, where a step keeps its heartbeat."""
        return Settings.from_env().home
