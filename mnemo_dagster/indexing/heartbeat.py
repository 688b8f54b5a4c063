"""A batch step's heartbeat: what it is doing now, and how far it has come, in a small file that other
processes read while it runs.

The step writes a :class:`Beat` (JSON, padded to a fixed size and written in place with one
``pwrite``) every time a file is parsed, a slice of chunks is encoded or a file is written. Two readers:

- the step's watchdog (:mod:`mnemo_dagster.defs.watchdog`), a process of its own, so that it still
  sees a step that is hung in native code or frozen: with no progress for ``MNEMO_STALL_SECONDS`` it
  ends the step, and says which stage and which file it was stuck on;
- ``mnemo index``, which draws its progress bar from it while the batch runs.

Progress is counted in :attr:`Beat.beats`: it moves when an activity *finishes*. What a stall is stuck
on is the oldest activity still unfinished.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

RECORD_BYTES = 4096
"""Size of the heartbeat file: one record, rewritten in place."""
_MAX_NAME_CHARS = 1000
"""File names longer than this are cut in the record (it must fit in :data:`RECORD_BYTES`)."""

LOADING = "loading the model"
PARSING = "parsing"
ENCODING = "encoding"
WRITING = "writing"


def heartbeat_path(home: Path, batch_key: str) -> Path:
    """Where the step indexing ``batch_key`` keeps its heartbeat (under ``$MNEMO_HOME/run``)."""
    return home / "run" / "batches" / f"{batch_key}.json"


@dataclass(frozen=True, slots=True)
class Beat:
    """One reading of a step's heartbeat."""

    batch: str
    pid: int
    """The step process."""
    started: float
    """Wall-clock time the step started its batch (seconds since the epoch)."""
    updated: float
    """Wall-clock time of the last change."""
    beats: int = 0
    """Activities finished so far: the step is making progress while this moves."""
    stage: str = ""
    """What the oldest unfinished activity is (``parsing``, ``encoding``...); empty when idle."""
    file: str | None = None
    """The file that activity works on."""
    files_total: int = 0
    """Files of the batch that need work."""
    files_parsed: int = 0
    files_done: int = 0
    """Files written or recorded as not indexable."""
    chunks_encoded: int = 0
    """Chunks embedded by the model so far (reused embeddings not counted)."""


def read_beat(path: Path) -> Beat | None:
    """The last beat written at ``path``; None if there is none (yet), or it is being rewritten."""
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    try:
        return Beat(**json.loads(raw.rstrip(b" \x00") or b"null"))
    except (TypeError, ValueError):
        return None


def stall_message(beat: Beat, seconds: float) -> str:
    """Words for a step that has made no progress for ``seconds``: the stage and the file."""
    doing = f"{beat.stage} {beat.file}" if beat.file else (beat.stage or "starting")
    return f"no progress for {seconds:.0f} s while {doing} (batch {beat.batch}, step pid {beat.pid})"


@dataclass(slots=True)
class _Activity:
    stage: str
    file: str | None
    started: float = field(default_factory=time.monotonic)


class Heartbeat:
    """The writing side, used by the step from any of its threads; a context manager that creates the
    file on entry and removes it on exit. ``path`` None keeps the state in memory only."""

    def __init__(self, path: Path | None, batch: str, files_total: int = 0) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self._active: dict[int, _Activity] = {}
        self._counts = {"beats": 0, "files_parsed": 0, "files_done": 0, "chunks_encoded": 0}
        self._fd: int | None = None
        self.batch = batch
        self.files_total = files_total
        self.started = time.time()
        self._last: tuple[str, str | None] = ("", None)

    def __enter__(self) -> Heartbeat:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        self._write()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            if self.path is not None:
                with contextlib.suppress(OSError):
                    self.path.unlink()

    def begin(self, stage: str, file: str | None = None) -> int:
        """An activity starts; returns its id for :meth:`end`."""
        with self._lock:
            activity = next(self._ids)
            self._active[activity] = _Activity(stage, file)
            self._write()
        return activity

    def end(self, activity: int, **counts: int) -> None:
        """Activity ``activity`` has finished: progress, plus ``counts`` added to the counters
        (``files_parsed``, ``files_done``, ``chunks_encoded``)."""
        with self._lock:
            done = self._active.pop(activity, None)
            if done is not None:
                self._last = (done.stage, done.file)
        self.progress(**counts)

    def progress(self, **counts: int) -> None:
        """Progress within an unfinished activity (a slice of a group encoded): ``counts`` are added."""
        with self._lock:
            self._counts["beats"] += 1
            for name, value in counts.items():
                self._counts[name] += value
            self._write()

    @contextlib.contextmanager
    def doing(self, stage: str, file: str | None = None, **counts: int) -> Iterator[None]:
        """The block is one activity; ``counts`` are added when it finishes without an error."""
        activity = self.begin(stage, file)
        try:
            yield
        except BaseException:
            with self._lock:
                self._active.pop(activity, None)
                self._write()
            raise
        self.end(activity, **counts)

    def beat(self) -> Beat:
        """The current state."""
        with self._lock:
            return self._snapshot()

    def _snapshot(self) -> Beat:
        if self._active:
            oldest = min(self._active.values(), key=lambda a: a.started)
            stage, file = oldest.stage, oldest.file
        else:
            stage, file = self._last
        return Beat(
            batch=self.batch,
            pid=os.getpid(),
            started=self.started,
            updated=time.time(),
            stage=stage,
            file=file[:_MAX_NAME_CHARS] if file else file,
            files_total=self.files_total,
            **self._counts,
        )

    def _write(self) -> None:
        if self._fd is None:
            return
        record = json.dumps(asdict(self._snapshot())).encode()
        os.pwrite(self._fd, record.ljust(RECORD_BYTES), 0)
