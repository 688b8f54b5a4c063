"""mnemo-dagster: a code-intelligence index (chunks, embeddings, symbol graph) built by Dagster.

Importing this package is cheap: :class:`Index` and :func:`search` load the model and the database
driver on first use.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mnemo_dagster.retrieval.index import Index, SearchHit

__all__ = ["Index", "search"]

_shared: Index | None = None
_shared_lock = threading.Lock()


def __getattr__(name: str) -> Any:
    if name == "Index":
        from mnemo_dagster.retrieval.index import Index

        return Index
    raise AttributeError(f"module 'mnemo_dagster' has no attribute {name!r}")


def shared_index() -> Index:
    """The process's :class:`Index` for the settings in the environment now, built on first use and
    built again if the environment names another index or model."""
    global _shared
    from mnemo_dagster.config.settings import Settings
    from mnemo_dagster.retrieval.index import Index

    settings = Settings.from_env()
    with _shared_lock:
        if _shared is None or _shared.settings != settings:
            if _shared is not None:
                _shared.close()
            _shared = Index(settings)
        return _shared


def search(
    query: str, repository: str | None = None, limit: int = 10, **filters: str | None
) -> list[SearchHit]:
    """Search the index configured by the environment (MNEMO_HOME / MNEMO_DATABASE_URL), best first.

    Reuses one :class:`Index` per process, so only the first call loads the model. The keyword
    ``filters`` are those of :meth:`Index.search <mnemo_dagster.retrieval.index.Index.search>`:
    ``language``, ``kind``, and ``path``, a glob over file paths (``shop/**``, ``*.py``).
    """
    return shared_index().search(query, repository, limit, **filters)
