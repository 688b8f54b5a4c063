"""The one record of a batch: what indexing it did, from the step that ran it to the pass's summary.

The same object travels every way a batch can run: returned by :func:`~.batch.index_batch`, stored as
``code_chunks`` materialization metadata (:meth:`BatchReport.as_metadata`, whose names are the
record's own), and sent back by a run worker as JSON (:meth:`BatchReport.as_json`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass(slots=True)
class BatchReport:
    """What running one batch did, whichever runner ran it."""

    key: str
    success: bool = True
    files_indexed: int = 0
    files_unchanged: int = 0
    files_failed: int = 0
    files_skipped: int = 0
    chunks: int = 0
    embeddings_computed: int = 0
    embeddings_reused: int = 0
    seconds: float = 0.0
    encode_seconds: float = 0.0
    """Of ``seconds``, the time spent in the model."""
    load_seconds: float = 0.0
    """Of ``seconds``, loading the model (imports included)."""
    parse_seconds: float = 0.0
    """Reading and parsing (in the reader, overlapped with encoding)."""
    write_seconds: float = 0.0
    """Writing to the database (in the writer threads, overlapped with encoding)."""
    peak_rss_mb: float = 0.0
    """Peak resident memory of the process that ran the batch."""
    model_preloaded: bool = False
    """Whether the model was already in memory when the batch started (a warm step)."""
    failures: list[tuple[str, str]] = field(default_factory=list)
    """(path, reason) for every file that failed or was skipped in this batch."""
    warnings: list[tuple[str, str]] = field(default_factory=list)
    errors: tuple[str, ...] = ()
    """Why the batch failed, one message per failed attempt or step."""
    run_id: str | None = None
    """The Dagster run, when a Dagster runner ran it."""

    @classmethod
    def failed(cls, key: str, *errors: str, seconds: float = 0.0) -> BatchReport:
        """A batch that did not run to its end."""
        return cls(key, success=False, seconds=seconds, errors=errors)

    def as_metadata(self) -> dict[str, int | float | bool]:
        """The counters and timings, as the ``code_chunks`` materialization metadata holds them."""
        metadata: dict[str, int | float | bool] = {name: getattr(self, name) for name in COUNTERS}
        metadata.update({name: round(getattr(self, name), 2) for name in TIMINGS})
        metadata["peak_rss_mb"] = round(self.peak_rss_mb, 1)
        metadata["chunks_per_second"] = round(self.chunks / self.seconds, 1) if self.seconds else 0.0
        metadata["model_preloaded"] = self.model_preloaded
        return metadata

    @classmethod
    def from_metadata(
        cls,
        key: str,
        success: bool,
        metadata: Mapping[str, Any],
        *,
        errors: Sequence[str] = (),
        run_id: str | None = None,
    ) -> BatchReport:
        """Read back what :meth:`as_metadata` wrote (a missing name counts as zero)."""
        values = {name: int(metadata.get(name, 0)) for name in COUNTERS}
        values.update({name: float(metadata.get(name, 0.0)) for name in TIMINGS})
        preloaded = bool(metadata.get("model_preloaded", False))
        return cls(key, success, **values, model_preloaded=preloaded, errors=tuple(errors), run_id=run_id)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BatchReport:
        """Read back :meth:`as_json` (JSON has lists where the record has tuples)."""
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        for name in ("failures", "warnings"):
            values[name] = [tuple(pair) for pair in values.get(name, ())]
        values["errors"] = tuple(values.get("errors", ()))
        return cls(**values)


COUNTERS = tuple(f.name for f in fields(BatchReport) if f.type == "int")
"""The counts of a batch (``files_indexed`` ... ``embeddings_reused``), in the record's order."""
TIMINGS = tuple(f.name for f in fields(BatchReport) if f.type == "float")
"""Its seconds per stage and its peak memory."""
