"""Resources: where the index lives, which model embeds it, and the limits of indexing.

Each resource is a view of :class:`~mnemo_dagster.config.settings.Settings`: the fields configured on it
(in the UI's launchpad or a run config) replace the environment's values, the rest come from the
environment, read when a step asks (so a step sees the environment it runs in).
"""

from __future__ import annotations

from typing import ClassVar

from dagster import ConfigurableResource

from mnemo_dagster.config.settings import Settings
from mnemo_dagster.embedding import SentenceTransformerEmbedder
from mnemo_dagster.store.database import IndexStore
from mnemo_dagster.wiring import make_embedder, wire


class _SettingsView(ConfigurableResource):
    FIELDS: ClassVar[dict[str, str]] = {}
    """Field of the resource -> the field of :class:`Settings` it sets."""

    def settings(self) -> Settings:
        """The environment's settings, with the fields configured here in their place."""
        changes = {target: getattr(self, name) for name, target in self.FIELDS.items()}
        return Settings.from_env().replace(**{k: v for k, v in changes.items() if v is not None})


class IndexDatabase(_SettingsView):
    """The index database: ``url`` if given, else MNEMO_DATABASE_URL, else the embedded server."""

    FIELDS: ClassVar[dict[str, str]] = {"url": "database_url"}
    url: str | None = None

    def get_store(self) -> IndexStore:
        return wire(self.settings()).store


class EmbeddingModel(_SettingsView):
    """The embedding model: ``model`` if given, else MNEMO_EMBEDDING_MODEL, else the packaged MiniLM."""

    FIELDS: ClassVar[dict[str, str]] = {"model": "embedding_model", "dtype": "embedding_dtype"}
    model: str | None = None
    dtype: str | None = None

    def get_embedder(self) -> SentenceTransformerEmbedder:
        return make_embedder(self.settings())


class IndexSettings(_SettingsView):
    """Limits that apply while indexing (else ``MNEMO_MAX_FILE_BYTES`` and ``MNEMO_STALL_SECONDS``)."""

    FIELDS: ClassVar[dict[str, str]] = {"max_file_bytes": "max_file_bytes", "stall_seconds": "stall_seconds"}
    max_file_bytes: int | None = None
    stall_seconds: int | None = None
    """A step with no progress for this long is ended and retried."""


RESOURCES = {
    "index_database": IndexDatabase(),
    "embedding_model": EmbeddingModel(),
    "index_settings": IndexSettings(),
}
"""The resources of the code location, each a view of the environment. ``scan_job`` binds them itself:
for a job without them, ``Definitions`` would rebuild the sensor that targets it (with a warning)."""
