"""The in-process runner of a pass: the same batch and graph code as the Dagster steps, run
sequentially in this process with no Dagster runs. It is ``mnemo index --in-process`` (a debugging
mode: one process, breakpoints work) and what the tests of the pass owner use."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Sequence

from mnemo_dagster.errors import MnemoError
from mnemo_dagster.indexing.batch import index_batch
from mnemo_dagster.indexing.graph_build import rebuild_metrics, rebuild_nodes
from mnemo_dagster.indexing.heartbeat import Heartbeat, heartbeat_path
from mnemo_dagster.indexing.passes import GraphOutcome
from mnemo_dagster.indexing.planning import PassPlan
from mnemo_dagster.indexing.report import BatchReport
from mnemo_dagster.wiring import Wiring


def _failure(exc: BaseException) -> str:
    """One line for a user: the message, with the exception type when it is not one of mnemo's own."""
    if isinstance(exc, MnemoError):
        return str(exc)
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


class InProcessRunner:
    """Runs each batch and the graph in this process, one after another."""

    max_workers = 1
    """One process, one model: batches run one at a time whatever ``MNEMO_WORKERS`` says."""

    def __init__(self, wiring: Wiring, log: Callable[[str], None] = lambda message: None) -> None:
        self.wiring = wiring
        self.log = log

    def prepare(self, plan: PassPlan) -> None:
        """Nothing to prepare: there are no partitions without Dagster."""

    def run_batch(self, repository: str, key: str) -> BatchReport:
        started = time.perf_counter()
        settings = self.wiring.settings
        try:
            with Heartbeat(heartbeat_path(settings.home, key), key) as heartbeat:
                report = index_batch(
                    self.wiring.store,
                    self.wiring.embedder,
                    key,
                    max_file_bytes=settings.max_file_bytes,
                    log=self.log,
                    heartbeat=heartbeat,
                )
        # A failed batch is an outcome, exactly as a failed Dagster step is: the pass goes on.
        except Exception as exc:
            return BatchReport.failed(key, _failure(exc), seconds=time.perf_counter() - started)
        return report

    def run_graph(self, repositories: Sequence[str]) -> GraphOutcome:
        try:
            rebuild_nodes(self.wiring.store, repositories, self.log)
            rebuild_metrics(self.wiring.store, repositories, self.log)
        except Exception as exc:  # as above: the summary reports it
            return GraphOutcome(False, errors=(_failure(exc),))
        return GraphOutcome(True)
