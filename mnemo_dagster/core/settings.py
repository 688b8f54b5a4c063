"""Settings read from the environment at call time (never at import time).

``MNEMO_HOME``             where the embedded PostgreSQL and Dagster's home live (default ``./.mnemo``)
``MNEMO_DATABASE_URL``     an external PostgreSQL (>= 14, with the ``vector`` extension) instead
``MNEMO_EMBEDDING_MODEL``  a sentence-transformers name or local path (default: the packaged MiniLM)
``MNEMO_EMBEDDING_DTYPE``  ``bfloat16`` (default on CPU) or ``float32``
``MNEMO_BATCH_BYTES``      target source bytes per batch (default 2 MiB)
``MNEMO_MAX_FILE_BYTES``   larger files are skipped (default 1 MiB)
``MNEMO_REINDEX_CRON``     when the nightly backfill re-verifies every batch (default ``0 3 * * *``, UTC)
``MNEMO_SENSOR_INTERVAL_SECONDS`` how often the directory sensor re-scans (default 60)
``MNEMO_TRUST_REMOTE_CODE`` ``1`` lets the model run code from its own repository (off by default)
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

from mnemo_dagster.core.defaults import (
    DEFAULT_BATCH_BYTES,
    DEFAULT_EMBEDDING_DTYPE,
    DEFAULT_MAX_FILE_BYTES,
    DEFAULT_MODEL,
    DEFAULT_REINDEX_CRON,
    DEFAULT_SENSOR_INTERVAL_SECONDS,
)
from mnemo_dagster.core.errors import ConfigError


def reindex_cron() -> str:
    """The cron schedule (UTC) of the full re-verifying backfill."""
    value = os.environ.get("MNEMO_REINDEX_CRON") or DEFAULT_REINDEX_CRON
    if len(value.split()) != 5:
        raise ConfigError(f"MNEMO_REINDEX_CRON must be a five-field cron expression, got {value!r}")
    return value


def sensor_interval_seconds() -> int:
    """How often the directory sensor re-scans (``MNEMO_SENSOR_INTERVAL_SECONDS``), read when the code
    location loads."""
    return _int_env("MNEMO_SENSOR_INTERVAL_SECONDS", DEFAULT_SENSOR_INTERVAL_SECONDS)


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


def _flag_env(name: str) -> bool:
    raw = (os.environ.get(name) or "0").strip().lower()
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{name} must be 1 or 0, got {raw!r}")


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

    def replace(self, **changes: object) -> Settings:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls) -> Settings:
        """Read the settings from the environment."""
        dtype = os.environ.get("MNEMO_EMBEDDING_DTYPE") or DEFAULT_EMBEDDING_DTYPE
        if dtype not in ("bfloat16", "float32"):
            raise ConfigError(f"MNEMO_EMBEDDING_DTYPE must be bfloat16 or float32, got {dtype!r}")
        return cls(
            home=Path(os.environ.get("MNEMO_HOME") or ".mnemo").expanduser().resolve(),
            database_url=os.environ.get("MNEMO_DATABASE_URL") or None,
            embedding_model=os.environ.get("MNEMO_EMBEDDING_MODEL") or DEFAULT_MODEL,
            embedding_dtype=dtype,
            batch_bytes=_int_env("MNEMO_BATCH_BYTES", DEFAULT_BATCH_BYTES),
            max_file_bytes=_int_env("MNEMO_MAX_FILE_BYTES", DEFAULT_MAX_FILE_BYTES),
            trust_remote_code=_flag_env("MNEMO_TRUST_REMOTE_CODE"),
        )
