"""Whether a search hit's lines are still what its file holds on disk: a hit whose file changed (or
went away) after it was indexed is marked ``stale``, so an agent knows to re-read the file or run
``mnemo index``."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any, TypeVar

from mnemo_dagster.store.files import IndexedState

Hit = TypeVar("Hit", bound=Any)
"""A :class:`~mnemo_dagster.retrieval.hits.SearchHit` (a frozen dataclass with ``repository``,
``file_path`` and ``stale``)."""


def mark_stale(hits: list[Hit], states: dict[tuple[str, str], IndexedState]) -> list[Hit]:
    """``hits`` with ``stale`` set on those whose file differs on disk from the version indexed (its
    size or mtime changed, it is gone, or its new version waits for a pass). A file whose repository
    root is not a directory here (an index shared from another machine) is not judged."""
    roots: dict[str, bool] = {}
    marked = []
    for hit in hits:
        state = states.get((hit.repository, hit.file_path))
        if state is None:
            marked.append(hit)
            continue
        if state.root_path not in roots:
            roots[state.root_path] = os.path.isdir(state.root_path)
        if not roots[state.root_path]:
            marked.append(hit)
            continue
        try:
            seen = os.stat(os.path.join(state.root_path, hit.file_path))
            stale = not state.current or (seen.st_size, seen.st_mtime_ns) != (
                state.size_bytes,
                state.mtime_ns,
            )
        except OSError:
            stale = True
        marked.append(replace(hit, stale=stale) if stale else hit)
    return marked
