from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import DagsterInstance

from mnemo_dagster.core.embedding import SentenceTransformerEmbedder
from mnemo_dagster.core.store.database import IndexStore
from mnemo_dagster.core.store.server import DatabaseUrls
from mnemo_dagster.defs.launch import prepare_dagster_home


@pytest.fixture(scope="session")
def instance(mnemo_home: Path, urls: DatabaseUrls) -> Iterator[DagsterInstance]:
    """A real Dagster instance with its run/event storage in the embedded PostgreSQL (dagster-postgres)."""
    prepare_dagster_home(mnemo_home, urls.dagster)
    with DagsterInstance.get() as instance:
        yield instance


@pytest.fixture(scope="session")
def default_store(urls: DatabaseUrls, embedder: SentenceTransformerEmbedder) -> Iterator[IndexStore]:
    """The index database the Dagster resources use by default (MNEMO_HOME's embedded server)."""
    store = IndexStore(urls.index)
    store.ensure_schema(embedder.model_name, embedder.dimension)
    yield store
    store.dispose()
