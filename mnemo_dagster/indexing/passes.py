"""One pass over a repository, owned here: lock -> plan -> bulk-load policy -> batches through a
runner -> graph decision -> summary.

``mnemo index``, the benchmark and the directory sensor all go through this module, so they plan the
same way under the same lock. *How* batches run is a :class:`BatchRunner`: the Dagster runner
(``mnemo_dagster.launch.runner``) executes one run per batch through the instance, one subprocess per
step; :class:`~mnemo_dagster.indexing.runners.InProcessRunner` runs the same code sequentially in this
process (``mnemo index --in-process``, and the tests of this module).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from mnemo_dagster.config.defaults import BULK_LOAD_FILES, PASS_LOCK_WAIT_SECONDS
from mnemo_dagster.config.settings import Settings
from mnemo_dagster.errors import PassBusyError
from mnemo_dagster.indexing.heartbeat import Beat, heartbeat_path, read_beat
from mnemo_dagster.indexing.planning import PassPlan, default_repository_name, plan_pass
from mnemo_dagster.indexing.report import BatchReport
from mnemo_dagster.indexing.sources import GitCheckout
from mnemo_dagster.store.database import IndexStore
from mnemo_dagster.store.reports import status_report
from mnemo_dagster.wiring import Wiring

PROGRESS_POLL_SECONDS = 0.5
"""How often a pass reads the heartbeat of a running batch for its observer."""


@dataclass(frozen=True, slots=True)
class GraphOutcome:
    """What rebuilding the graph did."""

    success: bool
    errors: tuple[str, ...] = ()
    run_id: str | None = None


class BatchRunner(Protocol):
    """Runs the batches and the graph of a pass. Never raises for a failed batch: it returns one."""

    max_workers: int
    """How many batches it can run at once (``run_batch`` is then called from that many threads)."""

    def prepare(self, plan: PassPlan) -> None:
        """Get ready for ``plan`` (e.g. make its partitions exist)."""

    def run_batch(self, repository: str, key: str) -> BatchReport:
        """Index batch ``key`` of ``repository``."""
        ...

    def run_graph(self, repositories: Sequence[str]) -> GraphOutcome:
        """Rebuild ``graph_nodes`` and then ``graph_metrics`` of ``repositories``."""
        ...


class PassObserver:
    """Hooks a pass calls as it goes (progress display); every hook does nothing by default."""

    def planned(self, plan: PassPlan) -> None:
        """The plan is known; ``plan.to_run`` is the order the batches will run in."""

    def batch_started(self, key: str, position: int) -> None:
        """Batch ``key`` starts; ``position`` counts from 0 within ``plan.to_run``."""

    def batch_progress(self, beat: Beat, position: int) -> None:
        """A reading of the heartbeat of the batch at ``position``, about every
        :data:`PROGRESS_POLL_SECONDS` while it runs (whether it moved or not)."""

    def batch_done(self, outcome: BatchReport, position: int) -> None:
        """Batch ``outcome.key`` has finished (or failed)."""

    def graph_started(self) -> None:
        """The graph is being rebuilt."""

    def graph_done(self, outcome: GraphOutcome) -> None:
        """The graph rebuild has finished (or failed)."""

    def close(self) -> None:
        """The pass has ended, or stopped (Ctrl-C): stop drawing."""


@dataclass(frozen=True, slots=True)
class PassSummary:
    """The outcome of one pass, as ``mnemo index`` reports it."""

    repository: str
    seconds: float
    plan: PassPlan
    batches: tuple[BatchReport, ...]
    graph: GraphOutcome | None
    """None when the graph was up to date and not rebuilt."""
    report: dict[str, Any] = field(repr=False)
    """The repository's status after the pass (:func:`~mnemo_dagster.store.reports.status_report`)."""

    @property
    def failed_batches(self) -> tuple[BatchReport, ...]:
        return tuple(b for b in self.batches if not b.success)

    @property
    def ok(self) -> bool:
        """No batch failed and the graph (if rebuilt) succeeded."""
        return not self.failed_batches and (self.graph is None or self.graph.success)

    def as_dict(self) -> dict[str, Any]:
        """The JSON summary of ``mnemo index --json`` (a public contract: extend, never break)."""
        files = self.report["files"]
        return {
            "repository": self.repository,
            "seconds": round(self.seconds, 2),
            "ok": self.ok,
            "batches": {
                "total": len(self.plan.batches),
                "run": len(self.batches),
                "failed": len(self.failed_batches),
                "failed_keys": [b.key for b in self.failed_batches],
            },
            "files": {
                "indexed": files["indexed"],
                "unchanged": self.plan.files_unchanged,
                "failed": files["failed"],
                "skipped": files["skipped"],
                "deleted": self.plan.files_deleted,
                "pending": files["pending"],
            },
            "chunks": {
                "total": self.report["chunks"],
                "embedded": sum(b.embeddings_computed for b in self.batches),
                "reused": sum(b.embeddings_reused for b in self.batches),
            },
            "graph": {
                "nodes": self.report["nodes"],
                "edges": self.report["edges"],
                "rebuilt": self.graph is not None,
                "ok": self.graph is None or self.graph.success,
            },
            "errors": self._errors(),
        }

    def _errors(self) -> dict[str, list[str]]:
        errors = {b.key: list(b.errors) for b in self.failed_batches}
        if self.graph is not None and not self.graph.success:
            errors["graph"] = list(self.graph.errors)
        return errors


