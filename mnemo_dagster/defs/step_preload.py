"""Imported once by the executor's fork server (and by a Celery worker), so that each step process
starts warm: sentence-transformers with torch and transformers (seconds to import), the grammars,
Dagster's Postgres storage (about 0.5 s), the resolved jobs (about 0.3 s to build) and the configured
model itself (0.5-1.5 s per batch to load; on the CPU only) are already in the process it forks from."""

from __future__ import annotations

from contextlib import suppress

import dagster_postgres  # noqa: F401
import sentence_transformers  # noqa: F401
import tree_sitter_languages  # noqa: F401

from mnemo_dagster.defs.definitions import get_graph_job, get_index_batches_job
from mnemo_dagster.defs.resources import EmbeddingModel

get_index_batches_job()
get_graph_job()
# Not fatal here: a bad setting or a broken model fails the step that loads it, with a clear error.
with suppress(Exception):
    EmbeddingModel().get_embedder().preload()
