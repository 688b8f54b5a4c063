"""Every ``MNEMO_*`` setting, read from the environment at call time (never at import time).

``MNEMO_HOME``             where the embedded PostgreSQL and Dagster's home live (default ``./.mnemo``)
``MNEMO_DATABASE_URL``     an external PostgreSQL (>= 14, with the ``vector`` extension) instead
``MNEMO_EMBEDDING_MODEL``  a sentence-transformers name or local path (default: the packaged MiniLM)
``MNEMO_EMBEDDING_DTYPE``  ``auto`` (default: float16 on a GPU, bfloat16 on a CPU that has it natively,
                          else float32), ``bfloat16``, ``float16`` (GPU only) or ``float32``
``MNEMO_EMBEDDING_DEVICE`` ``auto`` (default: CUDA when torch sees a GPU), ``cpu`` or ``cuda``
``MNEMO_WORKERS``          batch steps that run at once, each with cores/N torch threads (default: one
                          per 4 cores, at most one per 2 GB of memory, at least 1)
``MNEMO_PARSE_PROCESSES``  processes a batch step reads and parses in, and threads it writes with
                          (default: none, a thread of the step, on the CPU; one per 4 cores, at
                          most 4, with the model on a GPU)
``MNEMO_BATCH_BYTES``      target source bytes per batch (default 2 MiB; 16 MiB for a model on a GPU)
``MNEMO_MAX_FILE_BYTES``   larger files are skipped (default 1 MiB)
``MNEMO_REINDEX_CRON``     when the nightly backfill re-verifies every batch (default ``0 3 * * *``, UTC)
``MNEMO_SENSOR_INTERVAL_SECONDS`` how often the directory sensor ticks (default 60)
``MNEMO_TRUST_REMOTE_CODE`` ``1`` lets the model run code from its own repository (off by default)
``MNEMO_STALL_SECONDS``    a batch step with no progress for this long is ended and retried (default 300)
``MNEMO_EXECUTOR``         the engine of the steps: ``multiprocess`` (default) or ``celery``
``MNEMO_SEARCH_SERVICE``   ``0`` makes ``mnemo search`` answer in its own process (default ``1``: the
                          resident service)
``MNEMO_SEARCH_IDLE_SECONDS`` the resident search service exits after this long unused (default 300)
``MNEMO_QUERY_ENCODER``    ``auto`` (default: search embeds queries on ONNX Runtime where its export
                          matches the model), ``onnx`` (an error where it cannot) or ``torch``

:class:`Settings` is the one model of them all: nothing else reads a ``MNEMO_*`` variable.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

from mnemo_dagster.config.defaults import (
    DEFAULT_BATCH_BYTES,
    DEFAULT_EMBEDDING_DEVICE,
    DEFAULT_EMBEDDING_DTYPE,
    DEFAULT_MAX_FILE_BYTES,
    DEFAULT_MODEL,
    DEFAULT_REINDEX_CRON,
    DEFAULT_SEARCH_IDLE_SECONDS,
    DEFAULT_SENSOR_INTERVAL_SECONDS,
    DEFAULT_STALL_SECONDS,
    EXECUTORS,
    GPU_BATCH_BYTES,
    GPU_PARSE_CORES,
    GPU_PARSE_PROCESSES,
    QUERY_ENCODERS,
    WORKER_CORES,
    WORKER_MEMORY_BYTES,
)
from mnemo_dagster.errors import ConfigError


def default_batch_bytes(device: str, gpu: bool | None = None) -> int:
    """Source bytes per batch for a ``MNEMO_EMBEDDING_DEVICE`` of ``device``: larger where the model
    runs on a GPU (``auto`` with ``gpu``, by default :func:`gpu_visible`)."""
    if device == "auto":
        device = "cuda" if (gpu_visible() if gpu is None else gpu) else "cpu"
    return GPU_BATCH_BYTES if device == "cuda" else DEFAULT_BATCH_BYTES


def gpu_visible() -> bool:
    """Whether ``auto`` will find a GPU, judged without importing torch (seconds, in a command that
    plans before any model runs): an NVIDIA driver that lists a GPU, and a torch that is not a CPU
    build."""
    from importlib import metadata

    try:
        gpus = any(Path("/proc/driver/nvidia/gpus").iterdir())
        torch_version = metadata.version("torch")
    except (OSError, metadata.PackageNotFoundError):
        return False
    return gpus and "+cpu" not in torch_version


def parse_processes(device: str, cores: int | None = None, configured: int | None = None) -> int:
    """Processes a batch step reads and parses in (and threads it writes files with, at least one),
    for a model on ``device`` (``cpu`` or ``cuda``): ``configured`` (``MNEMO_PARSE_PROCESSES``; 0: a
    thread of the step) where set, else a thread on the CPU and one per
    :data:`~mnemo_dagster.config.defaults.GPU_PARSE_CORES` cores (1 to
    :data:`~mnemo_dagster.config.defaults.GPU_PARSE_PROCESSES`) on a GPU."""
    if configured is not None:
        return configured
    if device != "cuda":
        return 0
    cores = available_cores() if cores is None else cores
    return max(1, min(GPU_PARSE_PROCESSES, cores // GPU_PARSE_CORES))


def _count_env(name: str) -> int | None:
    """A count that may be 0, or None when ``name`` is unset."""
    raw = (os.environ.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise ConfigError(f"{name} must be 0 or a positive integer, got {raw!r}")
    return int(raw)


def _seconds_env(name: str, default: float) -> float:
    raw = (os.environ.get(name) or "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {raw!r}")
    return value


def _cron_env(name: str, default: str) -> str:
    value = os.environ.get(name) or default
    if len(value.split()) != 5:
        raise ConfigError(f"{name} must be a five-field cron expression, got {value!r}")
    return value


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {value}")
    return value


def _flag_env(name: str, default: bool = False) -> bool:
    raw = (os.environ.get(name) or ("1" if default else "0")).strip().lower()
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{name} must be 1 or 0, got {raw!r}")


EMBEDDING_DTYPES = ("auto", "bfloat16", "float16", "float32")
EMBEDDING_DEVICES = ("auto", "cpu", "cuda")


def default_workers(cores: int | None = None, memory_bytes: int | None = None) -> int:
    """Batch steps to run at once: one per :data:`WORKER_CORES` cores, bounded by the memory (one
    per :data:`WORKER_MEMORY_BYTES`), at least one."""
    if cores is None:
        cores = available_cores()
    if memory_bytes is None:
        memory_bytes = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return max(1, min(cores // WORKER_CORES, memory_bytes // WORKER_MEMORY_BYTES))


def available_cores() -> int:
    """Cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def choice_env(name: str, default: str, choices: tuple[str, ...]) -> str:
    """The value of ``name`` (lower-cased; ``default`` when unset), which must be one of ``choices``."""
    value = (os.environ.get(name) or default).strip().lower()
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class Settings:
    """Resolved configuration of one mnemo process."""

    home: Path
    """Absolute path of MNEMO_HOME."""
    database_url: str | None
    """External database URL, or None for the embedded server under ``home``."""
    embedding_model: str
    embedding_dtype: str
    batch_bytes: int
    max_file_bytes: int
    trust_remote_code: bool = False
    """Whether the embedding model may run code shipped with it (an explicit opt-in)."""
    embedding_device: str = DEFAULT_EMBEDDING_DEVICE
    workers: int = 1
    """Batch steps that run at once (``MNEMO_WORKERS``)."""
    stall_seconds: int = DEFAULT_STALL_SECONDS
    """A batch step with no progress for this long is ended and retried (``MNEMO_STALL_SECONDS``)."""
    parse_processes: int | None = None
    """``MNEMO_PARSE_PROCESSES``; None: chosen by the model's device (:func:`parse_processes`)."""
    executor: str = EXECUTORS[0]
    """The engine of the steps (``MNEMO_EXECUTOR``)."""
    reindex_cron: str = DEFAULT_REINDEX_CRON
    """When the nightly backfill re-verifies every batch (``MNEMO_REINDEX_CRON``, UTC)."""
    sensor_interval_seconds: int = DEFAULT_SENSOR_INTERVAL_SECONDS
    """How often the directory sensor ticks (``MNEMO_SENSOR_INTERVAL_SECONDS``)."""
    search_service: bool = True
    """Whether ``mnemo search`` asks the resident service (``MNEMO_SEARCH_SERVICE``)."""
    search_idle_seconds: float = DEFAULT_SEARCH_IDLE_SECONDS
    """The resident search service exits after this long unused (``MNEMO_SEARCH_IDLE_SECONDS``)."""
    query_encoder: str = QUERY_ENCODERS[0]
    """What search embeds queries with (``MNEMO_QUERY_ENCODER``: ``auto``, ``onnx`` or ``torch``)."""

    @property
    def torch_threads(self) -> int:
        """Torch threads per batch step: the cores shared out between the workers."""
        return max(1, available_cores() // self.workers)

    def replace(self, **changes: object) -> Settings:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls) -> Settings:
        """Read the settings from the environment."""
        dtype = choice_env("MNEMO_EMBEDDING_DTYPE", DEFAULT_EMBEDDING_DTYPE, EMBEDDING_DTYPES)
        device = choice_env("MNEMO_EMBEDDING_DEVICE", DEFAULT_EMBEDDING_DEVICE, EMBEDDING_DEVICES)
        if dtype == "float16" and device == "cpu":
            raise ConfigError(
                "MNEMO_EMBEDDING_DTYPE=float16 needs a GPU; on the CPU use auto, bfloat16 or float32"
            )
        return cls(
            home=Path(os.environ.get("MNEMO_HOME") or ".mnemo").expanduser().resolve(),
            database_url=os.environ.get("MNEMO_DATABASE_URL") or None,
            embedding_model=os.environ.get("MNEMO_EMBEDDING_MODEL") or DEFAULT_MODEL,
            embedding_dtype=dtype,
            batch_bytes=_int_env("MNEMO_BATCH_BYTES", default_batch_bytes(device)),
            max_file_bytes=_int_env("MNEMO_MAX_FILE_BYTES", DEFAULT_MAX_FILE_BYTES),
            trust_remote_code=_flag_env("MNEMO_TRUST_REMOTE_CODE"),
            embedding_device=device,
            workers=_int_env("MNEMO_WORKERS", 0) or default_workers(),
            stall_seconds=_int_env("MNEMO_STALL_SECONDS", DEFAULT_STALL_SECONDS),
            parse_processes=_count_env("MNEMO_PARSE_PROCESSES"),
            executor=choice_env("MNEMO_EXECUTOR", EXECUTORS[0], EXECUTORS),
            reindex_cron=_cron_env("MNEMO_REINDEX_CRON", DEFAULT_REINDEX_CRON),
            sensor_interval_seconds=_int_env(
                "MNEMO_SENSOR_INTERVAL_SECONDS", DEFAULT_SENSOR_INTERVAL_SECONDS
            ),
            search_service=_flag_env("MNEMO_SEARCH_SERVICE", default=True),
            search_idle_seconds=_seconds_env("MNEMO_SEARCH_IDLE_SECONDS", DEFAULT_SEARCH_IDLE_SECONDS),
            query_encoder=choice_env("MNEMO_QUERY_ENCODER", QUERY_ENCODERS[0], QUERY_ENCODERS),
        )
