"""The one place that wires settings to the index database and the embedding model.

The CLI, the Python API, the Dagster resources, the sensor and the benchmark all start here, so a
setting means the same thing everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from mnemo_dagster.config.settings import Settings
from mnemo_dagster.embedding import SentenceTransformerEmbedder
from mnemo_dagster.store.database import IndexStore
from mnemo_dagster.store.server import DatabaseUrls, resolve_urls


def make_embedder(settings: Settings) -> SentenceTransformerEmbedder:
    """The configured model (loaded lazily, on first encode)."""
    return SentenceTransformerEmbedder(
        settings.embedding_model,
        dtype=settings.embedding_dtype,
        trust_remote_code=settings.trust_remote_code,
        device=settings.embedding_device,
        threads=settings.torch_threads if settings.workers > 1 else None,
    )


@dataclass
class Wiring:
    """Settings, the URLs they resolve to, and the store and embedder built from them."""

    settings: Settings
    urls: DatabaseUrls
    store: IndexStore = field(init=False)
    _schema_ready: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        self.store = IndexStore(self.urls.index)

    @cached_property
    def embedder(self) -> SentenceTransformerEmbedder:
        return make_embedder(self.settings)

    def ensure_schema(self) -> None:
        """Create the index for the configured model, or check that it was built with it (once: a
        git pass reads its recorded commit before the pass itself starts)."""
        if not self._schema_ready:
            self.store.ensure_schema(self.settings.embedding_model, self.embedder.dimension)
            self._schema_ready = True

    def close(self) -> None:
        self.store.dispose()

    def __enter__(self) -> Wiring:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def wire(settings: Settings | None = None) -> Wiring:
    """Resolve ``settings`` (default: the environment), starting the embedded server if it is used."""
    settings = settings or Settings.from_env()
    return Wiring(settings, resolve_urls(settings))