@contextmanager
def locked_plan(
    store: IndexStore,
    settings: Settings,
    repository: str,
    root: Path,
    *,
    max_files: int | None = None,
    wait_seconds: float = 0.0,
    candidates: Collection[str] | None = None,
) -> Iterator[PassPlan | None]:
    """Take the repository's pass lock, then scan and plan; yields None if the lock stays taken.

    The lock is held until the block ends, so whoever runs the plan's batches does it alone.
    """
    with store.pass_lock(repository, wait_seconds=wait_seconds) as acquired:
        if not acquired:
            yield None
            return
        yield plan_pass(
            store,
            repository,
            root,
            max_file_bytes=settings.max_file_bytes,
            batch_bytes=settings.batch_bytes,
            max_files=max_files,
            candidates=candidates,
        )


def run_pass(
    wiring: Wiring,
    root: Path,
    runner: BatchRunner,
    *,
    name: str | None = None,
    batch_size: int | None = None,
    observer: PassObserver | None = None,
    lock_wait_seconds: float = PASS_LOCK_WAIT_SECONDS,
    source: GitCheckout | None = None,
) -> PassSummary:
    """Index ``root`` as repository ``name`` (default: from the directory name) through ``runner``.

    Raises :class:`PassBusyError` when another pass holds the repository's lock, and
    :class:`~mnemo_dagster.errors.ConfigError` for a bad path or name. A failed batch or graph
    does not raise: it is in the summary. A git ``source`` (checked out at ``root``) limits the scan to
    the files its diff names, and its commit is recorded once the plan is.
    """
    started = time.perf_counter()
    observer = observer or PassObserver()
    root = root.expanduser().resolve()
    name = name or default_repository_name(root)
    store = wiring.store
    wiring.ensure_schema()
    candidates = source.changed if source else None
    with locked_plan(
        store,
        wiring.settings,
        name,
        root,
        max_files=batch_size,
        wait_seconds=lock_wait_seconds,
        candidates=candidates,
    ) as plan:
        if plan is None:
            raise PassBusyError(name)
        if source is not None:
            source.record(store, name)  # the plan holds the diff now: the next pass diffs from here
        observer.planned(plan)
        runner.prepare(plan)
        bulk_load = _is_bulk_load(store, plan)
        if bulk_load:
            store.chunks.drop_vector_index()  # the graph step builds it again
        outcomes = run_batches(runner, name, plan.to_run, observer, runner.max_workers, wiring.settings.home)
        graph = None
        if outcomes or plan.files_deleted or bulk_load or store.graph.is_stale(name):
            observer.graph_started()
            graph = runner.run_graph([name])
            observer.graph_done(graph)
    return PassSummary(
        repository=name,
        seconds=time.perf_counter() - started,
        plan=plan,
        batches=tuple(outcomes),
        graph=graph,
        report=status_report(store, name),
    )


def _is_bulk_load(store: IndexStore, plan: PassPlan) -> bool:
    """Whether the pass writes enough vectors that building the HNSW index afterwards beats keeping
    it up to date: :data:`BULK_LOAD_FILES` files, or at least as many as are indexed already."""
    changed = plan.files_new_or_changed
    return changed > 0 and (changed >= BULK_LOAD_FILES or changed >= store.files.indexed_count())


@contextmanager
def _watching(
    home: Path, key: str, position: int, observer: PassObserver, lock: threading.Lock
) -> Iterator[None]:
    """Hand the observer the heartbeat of batch ``key`` (written by its step, in whatever process)
    every :data:`PROGRESS_POLL_SECONDS` while the block runs."""
    stop = threading.Event()
    since = time.time() - 1.0  # a beat left by an earlier attempt of the batch is not this one's
    path = heartbeat_path(home, key)

    def poll() -> None:
        while not stop.wait(PROGRESS_POLL_SECONDS):
            beat = read_beat(path)
            if beat is not None and beat.started >= since:
                with lock:
                    observer.batch_progress(beat, position)

    thread = threading.Thread(target=poll, name=f"mnemo-progress-{position}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def run_batches(
    runner: BatchRunner,
    repository: str,
    keys: Sequence[str],
    observer: PassObserver,
    workers: int,
    home: Path,
) -> list[BatchReport]:
    """Run ``keys`` in order, up to ``workers`` at a time (each batch in its own run and process)."""
    lock = threading.Lock()  # observers draw on one terminal

    def run(position: int, key: str) -> BatchReport:
        with lock:
            observer.batch_started(key, position)
        with _watching(home, key, position, observer, lock):
            outcome = runner.run_batch(repository, key)
        with lock:
            observer.batch_done(outcome, position)
        return outcome

    if workers <= 1 or len(keys) <= 1:
        return [run(position, key) for position, key in enumerate(keys)]

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mnemo-batch")
    try:
        futures = [pool.submit(run, position, key) for position, key in enumerate(keys)]
        return [future.result() for future in futures]
    finally:
        # On Ctrl-C, batches not yet started never start; running ones are the runner's to stop.
        pool.shutdown(wait=False, cancel_futures=True)
